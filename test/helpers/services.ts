import { createServices, type Asker, type Services } from '../../src/services.ts';
import type { Reply } from '../../src/chat/reply.ts';
import { loadConfig, type LogLevel } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { SeasonalNaiveForecaster } from '../../src/forecast/seasonal-naive.ts';
import type { Database } from '../../src/db/client.ts';

/**
 * Services over a real test database, seasonal-naive forecasts, quiet logs (TEST_LOG_LEVEL=debug
 * shows them). `env` is the configuration a suite adds: platform keys, fake API URLs.
 */
export function testServices(db: Database, env: Record<string, string | undefined> = {}): Services {
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
