import type { Command } from '../src/chat/command.ts';
import { scopeOptions, unsubscribeHandler } from '../src/webhooks/chat.ts';

export default {
  name: 'unsubscribe',
  description: "Stop a weekly summary in this channel (by what it covers, or by id).",
  options: [...scopeOptions, { name: 'id', type: 'string', description: 'Subscription id, e.g. sub_1a2b3c4d5e6f (see /subscriptions)' }],
  examples: ['/unsubscribe weekly-summary store 5', '/unsubscribe id sub_1a2b3c4d5e6f'],
  access: 'manage',
  handler: unsubscribeHandler,
} satisfies Command;
