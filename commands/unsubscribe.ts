import { defineCommand } from '../src/chat/command.ts';
import { scopeFrom, unsubscribeHandler, unsubscribeOptions } from '../src/delivery/summaries/chat.ts';

export default defineCommand({
  name: 'unsubscribe',
  description: "Stop a weekly summary in this channel (by what it covers, or by id).",
  // summary, store, region, scope, id: defined with the handler, which reads them
  options: unsubscribeOptions,
  examples: ['/unsubscribe weekly-summary store 5', '/unsubscribe id sub_1a2b3c4d5e6f'],
  access: 'manage',
  reach: (options) => scopeFrom(options, false),
  handler: unsubscribeHandler,
});
