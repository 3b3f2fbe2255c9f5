import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../src/auth/tokens.ts';
import { createApp } from '../src/server/app.ts';
import { createTestDatabase, importDemoStores, type TestDatabase } from './helpers/db.ts';
import { until } from './helpers/faults.ts';
import { testServices } from './helpers/services.ts';

const run = promisify(execFile);
const deploy = (p: string) => fileURLToPath(new URL(`../deploy/${p}`, import.meta.url));
const rules = deploy('prometheus/rules.yml');
const dashboard = deploy('grafana/storecast.json');

/** Metric names in PromQL text: ours, and the process/Node.js ones prom-client exports (not Prometheus' own ALERTS, up). */
function metricNames(text: string): Set<string> {
  return new Set(text.match(/\b(?:storecast|process|nodejs)_[a-z0-9_]+/g) ?? []);
}

function dashboardExprs(): string {
  const json = JSON.parse(readFileSync(dashboard, 'utf8')) as { panels: { targets?: { expr: string }[] }[] };
  return json.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)).join('\n');
}

describe('Prometheus rules (promtool)', () => {
  it('pass promtool check rules', async () => {
    const { stdout } = await run('promtool', ['check', 'rules', rules]);
    expect(stdout).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('pass their unit tests (promtool test rules): each alert fires on its fault and stays quiet otherwise', async () => {
    const { stdout } = await run('promtool', ['test', 'rules', deploy('prometheus/rules.test.yml')]);
    expect(stdout).toContain('SUCCESS');
  });

  it('each alert has a runbook section in docs/monitoring.md', () => {
    const doc = readFileSync(fileURLToPath(new URL('../docs/monitoring.md', import.meta.url)), 'utf8');
    const alerts = [...readFileSync(rules, 'utf8').matchAll(/- alert: (\w+)/g)].map((m) => m[1]!);
    expect(alerts.length).toBeGreaterThan(10);
    for (const a of alerts) expect(doc, a).toContain(`### ${a}`);
  });
});

describe('every metric the rules and the dashboard name is exported by a running server', () => {
  let t: TestDatabase;
  let exported: string;

  beforeAll(async () => {
    // Postgres: the pool gauges exist only where there is a pool.
    t = await createTestDatabase('postgres');
    await importDemoStores(t.db, [1]);
    const { app } = createApp(testServices(t.db));
    const { token } = await createToken(t.db, { name: 'prometheus', scopes: ['metrics'] });
    await until('the first health probe', () => t.db.health.pool, 10_000);
    await app.request('/healthz');
    const res = await app.request('/metrics', { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    exported = await res.text();
  }, 60_000);
  afterAll(async () => t?.cleanup());

  /** Names /metrics declares (# TYPE), with a histogram's _bucket, _sum and _count series. */
  const declared = () => {
    const names = new Set<string>();
    for (const [, name, type] of exported.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      names.add(name!);
      if (type === 'histogram' || type === 'summary') for (const s of ['_bucket', '_sum', '_count']) names.add(`${name}${s}`);
    }
    return names;
  };

  it.each([
    ['rules', () => readFileSync(rules, 'utf8').replace(/^\s*#.*$/gm, '')],
    ['dashboard', dashboardExprs],
  ])('the %s', (_what, text) => {
    const names = [...metricNames(text())];
    expect(names.length).toBeGreaterThan(8);
    const missing = names.filter((n) => !declared().has(n));
    expect(missing).toEqual([]);
  });

  it('reports the database up, its pool, readiness and the stored figures with values', () => {
    expect(exported).toMatch(/^storecast_database_up 1$/m);
    expect(exported).toMatch(/^storecast_db_pool_max 10$/m);
    expect(exported).toMatch(/^storecast_db_pool_connections\{state="open"\} \d+$/m);
    expect(exported).toMatch(/^storecast_ready 1$/m);
    expect(exported).toMatch(/^storecast_deliveries_backlog\{queue="webhook"\} 0$/m);
    expect(exported).toMatch(/^storecast_deliveries_oldest_due_seconds\{queue="alert"\} 0$/m);
    expect(exported).toMatch(/^storecast_training_last_failure_timestamp_seconds 0$/m);
    // Route labels are paths: the acknowledgement rule matches /slack/events and /discord/interactions by them.
    expect(exported).toMatch(/^storecast_http_request_duration_seconds_bucket\{le="0.005",route="\/healthz",method="GET"\} \d+$/m);
  });
});
