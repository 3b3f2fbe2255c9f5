import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { startServer, type RunningServer } from '../src/server.ts';
import { FAKE_APP_ID, discordHeaders, discordKeys } from './fakes/discord-api.ts';

/**
 * Issue #9, item 11: a captured signed interaction must not be replayable. Through real HTTP
 * on the server `storecast serve` composes (not the Discord sub-app alone).
 */
const keys = discordKeys();
let running: RunningServer;
let url: string;

const ping = JSON.stringify({ id: '1', application_id: FAKE_APP_ID, type: 1, token: 't', version: 1 });
const nowSeconds = () => Math.floor(Date.now() / 1000);

async function post(body: string, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  const res = await fetch(`${url}/discord/interactions`, { method: 'POST', headers, body });
  return { status: res.status, text: await res.text() };
}

beforeAll(async () => {
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    STORECAST_DATA_DIR: 'memory://',
    STORECAST_DEMO: 'never',
    STORECAST_TRAIN_ON_START: 'false',
    DISCORD_PUBLIC_KEY: keys.publicKeyHex,
    DISCORD_APP_ID: FAKE_APP_ID,
  });
  running = await startServer(config, createLogger('silent'));
  await running.ready;
  url = `http://127.0.0.1:${running.port}`;
}, 60_000);

afterAll(async () => {
  vi.useRealTimers();
  await running?.stop();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('Discord interaction timestamps (replays)', () => {
  it('accepts a signature made within 5 minutes, on either side of now', async () => {
    for (const skew of [0, -240, 240]) {
      const res = await post(ping, discordHeaders(keys.privateKey, ping, String(nowSeconds() + skew)));
      expect(res.status, `skew ${skew} s`).toBe(200);
      expect(JSON.parse(res.text)).toEqual({ type: 1 });
    }
  });

  it('refuses a validly signed request stamped more than 5 minutes away with 401', async () => {
    for (const skew of [-360, 360, -86_400, -nowSeconds()]) {
      const res = await post(ping, discordHeaders(keys.privateKey, ping, String(nowSeconds() + skew)));
      expect(res.status, `skew ${skew} s`).toBe(401);
    }
  });

  it('refuses a non-numeric timestamp even when signed', async () => {
    for (const stamp of [`${nowSeconds()}.0`, ` ${nowSeconds()}`, new Date().toISOString()]) {
      const res = await post(ping, discordHeaders(keys.privateKey, ping, stamp));
      expect(res.status, stamp).toBe(401);
    }
  });

  it('a captured request replayed 6 minutes later is refused', async () => {
    const captured = discordHeaders(keys.privateKey, ping);
    expect((await post(ping, captured)).status).toBe(200);
    // Only Date moves: the server runs in this process, so its clock moves with it.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 6 * 60_000);
    expect((await post(ping, captured)).status).toBe(401);
  });
});
