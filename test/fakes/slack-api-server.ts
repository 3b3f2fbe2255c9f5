/**
 * The fake Slack API as a separate process (for bench/ack.ts, so its work does not share the
 * measured server's CPU). Prints {"apiUrl","url"} as one JSON line, records nothing, answers
 * "stats" IPC messages with its request counts, and exits when its parent disconnects.
 *
 *   node --import tsx test/fakes/slack-api-server.ts   (started with child_process.fork)
 */
import { FakeSlack } from './slack-api.ts';

const fake = new FakeSlack({ record: false });
await fake.listen();
process.send?.({ ready: true, apiUrl: fake.apiUrl, url: fake.url });
process.on('message', (msg: unknown) => {
  if (msg === 'stats') process.send?.({ counts: Object.fromEntries(fake.counts) });
});
process.on('disconnect', () => void fake.close().then(() => process.exit(0)));
