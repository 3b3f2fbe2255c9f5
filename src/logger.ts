import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger } from 'pino';
import type PinoPretty from 'pino-pretty';
import type { LogFormat, LogLevel } from './config.ts';

export type { Logger };

/** Where log lines go: stderr, unless a test passes a sink to read them back. */
export interface LogSink extends DestinationStream {
  isTTY?: boolean;
}

/** One JSON log line in, one human-readable line out. */
export type Prettify = (jsonLine: string) => string;

export interface LoggerOptions {
  /** `auto`: pretty when the sink is a terminal. Default `json`. */
  format?: LogFormat;
  sink?: LogSink;
  /** Loads the prettifier; undefined when pino-pretty is missing (tests pretend so). */
  loadPrettify?: (colorize: boolean) => Prettify | undefined;
}

const require = createRequire(import.meta.url);

/**
 * pino-pretty's prettifier, run in this thread: a line is written before the log call
 * returns, so start-up lines and the last line before a crash or process.exit are never lost
 * (pino's transport would format them in a worker thread, later). Undefined when an install
 * pruned pino-pretty: logging then goes on as JSON lines.
 */
function loadPinoPretty(colorize: boolean): Prettify | undefined {
  let pretty: typeof PinoPretty;
  try {
    pretty = require('pino-pretty') as typeof PinoPretty;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') return undefined;
    throw err;
  }
  // isColorSupported is colorette's reading of NO_COLOR, FORCE_COLOR and TERM.
  return pretty.prettyFactory({ colorize: colorize && pretty.isColorSupported, ignore: 'pid,hostname,service', translateTime: 'SYS:HH:MM:ss.l' });
}

/** stderr, written synchronously (stdout stays clean for the CLI's `--json` output). */
function stderrSink(): LogSink {
  return Object.assign(pino.destination({ dest: 2, sync: true }), { isTTY: process.stderr.isTTY === true });
}

/**
 * Logs on stderr: JSON lines, or human-readable ones (`format`). Webhook URLs, tokens and
 * signing secrets are redacted wherever they appear as fields, in either format.
 */
export function createLogger(level: LogLevel, { format = 'json', sink = stderrSink(), loadPrettify = loadPinoPretty }: LoggerOptions = {}): Logger {
  const wantPretty = format === 'pretty' || (format === 'auto' && sink.isTTY === true);
  const prettify = wantPretty ? loadPrettify(sink.isTTY === true) : undefined;
  const logger = pino(
    {
      level,
      base: { service: 'storecast' },
      redact: {
        paths: ['url', 'targetUrl', 'token', 'secret', '*.url', '*.targetUrl', '*.token', '*.secret', 'headers.authorization'],
        censor: '[redacted]',
      },
    },
    prettify ? { write: (line: string) => sink.write(prettify(line)) } : sink,
  );
  // Asked for by name, the missing format is worth a warning; `auto` just says so at info.
  if (wantPretty && !prettify) logger[format === 'pretty' ? 'warn' : 'info']('pino-pretty is not installed: logging JSON lines');
  return logger;
}
