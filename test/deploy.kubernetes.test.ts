import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { envSchema } from '../src/config.ts';
import { SERVER_ROUTES } from '../src/server/routes.ts';

/**
 * deploy/kubernetes: each overlay rendered by `kubectl kustomize` (offline), every object
 * validated against the Kubernetes schemas (kubernetes-models), and cross-checked against the
 * code: the variables exist in src/config.ts, the probe paths and the port in the route table
 * and the image, the command lines in the CLI.
 */

type Obj = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> }; [k: string]: unknown };
// Rendered manifests are plain JSON-like data: typed loosely, checked by the schemas first.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

const root = fileURLToPath(new URL('..', import.meta.url));
const kubectl = process.env.KUBECTL ?? '/usr/bin/kubectl';
const hasKubectl = spawnSync(kubectl, ['version', '--client'], { encoding: 'utf8' }).status === 0;
if (!hasKubectl) console.warn(`deploy.kubernetes: ${kubectl} not found; the manifests are not checked (install kubectl >= 1.27, or set KUBECTL)`);

function render(overlay: string): Obj[] {
  const out = execFileSync(kubectl, ['kustomize', `${root}deploy/kubernetes/overlays/${overlay}`], { encoding: 'utf8' });
  return parseAllDocuments(out).map((d) => d.toJS() as Obj).filter(Boolean);
}

/** The schemas of the API groups the overlays use; an object of another group fails below. */
const GROUPS: Record<string, () => Promise<object>> = {
  v1: () => import('kubernetes-models/v1'),
  'apps/v1': () => import('kubernetes-models/apps/v1'),
  'batch/v1': () => import('kubernetes-models/batch/v1'),
  'policy/v1': () => import('kubernetes-models/policy/v1'),
  'autoscaling/v2': () => import('kubernetes-models/autoscaling/v2'),
  'networking.k8s.io/v1': () => import('kubernetes-models/networking.k8s.io/v1'),
};

/** Validates an object with its kubernetes-models class (apps/v1 Deployment, ...). */
async function validate(obj: Obj): Promise<void> {
  const group = GROUPS[obj.apiVersion];
  if (!group) throw new Error(`no schema loaded for ${obj.apiVersion}`);
  const Model = ((await group()) as Record<string, new (o: unknown) => { validate(): void }>)[obj.kind];
  if (!Model) throw new Error(`no schema for ${obj.apiVersion} ${obj.kind}`);
  new Model(obj).validate();
}

/** `storecast --help`: the subcommands the CLI (src/cli.ts, commander) knows. */
let helpText: string | undefined;
function cliCommands(): Set<string> {
  const help = (helpText ??= execFileSync(process.execPath, [`${root}bin/storecast.js`, '--help'], { encoding: 'utf8', env: { ...process.env, LOG_LEVEL: 'silent' } }));
  const section = help.slice(help.indexOf('Commands:'));
  return new Set([...section.matchAll(/^ {2}([a-z][\w-]*)/gm)].map((m) => m[1]!));
}

const dockerfile = readFileSync(`${root}Dockerfile`, 'utf8');
const imagePort = Number(/^\s*PORT=(\d+)/m.exec(dockerfile)?.[1]);
const imageUser = Number(/^USER (\d+)/m.exec(dockerfile)?.[1]);
/**
 * Read by the runtime, not by storecast: Node's own flags (the serving replicas' heap cap) and
 * glibc's arena count. Any other name in a manifest is a typo or a setting nothing reads.
 */
const RUNTIME_VARIABLES = ['NODE_OPTIONS', 'MALLOC_ARENA_MAX'];
const variables = new Set([...Object.keys(envSchema.shape), ...RUNTIME_VARIABLES]);
const routes = SERVER_ROUTES.filter((r) => r.method === 'GET').map((r) => r.path);

const podSpecOf = (o: Obj): Any => (o.kind === 'Job' || o.kind === 'Deployment' || o.kind === 'StatefulSet' ? (o as Any).spec.template.spec : undefined);
const matches = (selector: Record<string, string>, labels: Record<string, string> = {}) => Object.entries(selector).every(([k, v]) => labels[k] === v);

