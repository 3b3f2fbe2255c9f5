import { stockCoverChart } from '../../charts/index.ts';
import { money, percent, weekLabel } from '../chat/format.ts';
import type { Reply } from '../chat/reply.ts';
import { alertLine, ALERTS_LINE } from './options.ts';
import type { AlertRuleRow } from './rules.ts';
import { describeCondition, ruleScope } from './rules.ts';
import { describeScope } from '../scope.ts';

/**
 * The notice of an alert episode as a Reply (so every surface renders it, email included):
 * what fired and why, the departments or the week behind it, and buttons to snooze (a day,
 * a week) or acknowledge it, which run /alert as whoever clicks (manager role needed).
 */
export interface NoticeInput {
  rule: AlertRuleRow;
  kind: 'firing' | 'resolved';
  episode: number;
  detail: Record<string, unknown>;
}

interface DeptDetail {
  store: number;
  dept: number;
  weeks: number;
  runOutWeek: string | null;
  onHand: number;
  reorder: number;
  leadTimeWeeks: number;
  /** Cover at both demands (older notices: only `weeks`, at the rule's basis). */
  median?: number | null;
  p90?: number | null;
}

function stockParts(detail: Record<string, unknown>, title: string): Pick<Reply, 'facts' | 'table' | 'chart'> & { summary: string } {
  const depts = (detail.departments as DeptDetail[] | undefined) ?? [];
  const label = (d: DeptDetail) => `Store ${d.store} · Dept ${d.dept}`;
  const listed = depts.slice(0, 5).map((d) => `${label(d)} (${d.weeks} wk${d.runOutWeek ? `, out week of ${weekLabel(d.runOutWeek)}` : ''})`);
  return {
    summary: `${detail.atRisk} of ${detail.checked} departments are under the threshold: ${listed.join('; ')}${depts.length > 5 ? '; …' : ''}.`,
    facts: [
      { label: 'Departments under', value: String(detail.atRisk) },
      { label: 'Reorder suggested', value: money(depts.reduce((a, d) => a + d.reorder, 0)) },
      { label: 'Stock counted', value: String(detail.asOf ?? '-') },
    ],
    table: {
      columns: ['store', 'dept', 'cover_weeks', 'run_out_week', 'on_hand', 'reorder', 'lead_time_weeks'],
      rows: depts.map((d) => [d.store, d.dept, d.weeks, d.runOutWeek, d.onHand, d.reorder, d.leadTimeWeeks]),
      filename: 'stock-alert.csv',
    },
    ...(depts.length
      ? {
          chart: {
            spec: stockCoverChart({ title, subtitle: `Counted ${detail.asOf} · departments under the threshold`, horizon: 26, rows: depts.slice(0, 20).map((d) => ({ label: label(d), median: d.median === undefined ? d.weeks : d.median, p90: d.p90 === undefined ? d.weeks : d.p90, leadTime: d.leadTimeWeeks })) }),
            alt: `Bar chart of weeks of stock cover of the ${depts.length === 1 ? 'department' : `${Math.min(20, depts.length)} departments`} under the threshold, against lead time.`,
          },
        }
      : {}),
  };
}

function salesParts(detail: Record<string, unknown>): Pick<Reply, 'facts'> & { summary: string } {
  const week = String(detail.week ?? '');
  const actual = Number(detail.actual ?? 0);
  if (detail.lastYear !== undefined) {
    return {
      summary: `Sales in the week of ${weekLabel(week)} were ${money(actual)}, ${percent(Number(detail.change))} vs ${money(Number(detail.lastYear))} in the same week last year.`,
      facts: [
        { label: 'Week', value: weekLabel(week) },
        { label: 'Actual', value: money(actual) },
        { label: 'Same week last year', value: money(Number(detail.lastYear)) },
      ],
    };
  }
  return {
    summary: `Sales in the week of ${weekLabel(week)} were ${money(actual)}; the forecast made the week before expected ${money(Number(detail.median))} (80%: ${money(Number(detail.lower))}–${money(Number(detail.upper))}).`,
    facts: [
      { label: 'Week', value: weekLabel(week) },
      { label: 'Actual', value: money(actual) },
      { label: 'Forecast median', value: money(Number(detail.median)) },
      { label: '80% interval', value: `${money(Number(detail.lower))}–${money(Number(detail.upper))}` },
      { label: 'Model', value: String(detail.model ?? '') },
    ],
  };
}

export function noticeReply({ rule, kind, episode, detail }: NoticeInput): Reply {
  const where = describeScope(ruleScope(rule));
  const what = describeCondition(rule.kind, rule.condition);
  if (kind === 'resolved') {
    return {
      title: `Resolved: ${where}`,
      summary: `Alert ${rule.id} (${what}) is back to normal.`,
      facts: [{ label: 'Alert', value: rule.id }],
      actions: [{ label: rule.kind === 'stock' && rule.scope_kind === 'store' ? 'Stock cover' : 'All alerts', command: rule.kind === 'stock' && rule.scope_kind === 'store' ? `/stock store ${rule.scope_value}` : ALERTS_LINE }],
      visibility: 'channel',
      context: {},
      data: { alert: rule.id, episode, kind, detail },
    };
  }
  const title = `Alert: ${where} · ${what}`;
  const parts = rule.kind === 'stock' ? stockParts(detail, title) : { ...salesParts(detail), chart: undefined, table: undefined };
  return {
    title,
    summary: parts.summary,
    facts: [...parts.facts, { label: 'Alert', value: rule.id }],
    ...(parts.chart ? { chart: parts.chart } : {}),
    ...(parts.table ? { table: parts.table } : {}),
    actions: [
      { label: 'Snooze a day', command: alertLine({ what: 'snooze', id: rule.id, for: 'day' }) },
      { label: 'Snooze a week', command: alertLine({ what: 'snooze', id: rule.id, for: 'week' }) },
      { label: 'Acknowledge', command: alertLine({ what: 'ack', id: rule.id }) },
    ],
    visibility: 'channel',
    context: { ...(detail.asOf ? { dataThrough: String(detail.asOf) } : detail.week ? { dataThrough: String(detail.week) } : {}) },
    data: { alert: rule.id, episode, kind, detail },
  };
}
