import { createReadStream } from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';
import { CsvError, parse, type InfoRecord, type Options } from 'csv-parse';
import { clip } from '../util/text.ts';
import type { Fields } from './formats.ts';
import { INPUT_LIMITS } from './limits.ts';

/** One record of a file, as the loader validates it. */
export interface Row {
  line: number;
  fields: Fields;
  /** Refused before validation (too many fields, or where reading stopped): the reason. */
  refused?: string;
  /** Reading stopped here: nothing from this line on was read. Always the last row. */
  stop?: boolean;
}

const LF = 10;
const CR = 13;

/**
 * Passes whole lines only, and ends the stream before the first line longer than `max`
 * bytes, so csv-parse reads every line before it and never buffers a huge one. csv-parse's
 * max_record_size counts field characters, not delimiters: a line of a million commas
 * passes it, and takes seconds to split into a million empty fields.
 */
class LineGuard extends Transform {
  /** The number of the first line that was too long, once one is found. */
  overlong: number | undefined;
  private line = 1;
  private length = 0;
  private afterCR = false;
  /** The start of the current, unfinished line. */
  private pending: Buffer = Buffer.alloc(0);

  constructor(private readonly max: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (this.overlong !== undefined) return done();
    let lastBreak = -1;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i];
      if (byte === LF || byte === CR) {
        if (byte === CR || !this.afterCR) this.line++; // CRLF is one line break
        this.afterCR = byte === CR;
        this.length = 0;
        lastBreak = i;
      } else if (++this.length > this.max) {
        this.overlong = this.line;
        // `pending` is part of the long line unless a line ended earlier in this chunk.
        if (lastBreak >= 0) this.push(Buffer.concat([this.pending, chunk.subarray(0, lastBreak + 1)]));
        this.push(null);
        return done();
      } else {
        this.afterCR = false;
      }
    }
    if (lastBreak < 0) {
      this.pending = Buffer.concat([this.pending, chunk]);
      return done();
    }
    const whole = Buffer.concat([this.pending, chunk.subarray(0, lastBreak + 1)]);
    this.pending = Buffer.from(chunk.subarray(lastBreak + 1)); // a copy: do not pin the whole chunk
    done(null, whole);
  }

  override _flush(done: TransformCallback): void {
    if (this.overlong === undefined && this.pending.length > 0) this.push(this.pending);
    done();
  }
}

const tooLong = () => `line is longer than ${INPUT_LIMITS.lineBytes} bytes`;

/** A short reason for a parse failure; csv-parse's own messages run to 150 characters. */
function parseProblem(err: CsvError): string {
  const near = typeof err['lines'] === 'number' ? ` near line ${err['lines']}` : '';
  switch (err.code) {
    case 'CSV_MAX_RECORD_SIZE':
      return `a record is longer than ${INPUT_LIMITS.recordChars} characters${near} (an unclosed quote?)`;
    case 'CSV_QUOTE_NOT_CLOSED':
      return `a quote is not closed${near}`;
    case 'CSV_INVALID_CLOSING_QUOTE':
      return `a closing quote is followed by text${near}`;
    default:
      return `not valid CSV${near}: ${clip(err.message, 60)}`;
  }
}

const parserLimits = { max_record_size: INPUT_LIMITS.recordChars, relax_column_count: true, bom: true } as const;

/** The header row, or why it cannot be one. Reads only the first line. */
export async function readHeader(path: string): Promise<{ fields: string[] } | { problem: string }> {
  const input = createReadStream(path);
  const guard = new LineGuard(INPUT_LIMITS.lineBytes);
  try {
    const parser = input.pipe(guard).pipe(parse({ ...parserLimits, to_line: 1 }));
    for await (const record of parser) return { fields: record as string[] };
    return guard.overlong === undefined ? { fields: [] } : { problem: `the header ${tooLong()}` };
  } catch (err) {
    if (err instanceof CsvError) return { problem: `the header is not valid CSV: ${parseProblem(err)}` };
    throw err;
  } finally {
    input.destroy();
  }
}

export interface ReadRowsOptions {
  /** For each of the format's columns, its index in the file's row. */
  indexes: readonly number[];
  onProgress?: (p: { bytesRead: number; rows: number }) => void;
}

/**
 * Streams a CSV file's data rows (after the header) in chunks; never holds the whole file
 * in memory. A row with too many fields is refused; a line over the length limit or broken
 * quoting ends reading with one last, refused row saying where and why.
 */
