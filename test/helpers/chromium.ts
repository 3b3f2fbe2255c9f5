import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import type { Database } from '../../src/db/client.ts';
import { serveTestApp, type TestServer } from './services.ts';

// CI installs Debian's chromium (.ci/run); a missing browser is a failure, not a skip.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Headless Debian Chromium with no background networking (this machine's network is closed). */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** The web console served over `db` and a browser to drive it; close shuts the browser first, so no page is still asking the server as it closes. */
export interface ConsoleServer extends TestServer {
  browser: Browser;
}

/**
 * The composed app on a free port and a headless Chromium. `restricted`: the console asks to
 * sign in, and PUBLIC_URL names this server so a /console link leads back to it.
 */
export async function serveConsole(db: Database, o: { restricted?: boolean } = {}): Promise<ConsoleServer> {
  const served = await serveTestApp(db, { env: (url) => (o.restricted ? { STORECAST_ACCESS: 'restricted', PUBLIC_URL: url } : {}) });
  try {
    const browser = await launchChromium();
    return {
      ...served,
      browser,
      async close() {
        await browser.close();
        await served.close();
      },
    };
  } catch (err) {
    await served.close();
    throw err;
  }
}
