import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { LogFormat } from '../src/config.ts';
import { createLogger, type LogSink } from '../src/logger.ts';

const bin = fileURLToPath(new URL('../bin/storecast.js', import.meta.url));

/** A sink that keeps what is written, as a terminal (isTTY) or a pipe would receive it. */
function memorySink(isTTY: boolean): LogSink & { text: () => string } {
  const chunks: string[] = [];
  return { isTTY, write: (s: string) => void chunks.push(s), text: () => chunks.join('') };
}

function logOnce(format: LogFormat, isTTY: boolean, loadPrettify?: () => undefined) {
  const sink = memorySink(isTTY);
  const logger = createLogger('info', { format, sink, loadPrettify });
  logger.info({ store: 5, url: 'https://hooks.slack.com/services/T0/B0/secret' }, 'summary sent');
  // No await: a line is written before the log call returns (start-up and crash lines survive an exit).
  return sink.text();
}

const jsonLines = (text: string) => text.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);

describe('createLogger formats', () => {
  it('json: one JSON object per line, the URL redacted', () => {
    const [line] = jsonLines(logOnce('json', true));
    expect(line).toMatchObject({ level: 30, service: 'storecast', store: 5, url: '[redacted]', msg: 'summary sent' });
  });

  it('pretty: a human-readable line with the level and message, fields below it, the URL redacted', () => {
    const text = logOnce('pretty', false);
    expect(() => JSON.parse(text.split('\n')[0]!)).toThrow();
    expect(text).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: summary sent\n/);
    expect(text).toMatch(/store: 5/);
    expect(text).toContain('[redacted]');
    expect(text).not.toContain('secret');
    // Not a terminal: no colour codes, whatever the format.
    expect(text).not.toContain('\u001b[');
  });

  it('auto: pretty on a terminal, JSON lines otherwise', () => {
    expect(logOnce('auto', true)).toMatch(/INFO: summary sent/);
    expect(jsonLines(logOnce('auto', false))[0]).toMatchObject({ msg: 'summary sent' });
  });

  it('without pino-pretty installed: JSON lines, and a warning when pretty was asked for by name', () => {
    const [warning, line] = jsonLines(logOnce('pretty', true, () => undefined));
    expect(warning).toMatchObject({ level: 40, msg: 'pino-pretty is not installed: logging JSON lines' });
    expect(line).toMatchObject({ msg: 'summary sent', url: '[redacted]' });
    // auto says it at info, so the CLI (warn) stays quiet about it.
    expect(jsonLines(logOnce('auto', true, () => undefined))[0]).toMatchObject({ level: 30 });
  });
});

describe('storecast serve logs', () => {
  /** Listens, then crashes on an unreachable Postgres: a start-up line and the crash line. */
  async function crashingServe(format: LogFormat): Promise<{ code: number; stderr: string }> {
    const env = { ...process.env, LOG_FORMAT: format, LOG_LEVEL: 'info', PORT: '0', HOST: '127.0.0.1', DATABASE_URL: 'postgres://storecast@127.0.0.1:1/none', STORECAST_TRAIN_ON_START: 'false' };
    try {
      await promisify(execFile)(process.execPath, [bin, 'serve'], { env, timeout: 45_000 });
      return { code: 0, stderr: '' };
    } catch (err) {
      const e = err as { code: number; stderr: string };
      return { code: e.code, stderr: e.stderr };
    }
  }

  it('LOG_FORMAT=json: the start-up and the crash as JSON lines, exit 1', async () => {
    const r = await crashingServe('json');
    expect(r.code).toBe(1);
    const lines = jsonLines(r.stderr);
    expect(lines[0]).toMatchObject({ level: 30, msg: expect.stringContaining('storecast is listening') });
    expect(lines.at(-1)).toMatchObject({ level: 60, msg: 'storecast crashed', err: { message: expect.stringContaining('ECONNREFUSED') } });
  });

  it('LOG_FORMAT=pretty: the same as human-readable lines, exit 1', async () => {
    const r = await crashingServe('pretty');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^\[[\d:.]+\] INFO: storecast is listening/);
    expect(r.stderr).toMatch(/\n\[[\d:.]+\] FATAL: storecast crashed\n\s+err: \{/);
    expect(r.stderr).toContain('ECONNREFUSED');
  });
});
