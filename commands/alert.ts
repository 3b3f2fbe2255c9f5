import { alertHandler, alertReach } from '../src/alerts/chat.ts';
import { ALERT_KEYWORDS, alertOptions } from '../src/alerts/options.ts';
import { defineCommand } from '../src/chat/command.ts';

export default defineCommand({
  name: 'alert',
  description: 'Alert on low stock cover or unusual sales (this channel, you, or email); delete, snooze or acknowledge one.',
  // what, id, store, dept, region, scope, below, pct, drop, basis, to, for: defined with the handler
  options: alertOptions,
  keywords: ALERT_KEYWORDS,
  examples: ['/alert stock store 5 below 2 weeks', '/alert sales store 5 below forecast', '/alert sales region West drop 10% vs last year', '/alert stock store 5 dept 7 below 1 to me', '/alert snooze alr_1a2b3c4d5e6f for week', '/alert delete alr_1a2b3c4d5e6f'],
  access: 'manage',
  reach: alertReach,
  handler: alertHandler,
});
