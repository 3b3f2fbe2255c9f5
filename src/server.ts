import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import type { Config } from './config.ts';
import { dataStats } from './data/stats.ts';
import { openDatabase } from './db/client.ts';
import { createForecaster, startBackgroundTraining, type BackgroundTraining } from './forecast/index.ts';
import { createLogger, type Logger } from './logger.ts';
import { createServices, type Services } from './services.ts';
import { createApp, type AppState } from './server/app.ts';
import { loadDemoDataOnce, type DemoLoaderOptions } from './server/demo-loader.ts';
import { ensureAggregates } from './data/rollup.ts';
import { AdapterSupervisor, type SupervisorOptions } from './server/supervisor.ts';
import { localUrl, publishOperatorEndpoint } from './server/operator.ts';
import { startSlackSocketMode } from './adapters/slack/index.ts';
import { startDiscordGateway } from './adapters/discord/index.ts';
import { startScheduler } from './delivery/index.ts';
import { startSessionRecheck } from './server/console-session.ts';
import { createAlertScheduler } from './alerts/scheduler.ts';
import { openSecretKey } from './delivery/secret-key.ts';
import { startRetrainScheduler } from './forecast/retrain.ts';
import { startAreaRefresh } from './analytics/area-answers.ts';
import { adminChannelPoster } from './delivery/admin-channel.ts';

/** Connection-holding adapters, connected in the background by the supervisor. */
function superviseAdapters(services: Services, retry: StartOptions['adapterRetry']): AdapterSupervisor {
  const { config, logger, metrics } = services;
  const supervisor = new AdapterSupervisor({ logger, metrics, ...retry });
  if (config.slack.appToken && config.slack.botToken) {
    supervisor.add('slack', (report) => startSlackSocketMode(services, {}, report));
  }
  if (config.discord.mode === 'gateway') supervisor.add('discord', () => startDiscordGateway(services));
  return supervisor;
}

/**
 * Runs the shutdown steps in order, but no longer than `deadlineMs`: past it, logs the steps
 * still running and resolves with their names, so the process can exit anyway.
 */
async function shutDown(steps: [name: string, run: () => Promise<unknown>][], deadlineMs: number, logger: Logger): Promise<string[]> {
  const pending = new Set(steps.map(([name]) => name));
  const work = (async () => {
    for (const [name, run] of steps) {
      await run().catch((err: unknown) => logger.warn({ err, step: name }, 'shutdown step failed'));
      pending.delete(name);
    }
  })();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'deadline'>((resolve) => (timer = setTimeout(() => resolve('deadline'), deadlineMs)));
  const outcome = await Promise.race([work.then(() => 'done' as const), deadline]);
  clearTimeout(timer);
  if (outcome === 'done') return [];
  const abandoned = [...pending];
  logger.error({ abandoned, deadlineMs }, `shutdown deadline passed; abandoning: ${abandoned.join(', ')}`);
  return abandoned;
}

async function drain(state: AppState, ms: number): Promise<void> {
  state.phase = 'stopping';
  if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
}

export interface RunningServer {
  services: Services;
  server: ServerType;
  port: number;
  /** Resolves once startup work (demo data) is done. */
  ready: Promise<void>;
  /** Graceful stop within the configured deadline; resolves with what it had to abandon. */
  stop(): Promise<string[]>;
}

/**
 * The composition root of `storecast serve`: configuration, database, services, HTTP.
 * /healthz answers at once; demo data loads in the background and /readyz turns 200 after.
 */
/**
 * Listens before anything else: /healthz must answer while a new embedded database initialises
 * (~5 s); everything else answers 503 until `current()` gives the app.
 */
async function listenFirst(config: Config, logger: Logger, current: () => Hono | undefined): Promise<{ server: ServerType; port: number }> {
  const booting = new Hono()
    .get('/healthz', (c) => c.json({ status: 'ok' }))
    .all('*', (c) => c.json({ status: 'starting', message: 'storecast is starting; try again in a few seconds.' }, 503, { 'Retry-After': '5' }));
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: (req, env) => (current() ?? booting).fetch(req, env), port: config.port, hostname: config.host }, () => resolve(s));
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const loopbackOnly = ['127.0.0.1', 'localhost', '::1'].includes(config.host);
  logger.info(
    { address: `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`, host: config.host },
    loopbackOnly ? 'storecast is listening on this machine only (set HOST=0.0.0.0 to accept other machines)' : `storecast is listening on ${config.host}`,
  );
  return { server, port };
}

function logAccessMode(config: Config, logger: Logger): void {
  logger.info(
    { access: config.access.mode, why: config.access.why, admins: config.access.admins.length },
    config.access.mode === 'open'
      ? `access: open (${config.access.why}): everyone who reaches the server sees every store; set STORECAST_ACCESS=restricted to require grants`
      : `access: restricted (${config.access.why}): answers only within each asker's grants`,
  );
}

export interface StartOptions {
  /** Retry waits of a failed demo-data load (tests shorten them). */
  demoRetry?: Pick<DemoLoaderOptions, 'baseDelayMs' | 'maxDelayMs'>;
  /** Retry waits of platform connections (tests shorten them). */
  adapterRetry?: Pick<SupervisorOptions, 'baseDelayMs' | 'maxDelayMs'>;
}

