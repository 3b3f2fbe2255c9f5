import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import type { Config } from './config.ts';
import { loadDemoData } from './data/demo.ts';
import { dataStats } from './data/stats.ts';
import { openDatabase } from './db/client.ts';
import { createForecaster, startBackgroundTraining, type BackgroundTraining } from './forecast/index.ts';
import { createLogger, type Logger } from './logger.ts';
import { createServices, type Services } from './services.ts';
import { createApp, type AppState } from './server/app.ts';
import { startSlackSocketMode } from './adapters/slack/index.ts';
import { startDiscordGateway } from './adapters/discord/index.ts';
import { startScheduler } from './webhooks/index.ts';

/** Long-running work beside HTTP: Socket Mode, the Discord gateway, the webhook scheduler. */
async function startBackgroundWork(services: Services): Promise<{ stop(): Promise<void> }[]> {
  const { config, logger } = services;
  const started: { stop(): Promise<void> }[] = [];
  if (config.slack.appToken && config.slack.botToken) {
    started.push(await startSlackSocketMode(services));
    logger.info('Slack: Socket Mode connected');
  }
  if (config.discord.mode === 'gateway') {
    started.push(await startDiscordGateway(services));
    logger.info('Discord: gateway connected');
  }
  started.push(await startScheduler(services));
  return started;
}

export interface RunningServer {
  services: Services;
  server: ServerType;
  port: number;
  /** Resolves once startup work (demo data) is done. */
  ready: Promise<void>;
  stop(): Promise<void>;
}

/**
 * The composition root of `storecast serve`: configuration, database, services, HTTP.
 * /healthz answers at once; demo data loads in the background and /readyz turns 200 after.
 */
export async function startServer(config: Config, logger: Logger = createLogger(config.logLevel)): Promise<RunningServer> {
  // Listen first: /healthz must answer while a new embedded database initialises (~5 s).
  let app: Hono | undefined = undefined;
  const booting = new Hono()
    .get('/healthz', (c) => c.json({ status: 'ok' }))
    .all('*', (c) => c.json({ status: 'starting', message: 'storecast is starting; try again in a few seconds.' }, 503, { 'Retry-After': '5' }));
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: (req, env) => (app ?? booting).fetch(req, env), port: config.port, hostname: config.host }, () => resolve(s));
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const loopbackOnly = ['127.0.0.1', 'localhost', '::1'].includes(config.host);
  logger.info(
    { address: `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`, host: config.host },
    loopbackOnly ? 'storecast is listening on this machine only (set HOST=0.0.0.0 to accept other machines)' : `storecast is listening on ${config.host}`,
  );

  // A refused database (another process holds the data directory) must not leave the port bound.
  const db = await openDatabase(config).catch(async (err: unknown) => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    throw err;
  });
  logger.info({ database: config.database.kind === 'postgres' ? 'postgres' : `pglite:${config.database.dataDir}` }, 'database ready');
  const forecaster = createForecaster(db, config, logger);
  const services = createServices({ config, db, logger, forecaster });
  const state: AppState = { phase: 'starting' };
  app = createApp(services, state).app;
  const background = await startBackgroundWork(services);

  let training: BackgroundTraining | undefined;
  const ready = (async () => {
    const stats = await dataStats(db);
    if (stats.storeWeekRows === 0 && config.demoData === 'auto') {
      state.phase = 'loading-data';
      logger.info('database is empty: loading demo data (import real data with `storecast import train.csv ...`)');
      const started = performance.now();
      const reports = await loadDemoData(db);
      logger.info({ rows: reports.reduce((a, r) => a + r.accepted, 0), ms: Math.round(performance.now() - started) }, 'demo data loaded');
    }
    state.phase = 'ready';
    // The model trains after the data is in; until it is active, forecasts come from seasonal
    // naive and replies say so.
    if (config.trainOnStart) training = startBackgroundTraining(db, config, logger, { forecaster });
  })().catch((err: unknown) => {
    logger.error({ err }, 'startup data load failed');
    throw err;
  });
  ready.catch(() => {});

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      logger.info('shutting down: no new requests, finishing replies in flight');
      await new Promise<void>((resolve) => server.close(() => resolve()));
      training?.stop();
      await services.drain();
      await Promise.allSettled(background.map((b) => b.stop()));
      await ready.catch(() => {});
      await training?.done;
      await db.close();
      logger.info('stopped');
    })());

  return { services, server, port, ready, stop };
}
