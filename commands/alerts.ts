import { alertsListHandler } from '../src/alerts/chat.ts';
import { defineCommand } from '../src/chat/command.ts';

export default defineCommand({
  name: 'alerts',
  description: 'List the alerts of this channel and yours, firing ones first in the buttons.',
  options: [],
  examples: ['/alerts'],
  handler: alertsListHandler,
});
