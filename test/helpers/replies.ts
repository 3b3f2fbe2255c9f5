import type { Reply } from '../../src/chat/reply.ts';

const base: Reply = {
  title: 'Store 5: forecast for the next 12 weeks',
  summary: 'Sales should hold near $310k a week, with the usual lift before Thanksgiving.',
  facts: [
    { label: 'Next week', value: '$312,400 (80%: $289k–$336k)' },
    { label: 'vs last year', value: '+3.1%' },
  ],
  chart: { spec: { mark: 'line' }, alt: 'Line chart of weekly sales with an 80% band' },
  table: { columns: ['week', 'forecast'], rows: [['2012-11-02', 312400]], filename: 'store-5-forecast.csv' },
  actions: [{ label: 'Holiday impact', command: '/holiday-impact store 5' }],
  visibility: 'channel',
  context: { dataThrough: '2012-10-26', model: 'v3' },
  data: {},
};

/**
 * The Replies every renderer is held to: an ordinary answer, one carrying markup a user could
 * inject, and one past every platform limit.
 */
export const REPLY_FIXTURES: Record<'ordinary' | 'hostile' | 'oversized', Reply> = {
  ordinary: base,
  hostile: {
    ...base,
    title: 'Store <!channel> & <@U123|boss>',
    summary: 'Ping <!everyone> <!here> and <https://evil.example|click me> & *bold*',
    facts: [{ label: '<!subteam^S1>', value: '<@U999> & <#C1>' }],
    context: { dataThrough: '2012-10-26', notes: ['<!channel> note'] },
  },
  oversized: {
    ...base,
    title: 'T'.repeat(500),
    summary: 'S'.repeat(10_000),
    facts: Array.from({ length: 600 }, (_, i) => ({ label: `Fact ${i} ${'l'.repeat(300)}`, value: 'v'.repeat(2_500) })),
    actions: Array.from({ length: 40 }, (_, i) => ({ label: `Action ${i} ${'a'.repeat(100)}`, command: `/sales store ${i}` })),
    context: { dataThrough: '2012-10-26', model: 'v3', notes: ['n'.repeat(5_000)] },
  },
};
