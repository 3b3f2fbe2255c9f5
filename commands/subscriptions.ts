import { defineCommand } from '../src/chat/command.ts';
import { listHandler } from '../src/webhooks/chat.ts';

export default defineCommand({
  name: 'subscriptions',
  description: "List this channel's weekly-summary subscriptions.",
  options: [],
  examples: ['/subscriptions'],
  access: 'manage',
  handler: listHandler,
});
