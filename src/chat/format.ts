// Replies and charts format numbers the same way: one implementation, in the chart theme.
export { formatMoney as money, formatPercent as percent } from '../../charts/theme.ts';

export function weekLabel(week: string): string {
  const d = new Date(`${week}T00:00:00Z`);
  return d.toLocaleDateString('en-US', { month: 'short', day: 'numeric', year: 'numeric', timeZone: 'UTC' });
}
