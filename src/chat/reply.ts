/**
 * The one definition of an answer. A Reply is plain data: every platform adapter (Slack,
 * Discord, webhooks, the CLI and web console) renders the same Reply its own way.
 */
import { toCsv } from '../util/csv.ts';

export interface Fact {
  label: string;
  value: string;
}

export interface ReplyTable {
  columns: string[];
  rows: (string | number | null)[][];
  /** Offered as a CSV download under this name. */
  filename: string;
}

/** A follow-up the user can run with one click; `command` is the full command text. */
export interface ReplyAction {
  label: string;
  command: string;
}

export interface ReplyChart {
  /** A Vega-Lite spec built by a builder in charts/; rendered to PNG by the adapter. */
  spec: Record<string, unknown>;
  /** Screen-reader and notification text for the chart. */
  alt: string;
}

export interface Reply {
  title: string;
  summary: string;
  facts: Fact[];
  chart?: ReplyChart;
  table?: ReplyTable;
  actions: ReplyAction[];
  /** 'ephemeral' answers only the asker (help, errors); 'channel' is posted for everyone. */
  visibility: 'channel' | 'ephemeral';
  /** Data freshness and model, shown as a context line / footer. */
  context: { dataThrough?: string; model?: string; notes?: string[] };
  /** The numbers behind the answer, for integrations and tests. */
  data: Record<string, unknown>;
}

/** The footer every surface shows: data freshness, model, notes ("Data through 2012-10-26 · model v3"). */
export function contextLine(reply: Reply): string | undefined {
  const parts = [
    reply.context.dataThrough ? `Data through ${reply.context.dataThrough}` : undefined,
    reply.context.model ? `model ${reply.context.model}` : undefined,
    ...(reply.context.notes ?? []),
  ].filter((p): p is string => Boolean(p));
  return parts.length ? parts.join(' · ') : undefined;
}

/** A Reply as plain text (the CLI). */
export function replyAsText(reply: Reply): string {
  const lines = [reply.title, '', reply.summary];
  if (reply.facts.length) {
    lines.push('');
    const width = Math.max(...reply.facts.map((f) => f.label.length));
    for (const f of reply.facts) lines.push(`  ${f.label.padEnd(width)}  ${f.value}`);
  }
  if (reply.table) {
    lines.push('', formatTable(reply.table));
  }
  const context = contextLine(reply);
  if (context) lines.push('', context);
  if (reply.actions.length) lines.push('', `Next: ${reply.actions.map((a) => a.command).join('  |  ')}`);
  return lines.join('\n');
}

function formatTable(table: ReplyTable): string {
  const cells = [table.columns, ...table.rows.map((r) => r.map((c) => (c === null ? '' : String(c))))];
  const widths = table.columns.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (c ?? '').padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
}

/** The table as a CSV download, through the one CSV writer (formula-looking text neutralised). */
export function tableAsCsv(table: ReplyTable): string {
  return toCsv([table.columns, ...table.rows]);
}
