import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { registeredFonts } from '../charts/index.ts';
import { CLI_DEFAULTS } from '../src/cli/context.ts';
import { ConfigError, loadConfig } from '../src/config.ts';
import type { Database } from '../src/db/client.ts';
import { SeasonalNaiveForecaster } from '../src/forecast/seasonal-naive.ts';
import { createLogger } from '../src/logger.ts';
import { createServices } from '../src/services.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('configuration', () => {
  it('is read from the environment in src/config.ts only (everything else is given a Config)', () => {
    const readers = ['src', 'charts', 'commands'].flatMap((dir) =>
      readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('.ts'))
        .map((f) => join(dir, f))
        .filter((f) => readFileSync(join(root, f), 'utf8').includes('process.env')),
    );
    expect(readers).toEqual([join('src', 'config.ts')]);
  });

  it('LOG_LEVEL: info for the server, warn for CLI commands, whatever is set for both', () => {
    expect(loadConfig({}).logLevel).toBe('info');
    expect(loadConfig({}, CLI_DEFAULTS).logLevel).toBe('warn');
    expect(loadConfig({ LOG_LEVEL: 'debug' }, CLI_DEFAULTS).logLevel).toBe('debug');
    expect(problems({ LOG_LEVEL: 'verbose' })).toEqual([expect.stringMatching(/^LOG_LEVEL="verbose": /)]);
  });

  it('LOG_FORMAT: auto unless json or pretty; anything else refused by name', () => {
    expect(loadConfig({}).logFormat).toBe('auto');
    expect(loadConfig({ LOG_FORMAT: 'json' }).logFormat).toBe('json');
    expect(loadConfig({ LOG_FORMAT: 'pretty' }).logFormat).toBe('pretty');
    expect(problems({ LOG_FORMAT: 'yaml' })).toEqual([expect.stringMatching(/^LOG_FORMAT="yaml": .*"auto".*"json".*"pretty"/)]);
  });

  it('STORECAST_FONT_DIR and WEBHOOK_URL: trimmed, blank is unset', () => {
    expect(loadConfig({ STORECAST_FONT_DIR: ' /opt/fonts ', WEBHOOK_URL: 'https://hooks.example.com/x' })).toMatchObject({ fontDir: '/opt/fonts', webhookUrl: 'https://hooks.example.com/x' });
    expect(loadConfig({ STORECAST_FONT_DIR: '', WEBHOOK_URL: ' ' })).toMatchObject({ fontDir: undefined, webhookUrl: undefined });
  });

  const systemFont = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';
  it.runIf(existsSync(systemFont))('STORECAST_FONT_DIR reaches the renderer: createServices registers its fonts before the system ones', () => {
    const dir = mkdtempSync(join(tmpdir(), 'storecast-fonts-'));
    copyFileSync(systemFont, join(dir, 'DejaVuSans.ttf'));
    const config = loadConfig({ STORECAST_DATA_DIR: 'memory://', STORECAST_FONT_DIR: dir });
    // No query runs while services are wired, so no database is needed.
    createServices({ config, db: {} as Database, logger: createLogger('silent'), forecaster: new SeasonalNaiveForecaster() });
    expect(registeredFonts[0]).toBe(join(dir, 'DejaVuSans.ttf'));
    expect(registeredFonts.some((f) => f.endsWith('DejaVuSans-Bold.ttf') && !f.startsWith(dir))).toBe(true);
  });
});
