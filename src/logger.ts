import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * JSON logs on stderr (stdout stays clean for `--json` output of the CLI). Webhook URLs,
 * tokens and signing secrets are redacted wherever they appear as fields.
 */
export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino(
    {
      level,
      base: { service: 'storecast' },
      redact: {
        paths: ['url', 'targetUrl', 'token', 'secret', '*.url', '*.targetUrl', '*.token', '*.secret', 'headers.authorization'],
        censor: '[redacted]',
      },
    },
    pino.destination(2),
  );
}
