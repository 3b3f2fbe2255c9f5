import { createServices, type Asker, type Services } from '../../src/services.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { SeasonalNaiveForecaster } from '../../src/forecast/seasonal-naive.ts';
import type { Database } from '../../src/db/client.ts';

/** Services over a real test database, quiet logs, seasonal-naive forecasts. */
export function testServices(db: Database, env: Record<string, string> = {}): Services {
  return createServices({ config: loadConfig({ STORECAST_DATA_DIR: 'memory://', ...env }), db, logger: createLogger('silent'), forecaster: new SeasonalNaiveForecaster() });
}

export const asker: Asker = { platform: 'cli', roles: [] };
