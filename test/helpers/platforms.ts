import { RUN_ACTION } from '../../src/adapters/slack/blocks.ts';
import { slackSignature } from '../../src/adapters/slack/verify.ts';
import type { Database } from '../../src/db/client.ts';
import type { AppOptions } from '../../src/server/app.ts';
import { FAKE_APP_ID, FAKE_BOT_TOKEN, FakeDiscord } from '../fakes/discord-api.ts';
import type { FakeHttpServer } from '../fakes/http.ts';
import { FakeSlack } from '../fakes/slack-api.ts';
import { serveTestApp, type TestEnv, type TestServer } from './services.ts';

/** The configuration of a server talking to the fake Discord (interactions signed with `publicKey`). */
export function discordEnv(discord: FakeDiscord, publicKey: string): Record<string, string> {
  return { DISCORD_PUBLIC_KEY: publicKey, DISCORD_APP_ID: FAKE_APP_ID, DISCORD_BOT_TOKEN: FAKE_BOT_TOKEN, DISCORD_API_URL: discord.apiUrl };
}

/** The configuration of a server talking to both fake platforms (Slack over HTTP events, Discord interactions). */
export function platformEnv(slack: FakeSlack, discord: FakeDiscord, o: { slackSecret: string; discordPublicKey: string }): Record<string, string> {
  return {
    SLACK_SIGNING_SECRET: o.slackSecret,
    SLACK_BOT_TOKEN: 'xoxb-test-token',
    SLACK_API_URL: slack.apiUrl,
    ...discordEnv(discord, o.discordPublicKey),
  };
}

/** The composed app serving against fake platform APIs; close stops the app before the fakes it calls. */
export type PlatformServer<F> = TestServer & F & {
  /** Forgets the fakes' recorded calls and injected failures: each test sees its own. */
  reset(): void;
};

/** The app serving against both fake platforms (servePlatforms). */
export type SlackDiscordServer = PlatformServer<{ slack: FakeSlack; discord: FakeDiscord }>;
/** The app serving against the fake Discord alone (serveDiscord). */
export type DiscordServer = PlatformServer<{ discord: FakeDiscord }>;

interface Serving {
  /** Configuration beside the platforms' own (STORECAST_ACCESS). */
  env?: TestEnv;
  /** The adapters' options (a short retry). */
  app?: AppOptions;
}

/** Both fake platforms listening, and the composed app over `db` configured for them (platformEnv). */
export function servePlatforms(db: Database, o: Serving & { slackSecret: string; discordPublicKey: string }): Promise<SlackDiscordServer> {
  const slack = new FakeSlack();
  const discord = new FakeDiscord();
  return serveWithFakes({ slack, discord }, db, () => ({ ...o.env, ...platformEnv(slack, discord, o) }), o.app);
}

/** The fake Discord listening, and the composed app over `db` configured for it alone. */
export function serveDiscord(db: Database, o: Serving & { discordPublicKey: string }): Promise<DiscordServer> {
  const discord = new FakeDiscord();
  return serveWithFakes({ discord }, db, () => ({ ...o.env, ...discordEnv(discord, o.discordPublicKey) }), o.app);
}

// The fakes' URLs are known once they listen, so the configuration is built after.
async function serveWithFakes<F extends Record<string, FakeHttpServer>>(fakes: F, db: Database, env: () => TestEnv, app: AppOptions | undefined): Promise<PlatformServer<F>> {
  const all = Object.values(fakes);
  const closeFakes = async () => void (await Promise.all(all.map((f) => f.close())));
  try {
    await Promise.all(all.map((f) => f.listen()));
    const served = await serveTestApp(db, { env: env(), app });
    return {
      ...fakes,
      ...served,
      reset: () => all.forEach((f) => f.reset()),
      async close() {
        await served.close();
        await closeFakes();
      },
    };
  } catch (err) {
    // A suite whose set-up failed has nothing to close: leave no fake holding its port open.
    await closeFakes();
    throw err;
  }
}

/** A signed Slack click (block_actions) on a storecast button of a message, sent to the server's /slack/events as Slack would. */
export function slackButtonClick(server: { url: string }, secret: string, c: { team: string; user: string; channel: string; ts: string; value: string; responseUrl: string }): Promise<Response> {
  const payload = {
    type: 'block_actions',
    team: { id: c.team },
    user: { id: c.user, username: 'clicker', team_id: c.team },
    api_app_id: 'A0FAKE',
    container: { type: 'message', message_ts: c.ts, channel_id: c.channel, is_ephemeral: false },
    trigger_id: '1.2.3',
    channel: { id: c.channel, name: c.channel },
    message: { type: 'message', ts: c.ts, text: 'x' },
    response_url: c.responseUrl,
    actions: [{ type: 'button', action_id: `${RUN_ACTION}:0`, block_id: 'b1', text: { type: 'plain_text', text: 'x' }, value: c.value, action_ts: '1700000001.0' }],
  };
  const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  const stamp = Math.floor(Date.now() / 1000);
  return fetch(`${server.url}/slack/events`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': String(stamp), 'x-slack-signature': slackSignature(secret, stamp, body) }, body });
}
