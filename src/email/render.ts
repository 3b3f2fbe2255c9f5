import { contextLine, tableAsCsv, type Reply } from '../chat/reply.ts';

/**
 * The one email renderer: a Reply as a message with an HTML and a plain-text part, the chart
 * inline (Content-ID), the table as a CSV attachment, and a footer saying why the mail came
 * and how to stop it. Alerts and weekly summaries both go through here.
 */
export interface EmailAttachment {
  filename: string;
  content: Buffer | string;
  contentType: string;
  /** Set for inline parts (the chart): the HTML refers to it as cid:<cid>. */
  cid?: string;
}

export interface EmailMessage {
  subject: string;
  text: string;
  html: string;
  attachments: EmailAttachment[];
}

export interface EmailContext {
  png?: Buffer;
  /** Why this mail was sent ("You get this because alert alr_… watches Store 5"). */
  why: string;
  /** How to stop it ("/alert delete alr_…", "/unsubscribe id sub_…"). */
  stop: string;
}

export const CHART_CID = 'chart@storecast';
/** Table rows shown in the HTML body; the CSV attachment has them all. */
const HTML_ROWS = 20;

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** A subject is one header line: no CR/LF (header injection), not too long. */
function subjectOf(title: string): string {
  const flat = title.replace(/[\r\n]+/g, ' ').trim() || 'storecast';
  return flat.length > 150 ? `${flat.slice(0, 149)}…` : flat;
}

function htmlTable(reply: Reply): string {
  const t = reply.table;
  if (!t) return '';
  const cell = (v: string | number | null, tag: 'td' | 'th') => `<${tag} style="border:1px solid #ddd;padding:4px 8px;text-align:left">${escapeHtml(v === null ? '' : String(v))}</${tag}>`;
  const rows = t.rows.slice(0, HTML_ROWS).map((r) => `<tr>${r.map((v) => cell(v, 'td')).join('')}</tr>`);
  const more = t.rows.length > HTML_ROWS ? `<p style="color:#555">${t.rows.length - HTML_ROWS} more rows in ${escapeHtml(t.filename)} (attached).</p>` : `<p style="color:#555">The table is attached as ${escapeHtml(t.filename)}.</p>`;
  return `<table style="border-collapse:collapse;font-size:13px"><tr>${t.columns.map((c) => cell(c, 'th')).join('')}</tr>${rows.join('')}</table>${more}`;
}

function textBody(reply: Reply, ctx: EmailContext): string {
  const lines = [reply.title, '', reply.summary];
  if (reply.facts.length) lines.push('', ...reply.facts.map((f) => `${f.label}: ${f.value}`));
  if (reply.table) lines.push('', `The table is attached as ${reply.table.filename} (${reply.table.rows.length} rows).`);
  const context = contextLine(reply);
  if (context) lines.push('', context);
  if (reply.actions.length) lines.push('', 'In Slack or Discord:', ...reply.actions.map((a) => `  ${a.label}: ${a.command}`));
  lines.push('', '--', ctx.why, ctx.stop);
  return lines.join('\n');
}

function htmlBody(reply: Reply, ctx: EmailContext): string {
  const facts = reply.facts.length
    ? `<table style="font-size:14px">${reply.facts.map((f) => `<tr><td style="color:#555;padding-right:12px">${escapeHtml(f.label)}</td><td><b>${escapeHtml(f.value)}</b></td></tr>`).join('')}</table>`
    : '';
  const chart = ctx.png && reply.chart ? `<p><img src="cid:${CHART_CID}" alt="${escapeHtml(reply.chart.alt)}" style="max-width:100%;width:760px"></p>` : '';
  const context = contextLine(reply);
  const actions = reply.actions.length ? `<p style="color:#555">In Slack or Discord: ${reply.actions.map((a) => `<code>${escapeHtml(a.command)}</code> (${escapeHtml(a.label)})`).join(' · ')}</p>` : '';
  return [
    '<!doctype html><html><body style="font-family:DejaVu Sans,Arial,sans-serif;color:#222;max-width:800px">',
    `<h2>${escapeHtml(reply.title)}</h2>`,
    `<p>${escapeHtml(reply.summary)}</p>`,
    facts,
    chart,
    htmlTable(reply),
    context ? `<p style="color:#555;font-size:12px">${escapeHtml(context)}</p>` : '',
    actions,
    `<hr><p style="color:#777;font-size:12px">${escapeHtml(ctx.why)}<br>${escapeHtml(ctx.stop)}</p>`,
    '</body></html>',
  ].join('\n');
}

export function replyToEmail(reply: Reply, ctx: EmailContext): EmailMessage {
  const attachments: EmailAttachment[] = [];
  if (ctx.png && reply.chart) attachments.push({ filename: 'chart.png', content: ctx.png, contentType: 'image/png', cid: CHART_CID });
  if (reply.table) attachments.push({ filename: reply.table.filename, content: tableAsCsv(reply.table), contentType: 'text/csv' });
  return { subject: subjectOf(reply.title), text: textBody(reply, ctx), html: htmlBody(reply, ctx), attachments };
}
