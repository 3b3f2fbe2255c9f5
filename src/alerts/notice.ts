import { stockCoverChart } from '../../charts/index.ts';
import { money, percent, weekLabel } from '../chat/format.ts';
import type { Reply } from '../chat/reply.ts';
import { describePrincipal } from '../access/principal.ts';
import { alertLine, ALERTS_LINE } from './options.ts';
import type { AlertRuleRow } from './rules.ts';
import { describeCondition, ruleScope } from './rules.ts';
import { describeScope } from '../scope.ts';

/** What an alert notice tells: an episode opening or closing, or a person's change to it (chat targets). */
export type NoticeKind = 'firing' | 'resolved' | 'snoozed' | 'acknowledged';

/**
 * The notice of an alert episode as a Reply (so every surface renders it, email included):
 * what fired and why, the departments or the week behind it, and buttons to snooze (a day,
 * a week) or acknowledge it, which run /alert as whoever clicks (manager role needed).
 */
export interface NoticeInput {
  rule: AlertRuleRow;
  kind: NoticeKind;
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

/** After an episode: where to look next. */
function restActions(rule: AlertRuleRow): Reply['actions'] {
  const stock = rule.kind === 'stock' && rule.scope_kind === 'store';
  return [{ label: stock ? 'Stock cover' : 'All alerts', command: stock ? `/stock store ${rule.scope_value}` : ALERTS_LINE }];
}

const utc = (d: string) => `${d.slice(0, 16).replace('T', ' ')} UTC`;

/** A person's change to an episode, as its thread reply says it. */
function changeReply({ rule, kind, episode, detail }: NoticeInput & { kind: 'snoozed' | 'acknowledged' }): Reply {
  const who = describePrincipal(String(detail.by ?? 'someone'));
  const where = describeScope(ruleScope(rule));
  const summary = kind === 'snoozed' ? `${who} snoozed alert ${rule.id} until ${utc(String(detail.until))}: notices until then are recorded, not sent.` : `${who} is on alert ${rule.id}. The "resolved" notice will still come when it is back to normal.`;
  return { title: `${kind === 'snoozed' ? 'Snoozed' : 'Acknowledged'}: ${where}`, summary, facts: [], actions: [], visibility: 'channel', context: {}, data: { alert: rule.id, episode, kind, detail } };
}

/**
 * The episode's one chat message as it stands now, edited in place on every change: the firing
 * notice with who acknowledged it and until when it is snoozed, or marked resolved (its buttons
 * replaced by where to look next). `firing` is what the firing notice said.
 */
export function episodeMessage(rule: AlertRuleRow, episode: number, firing: Record<string, unknown>, now: Date): Reply {
  const base = noticeReply({ rule, kind: 'firing', episode, detail: firing });
  const resolved = rule.episode !== episode || rule.state === 'ok';
  if (resolved) {
    return { ...base, title: `Resolved: ${base.title.replace(/^Alert: /, '')}`, summary: `Back to normal. It was: ${base.summary}`, facts: [{ label: 'Status', value: 'resolved' }, ...base.facts], actions: restActions(rule) };
  }
  const status = [
    ...(rule.acknowledged_episode === episode && rule.acknowledged_by ? [`acknowledged by ${describePrincipal(rule.acknowledged_by)}`] : []),
    ...(rule.snoozed_until && new Date(rule.snoozed_until) > now ? [`snoozed until ${utc(new Date(rule.snoozed_until).toISOString())}`] : []),
  ];
  return status.length ? { ...base, facts: [{ label: 'Status', value: `firing, ${status.join(', ')}` }, ...base.facts] } : base;
}

export function noticeReply({ rule, kind, episode, detail }: NoticeInput): Reply {
  const where = describeScope(ruleScope(rule));
  const what = describeCondition(rule.kind, rule.condition);
  if (kind === 'snoozed' || kind === 'acknowledged') return changeReply({ rule, kind, episode, detail });
  if (kind === 'resolved') {
    return {
      title: `Resolved: ${where}`,
      summary: `Alert ${rule.id} (${what}) is back to normal.`,
      facts: [{ label: 'Alert', value: rule.id }],
      actions: restActions(rule),
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
