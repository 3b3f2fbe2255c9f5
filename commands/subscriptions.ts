import { defineCommand } from '../src/chat/command.ts';
import { listHandler } from '../src/delivery/summaries/chat.ts';

export default defineCommand({
  name: 'subscriptions',
  description: "List this channel's weekly-summary subscriptions.",
  options: [],
  examples: ['/subscriptions'],
  access: 'manage',
  handler: listHandler,
});
