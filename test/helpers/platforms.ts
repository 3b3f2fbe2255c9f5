import { RUN_ACTION } from '../../src/adapters/slack/blocks.ts';
import { slackSignature } from '../../src/adapters/slack/verify.ts';
import { FAKE_APP_ID, FAKE_BOT_TOKEN, type FakeDiscord } from '../fakes/discord-api.ts';
import type { FakeSlack } from '../fakes/slack-api.ts';

/** The configuration of a server talking to both fake platforms (Slack over HTTP events, Discord interactions). */
export function platformEnv(slack: FakeSlack, discord: FakeDiscord, o: { slackSecret: string; discordPublicKey: string }): Record<string, string> {
  return {
    SLACK_SIGNING_SECRET: o.slackSecret,
    SLACK_BOT_TOKEN: 'xoxb-test-token',
    SLACK_API_URL: slack.apiUrl,
    DISCORD_PUBLIC_KEY: o.discordPublicKey,
    DISCORD_APP_ID: FAKE_APP_ID,
    DISCORD_BOT_TOKEN: FAKE_BOT_TOKEN,
    DISCORD_API_URL: discord.apiUrl,
  };
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
