import { defineCommand } from '../src/chat/command.ts';
import { scopeFrom, unsubscribeHandler, unsubscribeOptions } from '../src/delivery/summaries/chat.ts';

export default defineCommand({
  name: 'unsubscribe',
  description: "Stop a weekly summary in this channel (by what it covers, or id), or your own copy (only me).",
  // summary, store, region, scope, id: defined with the handler, which reads them
  options: unsubscribeOptions,
  examples: ['/unsubscribe weekly-summary store 5', '/unsubscribe id sub_1a2b3c4d5e6f', '/unsubscribe id sub_1a2b3c4d5e6f only me'],
  access: 'manage',
  // Anyone may stop their own copy of a per-recipient summary; the handler stops theirs alone.
  accessFor: (options) => (options.only === 'me' ? 'read' : 'manage'),
  reach: (options) => scopeFrom(options, false),
  handler: unsubscribeHandler,
});
