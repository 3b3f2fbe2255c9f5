/**
 * The one CSV writer (RFC 4180, CRLF) behind every CSV storecast hands out: Reply tables in
 * chat, e-mail, the console and the API (audit.csv, campaigns.csv, …). A text cell that a
 * spreadsheet would take for a formula (starting with = + - @, tab or CR) is written with a
 * leading ' so it stays text: a campaign note or a client header must not run as
 * `=HYPERLINK(...)` in whoever opens the export. Numbers stay numbers: a number cell, or a text
 * cell that is only a number (`-5`, `-1,234.50`, `-3.2%`), is written as it is.
 */
export type CsvCell = string | number | null | undefined;

const FORMULA_START = /^[=+\-@\t\r]/;
/** Text a spreadsheet reads as a plain number, never as a formula. */
const PLAIN_NUMBER = /^[+-]?(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?([eE][+-]?\d+)?%?$/;

/** One cell: neutralised when it could be read as a formula, quoted when it must be. */
export function csvCell(value: CsvCell): string {
  if (value === null || value === undefined) return '';
  let s = typeof value === 'number' ? (Number.isFinite(value) ? String(value) : '') : value;
  if (typeof value === 'string' && FORMULA_START.test(s) && !(PLAIN_NUMBER.test(s) && /\d/.test(s))) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Rows -> CSV text, CRLF after every row (the header is a row like the others). */
export function toCsv(rows: readonly (readonly CsvCell[])[]): string {
  return rows.map((r) => r.map(csvCell).join(',')).join('\r\n') + '\r\n';
}