export async function* readRows(path: string, options: ReadRowsOptions): AsyncGenerator<Row[]> {
  if (await isPlainLf(path)) {
    yield* readPlainRows(path, options);
    return;
  }
  const { indexes } = options;
  const input = createReadStream(path, { highWaterMark: 1 << 20 });
  const guard = new LineGuard(INPUT_LIMITS.lineBytes);
  // Files in the documented column order (all real ones) are read without copying fields.
  const inOrder = indexes.every((index, i) => index === i);
  const toRow = (record: string[], context: InfoRecord): Row =>
    record.length > INPUT_LIMITS.columns
      ? { line: context.lines, fields: [], refused: `${record.length} fields; a row has at most ${INPUT_LIMITS.columns}` }
      : { line: context.lines, fields: inOrder ? record : indexes.map((i) => record[i]) };
  // csv-parse detects CR, LF and CRLF record delimiters (stores.csv is CR-only).
  const parser = input.pipe(guard).pipe(
    parse({
      ...parserLimits,
      from_line: 2,
      skip_empty_lines: true,
      trim: true,
      // Cheaper than `info: true` (which allocates an object per record) for the line number.
      on_record: toRow as unknown as Options['on_record'],
    }),
  );
  let chunk: Row[] = [];
  let rows = 0;
  let lastLine = 1;
  try {
    for await (const row of parser as AsyncIterable<Row>) {
      chunk.push(row);
      lastLine = row.line;
      if (chunk.length === 10_000) {
        rows += chunk.length;
        yield chunk;
        chunk = [];
        options.onProgress?.({ bytesRead: input.bytesRead, rows });
      }
    }
    if (guard.overlong !== undefined) chunk.push(stopRow(guard.overlong, tooLong()));
  } catch (err) {
    if (!(err instanceof CsvError)) throw err;
    // Records parsed with the failing one may be lost with the stream: say where reading ended.
    chunk.push(stopRow(lastLine + 1, parseProblem(err)));
  } finally {
    input.destroy();
  }
  if (chunk.length) yield chunk;
  options.onProgress?.({ bytesRead: input.bytesRead, rows: rows + chunk.length });
}

function stopRow(line: number, problem: string): Row {
  return { line, fields: [], refused: `${problem}; this line and the rest of the file were not read`, stop: true };
}

const QUOTE = 34;

/**
 * Whether a file has neither quotes nor carriage returns: every real data file (Kaggle's,
 * Walmart.csv, `storecast demo --out`). Such a file is lines of fields split at commas, which
 * readPlainRows reads about three times faster than csv-parse: at 43M rows, the difference
 * between parsing and the database being the bottleneck of an import.
 */
async function isPlainLf(path: string): Promise<boolean> {
  const input = createReadStream(path, { highWaterMark: 1 << 20 });
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) if (chunk.indexOf(QUOTE) >= 0 || chunk.indexOf(CR) >= 0) return false;
    return true;
  } finally {
    input.destroy();
  }
}

/** The fields of one unquoted line, trimmed of spaces and tabs as csv-parse's `trim` does. */
function splitPlain(line: string): string[] {
  const fields = line.split(',');
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!;
    const first = f.charCodeAt(0);
    const last = f.charCodeAt(f.length - 1);
    if (first === 32 || first === 9 || last === 32 || last === 9) fields[i] = f.replace(/^[ \t]+|[ \t]+$/g, '');
  }
  return fields;
}

/** readRows for a plain LF file (isPlainLf): the same rows, line numbers, limits and stop row. */
async function* readPlainRows(path: string, options: ReadRowsOptions): AsyncGenerator<Row[]> {
  const { indexes } = options;
  const inOrder = indexes.every((index, i) => index === i);
  const input = createReadStream(path, { highWaterMark: 1 << 20 });
  const guard = new LineGuard(INPUT_LIMITS.lineBytes);
  let line = 0;
  let rows = 0;
  let tail = '';
  try {
    for await (const whole of input.pipe(guard) as AsyncIterable<Buffer>) {
      const lines = (tail + whole.toString('utf8')).split('\n');
      tail = lines.pop()!; // the guard passes whole lines; only the file's last may lack its LF
      const chunk = plainChunk(lines, line, indexes, inOrder);
      line += lines.length;
      rows += chunk.length;
      if (chunk.length) yield chunk;
      options.onProgress?.({ bytesRead: input.bytesRead, rows });
    }
    const last = plainChunk(tail ? [tail] : [], line, indexes, inOrder);
    if (tail) line++;
    if (guard.overlong !== undefined) last.push(stopRow(guard.overlong, tooLong()));
    rows += last.length;
    if (last.length) yield last;
    options.onProgress?.({ bytesRead: input.bytesRead, rows });
  } finally {
    input.destroy();
  }
}

/** Rows of `lines`, the first being line `before + 1`; the header (line 1) and empty lines skipped. */
function plainChunk(lines: readonly string[], before: number, indexes: readonly number[], inOrder: boolean): Row[] {
  const chunk: Row[] = [];
  for (let i = 0; i < lines.length; i++) {
    const number = before + i + 1;
    const text = lines[i]!;
    if (number === 1 || text.length === 0) continue;
    const record = splitPlain(text);
    chunk.push(
      record.length > INPUT_LIMITS.columns
        ? { line: number, fields: [], refused: `${record.length} fields; a row has at most ${INPUT_LIMITS.columns}` }
        : { line: number, fields: inOrder ? record : indexes.map((k) => record[k]) },
    );
  }
  return chunk;
}