describe('the schema validation', () => {
  it('refuses an object Kubernetes would refuse', async () => {
    const broken = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' }, spec: { replicas: 'three', selector: {}, template: {} } };
    await expect(validate(broken as unknown as Obj)).rejects.toThrow(/replicas/);
    await expect(validate({ ...broken, kind: 'Deploymnet' } as unknown as Obj)).rejects.toThrow(/no schema/);
  });
});

describe.skipIf(!hasKubectl).each(['single', 'chain'])('deploy/kubernetes/overlays/%s', (overlay) => {
  let objects: Obj[];
  let commands: Set<string>;
  const all = (kind: string) => objects.filter((o) => o.kind === kind) as Any[];
  const one = (kind: string) => {
    const found = all(kind);
    expect(found, kind).toHaveLength(1);
    return found[0];
  };
  const workloads = () => objects.filter((o) => podSpecOf(o)) as Any[];
  const containers = () => workloads().flatMap((w) => (podSpecOf(w).containers as Any[]).map((c) => ({ w, c })));
  /** The pods that answer users (the Service's): component `server`. */
  const component = (name: string) => workloads().filter((w) => w.kind !== 'Job' && w.spec.template.metadata.labels['app.kubernetes.io/component'] === name);
  const servers = () => component('server');
  /** The settings every pod reads (a worker adds its own over them). */
  const config = () => all('ConfigMap').find((c) => c.metadata.name === 'storecast-config');

  beforeAll(() => {
    objects = render(overlay);
    commands = cliCommands();
  });

  it('renders objects that validate against the Kubernetes schemas', async () => {
    expect(objects.length).toBeGreaterThan(5);
    for (const o of objects) await expect(validate(o), `${o.kind}/${o.metadata.name}`).resolves.toBeUndefined();
  });

  it('holds no secret: the Secret is referenced by name only', () => {
    expect(all('Secret')).toEqual([]);
    const refs = containers().flatMap(({ c }) => ((c.env ?? []) as Any[]).map((e) => e.valueFrom?.secretKeyRef?.name).filter(Boolean));
    expect(new Set(refs)).toEqual(new Set(['storecast-secrets']));
    for (const { c } of containers()) for (const e of (c.env ?? []) as Any[]) expect(e.value, `${e.name} has a literal value`).toBeUndefined();
  });

  it('sets only variables that src/config.ts reads', () => {
    const names = [
      ...containers().flatMap(({ c }) => ((c.env ?? []) as Any[]).map((e) => e.name as string)),
      ...all('ConfigMap').flatMap((cm) => Object.keys(cm.data ?? {})),
    ];
    expect(names.filter((n) => !variables.has(n))).toEqual([]);
    // Each value parses as src/config.ts would parse it, alone and with the worker's over it.
    for (const map of all('ConfigMap')) {
      const data = { ...config().data, ...map.data };
      expect(envSchema.safeParse(data).success, JSON.stringify(envSchema.safeParse(data).error?.issues)).toBe(true);
    }
    for (const { c } of containers()) expect((c.envFrom as Any[]).map((e) => e.configMapRef?.name)).toContain(config().metadata.name);
  });

  it('runs command lines the CLI has, on the port the server and the image listen on', () => {
    const port = Number(config().data.PORT);
    expect(port).toBe(imagePort);
    for (const { w, c } of containers()) {
      expect(commands, `${w.kind} runs storecast ${c.args[0]}`).toContain(c.args[0]);
      for (const p of (c.ports ?? []) as Any[]) expect(p.containerPort).toBe(port);
    }
    expect(containers().map(({ c }) => c.args[0])).toContain('serve');
  });

  it('probes routes of the route table: startup and liveness /healthz, readiness /readyz', () => {
    const server = servers().map((w) => ({ w, c: podSpecOf(w).containers[0] }));
    expect(server).toHaveLength(1);
    expect(server[0]!.c.args[0]).toBe('serve');
    const { c } = server[0]!;
    const portNames = new Set((c.ports as Any[]).map((p) => p.name));
    for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
      expect(routes, probe).toContain(c[probe].httpGet.path);
      expect(portNames, probe).toContain(c[probe].httpGet.port);
    }
    expect(c.readinessProbe.httpGet.path).toBe('/readyz');
    expect(c.livenessProbe.httpGet.path).toBe('/healthz');
    // The preStop pause and the server's own deadline fit in the grace period.
    const grace = podSpecOf(server[0]!.w).terminationGracePeriodSeconds as number;
    expect(Number(config().data.STORECAST_SHUTDOWN_TIMEOUT) + 5).toBeLessThan(grace);
  });

  it('runs as the image user, non-root, read-only, without privilege or capabilities, with a writable /tmp and sized memory', () => {
    for (const w of workloads()) {
      const spec = podSpecOf(w);
      expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: imageUser });
      expect(spec.automountServiceAccountToken).toBe(false);
      for (const c of spec.containers as Any[]) {
        expect(c.securityContext, c.name).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
        expect((c.volumeMounts as Any[]).map((m) => m.mountPath)).toContain('/tmp');
        expect(c.resources.requests.memory, c.name).toBeDefined();
        expect(c.resources.limits.memory, c.name).toBeDefined();
      }
    }
  });

  it('routes the Service, the Ingress and the NetworkPolicy to the server pods', () => {
    const server = servers()[0]!;
    const podLabels = server.spec.template.metadata.labels;
    expect(server.spec.selector.matchLabels).toEqual(expect.objectContaining({ 'app.kubernetes.io/component': 'server' }));
    expect(matches(server.spec.selector.matchLabels, podLabels)).toBe(true);
    const service = one('Service');
    expect(matches(service.spec.selector, podLabels)).toBe(true);
    expect(service.spec.ports.map((p: Any) => p.targetPort)).toEqual(['http']);

    const paths = (one('Ingress').spec.rules as Any[]).flatMap((r) => r.http.paths as Any[]);
    expect(paths.map((p) => p.path).sort()).toEqual(['/api/v1', '/discord/interactions', '/slack/events']);
    for (const p of paths) expect(p.backend.service).toEqual({ name: service.metadata.name, port: { name: 'http' } });
    const posts = SERVER_ROUTES.filter((r) => r.method === 'POST').map((r) => r.path);
    expect(posts).toEqual(expect.arrayContaining(['/slack/events', '/discord/interactions']));

    const policy = one('NetworkPolicy');
    expect(matches(policy.spec.podSelector.matchLabels, podLabels)).toBe(true);
    expect(policy.spec.ingress).toEqual([{ ports: [{ port: 'http', protocol: 'TCP' }] }]);
    const egress = (policy.spec.egress as Any[]).flatMap((e) => (e.ports as Any[]).map((p) => `${p.port}/${p.protocol}`));
    expect(egress).toEqual(expect.arrayContaining(['53/UDP', '53/TCP', '443/TCP']));
    expect(egress.includes('5432/TCP')).toBe(overlay === 'chain');
  });

  if (overlay === 'single') {
    it('is one replica on the embedded database, its data directory on a persistent volume', () => {
      const set = one('StatefulSet');
      expect(set.spec.replicas).toBe(1);
      expect(all('Deployment')).toEqual([]);
      expect(all('HorizontalPodAutoscaler')).toEqual([]);
      const settings = config().data;
      expect(settings.DATABASE_URL).toBeUndefined();
      const claim = set.spec.volumeClaimTemplates[0].metadata.name;
      const mount = (set.spec.template.spec.containers[0].volumeMounts as Any[]).find((m) => m.name === claim);
      expect(settings.STORECAST_DATA_DIR.startsWith(`${mount.mountPath}/`)).toBe(true);
      expect(set.spec.template.spec.securityContext.fsGroup).toBe(imageUser);
    });
  } else {
    it('rolls out N replicas on Postgres without dropping below N, migrated by the Job, not by the replicas', () => {
      const deployment = servers()[0]!;
      expect(deployment.kind).toBe('Deployment');
      expect(deployment.spec.replicas).toBeGreaterThan(1);
      expect(deployment.spec.strategy).toMatchObject({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0 } });
      expect(deployment.spec.strategy.rollingUpdate.maxSurge).not.toBe(0);
      const env = (deployment.spec.template.spec.containers[0].env as Any[]).map((e) => e.name);
      expect(env).toContain('DATABASE_URL');
      expect(config().data.STORECAST_MIGRATE).toBe('false');

      const job = one('Job');
      expect(job.spec.template.spec.containers[0].args).toEqual(['migrate']);
      expect(job.spec.template.spec.restartPolicy).toBe('Never');
      expect((job.spec.template.spec.containers[0].env as Any[]).map((e) => e.name)).toContain('DATABASE_URL');
      expect(matches(one('Service').spec.selector, job.spec.template.metadata.labels)).toBe(false);

      const podLabels = deployment.spec.template.metadata.labels;
      expect(matches(one('PodDisruptionBudget').spec.selector.matchLabels, podLabels)).toBe(true);
      const hpa = one('HorizontalPodAutoscaler');
      expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name });
      expect(hpa.spec.minReplicas).toBeGreaterThan(1);
      // Replicas x pool must fit Postgres' default max_connections (100) with room for jobs.
      expect((hpa.spec.maxReplicas + 1) * Number(config().data.DATABASE_POOL_SIZE)).toBeLessThanOrEqual(80);
      expect(deployment.spec.template.spec.containers[0].resources.requests.cpu).toBeDefined();
    });

    it('keeps the sales panel off the serving replicas: one worker trains and stores the forecasts they read', () => {
      const served = config().data;
      expect(served).toMatchObject({ STORECAST_FORECAST_PRECOMPUTE: 'off', STORECAST_RETRAIN: 'off', STORECAST_TRAIN_ON_START: 'false' });
      const [worker, ...more] = component('worker');
      expect(more).toEqual([]);
      expect(worker.spec.replicas).toBe(1);
      expect(worker.spec.strategy.type).toBe('Recreate');
      const maps = (worker.spec.template.spec.containers[0].envFrom as Any[]).map((e) => e.configMapRef.name);
      // Later envFrom sources win: the worker's settings are listed after the shared ones.
      expect(maps.at(-1)).not.toBe(config().metadata.name);
      const own = all('ConfigMap').find((c) => c.metadata.name === maps.at(-1)).data;
      expect({ ...served, ...own }).toMatchObject({ STORECAST_FORECAST_PRECOMPUTE: 'on', STORECAST_TRAIN_ON_START: 'true' });
      expect(own.STORECAST_RETRAIN).not.toBe('off');
      // Users never reach it, and node drains or the HPA never count it as a replica.
      expect(matches(one('Service').spec.selector, worker.spec.template.metadata.labels)).toBe(false);
      expect(matches(one('PodDisruptionBudget').spec.selector.matchLabels, worker.spec.template.metadata.labels)).toBe(false);
      const gib = (q: string) => Number(/^(\d+)/.exec(q)![1]) / (q.endsWith('Gi') ? 1 : 1024);
      const memory = (w: Any, k: 'requests' | 'limits') => gib(w.spec.template.spec.containers[0].resources[k].memory);
      expect(memory(servers()[0], 'requests')).toBeLessThan(1);
      expect(memory(worker, 'requests')).toBeGreaterThanOrEqual(2);
      // The serving replicas' old generation is capped well inside their limit (V8 collects
      // instead of keeping a burst's heap); the worker, whose panel takes gigabytes, is not.
      const oldSpace = (o: string | undefined) => Number(/--max-old-space-size=(\d+)/.exec(o ?? '')?.[1] ?? Infinity);
      expect(oldSpace(served.NODE_OPTIONS)).toBeLessThan(memory(servers()[0], 'limits') * 1024);
      expect(oldSpace({ ...served, ...own }.NODE_OPTIONS)).toBe(Infinity);
    });
  }
});
