import { afterEach, describe, expect, it } from 'vitest';
import { captureLogs } from './helpers/logs.ts';
import { loadConfig } from '../src/config.ts';
import { startServer, type RunningServer } from '../src/server.ts';
import { AdapterSupervisor } from '../src/server/supervisor.ts';
import { createTestDatabase, type TestDatabase } from './helpers/db.ts';

const until = async (check: () => Promise<boolean> | boolean, timeoutMs = 60_000) => {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
};

const baseEnv = { PORT: '0', HOST: '127.0.0.1', STORECAST_TRAIN_ON_START: 'false', LOG_LEVEL: 'silent' };

describe('server start-up and shutdown', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  async function fresh(): Promise<TestDatabase> {
    const t = await createTestDatabase('postgres');
    cleanups.push(() => t.cleanup());
    return t;
  }
  async function start(env: Record<string, string>, logger = captureLogs().logger, options = {}): Promise<RunningServer> {
    const running = await startServer(loadConfig({ ...baseEnv, ...env }), logger, options);
    cleanups.push(() => running.stop());
    return running;
  }
  const get = (r: RunningServer, path: string) => fetch(`http://127.0.0.1:${r.port}${path}`);

  it('loads no demo data into a Postgres given by DATABASE_URL, and says how to import', async () => {
    const t = await fresh();
    const logs = captureLogs();
    const running = await start({ DATABASE_URL: t.url! }, logs.logger);
    await running.ready;
    expect((await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM weekly_sales'))[0]!.n).toBe(0);
    expect(await (await get(running, '/readyz')).json()).toMatchObject({ status: 'no-data' });
    expect(logs.messages().some((m) => m.includes('storecast import'))).toBe(true);
  });

  it('two replicas starting together on one empty Postgres load the demo data exactly once', async () => {
    const t = await fresh();
    const env = { DATABASE_URL: t.url!, STORECAST_DEMO: 'auto' };
    const [a, b] = await Promise.all([start(env), start(env)]);
    await Promise.all([a.ready, b.ready]);
    const runs = await t.db.query<{ source: string; n: number }>("SELECT source, count(*)::int AS n FROM import_runs WHERE status = 'succeeded' GROUP BY source");
    expect(runs.length).toBeGreaterThan(0);
    for (const run of runs) expect(run, run.source).toMatchObject({ n: 1 });
    for (const r of [a, b]) expect((await get(r, '/readyz')).status).toBe(200);
  }, 180_000);

  it('reports a failed demo load on /readyz and retries it', async () => {
    const t = await fresh();
    // The load fails while this constraint refuses every store row; dropping it lets the retry pass.
    await t.db.exec('ALTER TABLE stores ADD CONSTRAINT refuse_all CHECK (store_id < 0)');
    const running = await start({ DATABASE_URL: t.url!, STORECAST_DEMO: 'auto' }, undefined, { demoRetry: { baseDelayMs: 200, maxDelayMs: 400 } });
    await until(async () => (await (await get(running, '/readyz')).json() as { status: string }).status === 'load-failed');
    const failed = (await (await get(running, '/readyz')).json()) as { error: { message: string; retryAt: string; attempts: number } };
    expect(failed.error.message).toMatch(/refuse_all|constraint/);
    expect(Date.parse(failed.error.retryAt)).not.toBeNaN();
    await t.db.exec('ALTER TABLE stores DROP CONSTRAINT refuse_all');
    await running.ready;
    expect((await get(running, '/readyz')).status).toBe(200);
  }, 180_000);

  it('stops within STORECAST_SHUTDOWN_TIMEOUT, naming what it abandoned', async () => {
    const t = await fresh();
    const logs = captureLogs();
    const running = await start({ DATABASE_URL: t.url!, STORECAST_SHUTDOWN_TIMEOUT: '1' }, logs.logger);
    await running.ready;
    void running.services.track(new Promise(() => {})); // a reply that never finishes
    const started = Date.now();
    const abandoned = await running.stop();
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(abandoned).toContain('replies in flight');
    expect(logs.lines.find((l) => String(l.msg).startsWith('shutdown deadline passed'))).toMatchObject({ abandoned: expect.arrayContaining(['replies in flight', 'database']) });
  });

  it('is ready while Slack Socket Mode cannot connect, and shows the adapter retrying', async () => {
    const t = await fresh();
    const logs = captureLogs();
    const running = await start(
      { DATABASE_URL: t.url!, SLACK_APP_TOKEN: 'xapp-1-test', SLACK_BOT_TOKEN: 'xoxb-test', SLACK_API_URL: 'http://127.0.0.1:9/api/' },
      logs.logger,
      { adapterRetry: { baseDelayMs: 100, maxDelayMs: 200 } },
    );
    await running.ready;
    expect(await (await get(running, '/readyz')).json()).toMatchObject({ status: 'no-data' }); // the database decides, not Slack
    await until(() => logs.lines.filter((l) => l.msg === 'slack: cannot connect; retrying').length >= 2);
    const health = (await (await get(running, '/healthz')).json()) as { status: string; adapters: Record<string, { state: string; attempts: number; lastError: string }> };
    expect(health.status).toBe('ok');
    expect(health.adapters.slack).toMatchObject({ state: 'retrying' });
    expect(health.adapters.slack!.attempts).toBeGreaterThanOrEqual(2);
    const retries = logs.lines.filter((l) => l.msg === 'slack: cannot connect; retrying');
    for (const r of retries) expect(r.retryInMs as number).toBeLessThanOrEqual(200);
    const metrics = await running.services.metrics.adapterUp.get();
    expect(metrics.values).toEqual([expect.objectContaining({ labels: { adapter: 'slack' }, value: 0 })]);
  }, 120_000);
});

describe('AdapterSupervisor', () => {
  it('retries a failing connection with bounded backoff until it connects, then reports later states', async () => {
    const { logger, lines } = captureLogs();
    const supervisor = new AdapterSupervisor({ logger, baseDelayMs: 10, maxDelayMs: 40 });
    let attempts = 0;
    let report: ((s: 'connected' | 'retrying') => void) | undefined;
    let stopped = false;
    supervisor.add('chat', async (r) => {
      attempts++;
      if (attempts < 4) throw new Error(`refused ${attempts}`);
      report = r;
      return { stop: async () => void (stopped = true) };
    });
    await until(() => supervisor.snapshot().chat?.state === 'connected', 5_000);
    expect(attempts).toBe(4);
    expect(lines.filter((l) => l.msg === 'chat: cannot connect; retrying').map((l) => l.retryInMs as number).every((ms) => ms <= 40)).toBe(true);
    report!('retrying');
    expect(supervisor.snapshot().chat?.state).toBe('retrying');
    await supervisor.stop();
    expect(stopped).toBe(true);
    expect(supervisor.snapshot().chat?.state).toBe('stopped');
  });
});
