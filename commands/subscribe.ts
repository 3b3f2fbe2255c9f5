import { defineCommand } from '../src/chat/command.ts';
import { scopeFrom, subscribeHandler, subscribeOptions } from '../src/delivery/summaries/chat.ts';

export default defineCommand({
  name: 'subscribe',
  description: 'Post a weekly summary (store, region or chain) here on a schedule, or DM it to each manager.',
  // summary, store, region, scope, every, at, tz: defined with the handler, which reads them
  options: subscribeOptions,
  examples: [
    '/subscribe weekly-summary store 5 every monday 08:00 tz America/Chicago',
    '/subscribe weekly-summary region West every friday at 17:00',
    '/subscribe weekly-summary chain',
    '/subscribe weekly-summary region West each manager',
  ],
  access: 'manage',
  reach: (options) => scopeFrom(options, true),
  handler: subscribeHandler,
});
