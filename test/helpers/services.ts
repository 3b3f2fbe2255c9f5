import { createServices, type Asker, type Services } from '../../src/services.ts';
import type { Reply } from '../../src/chat/reply.ts';
import { loadConfig, type LogLevel } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { SeasonalNaiveForecaster } from '../../src/forecast/seasonal-naive.ts';
import type { Database } from '../../src/db/client.ts';
import type { AppOptions } from '../../src/server/app.ts';
import type { Hono } from 'hono';
import { listen } from '../fakes/serve.ts';
import { createTestDatabase, importDemoStores, type DbKind, type TestDatabase } from './db.ts';

/** Configuration a suite adds to testServices' defaults. */
export type TestEnv = Record<string, string | undefined>;

/**
 * Services over a real test database, seasonal-naive forecasts, quiet logs (TEST_LOG_LEVEL=debug
 * shows them). `env` is the configuration a suite adds: platform keys, fake API URLs.
 */
export function testServices(db: Database, env: TestEnv = {}): Services {
  return createServices({
    config: loadConfig({ STORECAST_DATA_DIR: 'memory://', STORECAST_ACCESS: 'open', STORECAST_RATE_LIMIT: '0', LOG_LEVEL: 'silent', ...env }),
    db,
    logger: createLogger((process.env.TEST_LOG_LEVEL ?? 'silent') as LogLevel),
    forecaster: new SeasonalNaiveForecaster(),
  });
}

export const asker: Asker = { platform: 'cli', roles: [] };

/** Runs a command line ("/name args" or "name args") and returns its reply; anything but ok throws with the reason. */
export async function askOk(services: Services, line: string, who: Asker = asker): Promise<Reply> {
  const [name, ...rest] = line.split(' ');
  const outcome = await services.run({ name: name!, text: rest.join(' ') }, who);
  if (outcome.kind !== 'ok') throw new Error(`${line}: ${outcome.kind}: ${outcome.reply.summary}`);
  return outcome.reply;
}

/** A fresh database of `kind` holding the demo data of `stores`, and services over it. */
export async function demoServices(kind: DbKind, stores: readonly number[]): Promise<{ t: TestDatabase; services: Services }> {
  const t = await createTestDatabase(kind);
  try {
    await importDemoStores(t.db, stores);
  } catch (err) {
    // The suite never gets `t` to clean up: a Postgres database would be left behind.
    await t.cleanup();
    throw err;
  }
  return { t, services: testServices(t.db) };
}

/** The composed app over testServices, listening; the suite still owns (and cleans up) the database. */
export interface TestServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  services: Services;
  /** Lets in-flight answers finish before the port closes, so none writes to a database the suite then drops. */
  close(): Promise<void>;
}

/**
 * Serves the composed app (createApp, as the server mounts it) over testServices on 127.0.0.1.
 * `env` may be a function of the server's URL: the port is known only once listening, and
 * PUBLIC_URL (the console's sign-in links) must name it, so the app is built after.
 */
export async function serveTestApp(db: Database, o: { env?: TestEnv | ((url: string) => TestEnv); app?: AppOptions } = {}): Promise<TestServer> {
  // Loaded on first use: the app's graph (Bolt, discord.js) would cost every suite that needs only services ~0.5 s.
  const { createApp } = await import('../../src/server/app.ts');
  let app: Hono | undefined;
  // node-server's bindings pass through: the API reads the client's address from them.
  const server = await listen({ fetch: (req, bindings) => app!.fetch(req, bindings) });
  try {
    const services = testServices(db, typeof o.env === 'function' ? o.env(server.url) : o.env);
    app = createApp(services, undefined, o.app).app;
    return {
      url: server.url,
      services,
      async close() {
        await services.drain();
        await server.close();
      },
    };
  } catch (err) {
    await server.close();
    throw err;
  }
}
