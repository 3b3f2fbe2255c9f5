import type { Command } from '../src/chat/command.ts';
import { WEEKDAY_CHOICES, scopeOptions, subscribeHandler } from '../src/webhooks/chat.ts';

export default {
  name: 'subscribe',
  description: 'Post a weekly summary (store, region or chain) to this channel on a schedule.',
  options: [
    ...scopeOptions,
    { name: 'every', type: 'choice', choices: WEEKDAY_CHOICES, aliases: ['on'], description: 'Weekday to post on (default monday)' },
    { name: 'at', type: 'string', aliases: ['time'], pattern: /^\d{1,2}(:\d{2})?\s*(am|pm)?$/i, description: 'Local time, 24-hour HH:MM (default 08:00)' },
    { name: 'tz', type: 'string', aliases: ['timezone'], description: 'IANA time zone, e.g. America/Chicago (default UTC)' },
  ],
  examples: [
    '/subscribe weekly-summary store 5 every monday 08:00 tz America/Chicago',
    '/subscribe weekly-summary region West every friday at 17:00',
    '/subscribe weekly-summary chain',
  ],
  access: 'manage',
  handler: subscribeHandler,
} satisfies Command;