export async function startServer(config: Config, logger: Logger = createLogger(config.logLevel, { format: config.logFormat }), options: StartOptions = {}): Promise<RunningServer> {
  let app: Hono | undefined = undefined;
  const { server, port } = await listenFirst(config, logger, () => app);

  // A refused database (another process holds the data directory) must not leave the port bound.
  const db = await openDatabase(config, { waitForSchema: logger }).catch(async (err: unknown) => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    throw err;
  });
  // Sales from before the maintained aggregates existed: built (once across replicas) before anything reads or adds to them.
  await ensureAggregates(db).catch(async (err: unknown) => {
    await db.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    throw err;
  });
  logger.info({ database: config.database.kind === 'postgres' ? 'postgres' : `pglite:${config.database.dataDir}` }, 'database ready');
  db.health.onChange((up, err) =>
    up ? logger.info('database reachable again: answering') : logger.error({ err: String(err ?? 'no answer within a second') }, 'database unreachable: answering 503 with Retry-After until it is back'),
  );
  logAccessMode(config, logger);
  // Refuse to start, rather than invent a key, when the stored webhook URLs would not decrypt.
  await openSecretKey(config, db, logger).catch(async (err: unknown) => {
    await db.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    throw err;
  });
  const forecaster = createForecaster(db, config, logger, {
    precompute: config.modelOps.precompute,
    // A light replica (it computes no stored forecasts) never loads the sales panel, not even for an origin nothing stored.
    unstoredOrigins: config.modelOps.precompute ? 'compute' : 'stored',
  });
  const services = createServices({ config, db, logger, forecaster });
  // The shell's admin commands reach an embedded database through this server while it runs.
  const operator = config.database.kind === 'pglite' && !config.database.dataDir.startsWith('memory://') ? await publishOperatorEndpoint(db, config.database.dataDir, localUrl(config.host, port)) : undefined;
  if (operator) logger.info('admin commands from this machine\'s shell (`storecast access ...`) go through this server while it holds the data directory');
  const supervisor = superviseAdapters(services, options.adapterRetry);
  const state: AppState = { phase: 'starting', adapters: () => supervisor.snapshot() };
  app = createApp(services, state).app;
  const scheduler = await startScheduler(services);
  // Alert notices and the scheduled evaluation of every rule (src/alerts/), exactly once across replicas.
  const alerts = createAlertScheduler(services);
  alerts.start();
  // Scheduled retraining (STORECAST_RETRAIN): every replica checks, one claims the run.
  const retrains = startRetrainScheduler({ db, config, logger, forecaster, announce: adminChannelPoster(config, services.platforms, services.outbound) });
  // Chain- and region-wide /drivers and /markdown-impact computed once after each import, on the
  // replica that does background work (the same setting as the stored forecasts).
  const areaRefresh = config.modelOps.precompute ? startAreaRefresh({ db, logger }) : undefined;
  // Console sessions re-read their Discord roles and grants every few minutes (STORECAST_CONSOLE_RECHECK_MINUTES).
  const sessions = startSessionRecheck(services);

  let training: BackgroundTraining | undefined;
  const loading = new AbortController();
  const ready = (async () => {
    if (config.demoData === 'auto') await loadDemoDataOnce({ db, logger, forecaster }, state, { ...options.demoRetry, signal: loading.signal });
    else if ((await dataStats(db)).storeWeekRows === 0) logger.info('no sales data yet: import it with `storecast import train.csv stores.csv features.csv` or POST /api/v1/sales');
    if (loading.signal.aborted) return;
    state.phase = 'ready';
    // The model's inputs are built before the first question: seconds at Walmart size.
    void forecaster.warm(db).catch((err: unknown) => logger.warn({ err }, 'could not prepare the forecaster'));
    // The model trains after the data is in; until it is active, forecasts come from seasonal
    // naive and replies say so.
    if (config.trainOnStart) training = startBackgroundTraining(db, config, logger, { forecaster });
  })();
  ready.catch((err: unknown) => logger.error({ err }, 'startup failed'));

  let stopping: Promise<string[]> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      logger.info({ deadlineMs: config.shutdownTimeoutMs }, 'shutting down: no new requests, finishing replies in flight');
      loading.abort();
      training?.stop();
      void retrains.stop();
      const abandoned = await shutDown(
        [
          // Readiness drops first and the port stays open while load balancers route away.
          ['readiness drain', () => drain(state, config.drainMs)],
          ['http server', () => new Promise<void>((resolve) => server.close(() => resolve()))],
          ['replies in flight', () => services.drain()],
          ['platform connections', () => supervisor.stop()],
          ['webhook deliveries', () => scheduler.stop()],
          ['alert notices', () => alerts.stop()],
          ['console session re-check', () => sessions.stop()],
          ['demo data load', () => ready.catch(() => {})],
          ['model training', async () => training?.done],
          ['stored forecasts', () => forecaster.close()],
          ['area answers refresh', async () => areaRefresh?.stop()],
          ['model retraining', () => Promise.all([retrains.stop(), services.stopRetrains()])],
          ['operator endpoint', async () => operator?.close()],
          ['database', () => db.close()],
        ],
        config.shutdownTimeoutMs,
        logger,
      );
      if (!abandoned.length) logger.info('stopped');
      return abandoned;
    })());

  return { services, server, port, ready, stop };
}
