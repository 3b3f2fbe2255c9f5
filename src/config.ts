import { z } from 'zod';
import { parsePrincipal } from './util/principal-key.ts';
import { keyWeakness } from './util/key-strength.ts';
import { parseAllowList } from './net/addresses.ts';
import { parseTrustProxy, type TrustProxy } from './net/client-address.ts';

/**
 * The one place that reads the environment. Everything else receives a typed `Config`.
 * Each variable documents itself here; the README's configuration table mirrors this list.
 */
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const booleanFlag = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
    .optional()
    .transform((v) => (v === undefined || v === '' ? fallback : ['true', '1', 'yes'].includes(v)));

/** "127.0.0.1, 10.0.0.0/8,hooks.internal" -> ["127.0.0.1", "10.0.0.0/8", "hooks.internal"]; each entry checked. */
const allowList = optionalString
  .transform((v) => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : []))
  .superRefine((entries, ctx) => {
    try {
      parseAllowList(entries);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `${(err as Error).message}; give comma-separated addresses, networks (10.0.0.0/8) or host names` });
    }
  });

const urlString = optionalString.refine((v) => v === undefined || URL.canParse(v), 'must be a URL such as https://example.com');

const WEAK_KEY_ADVICE =
  'Generate one with `openssl rand -hex 32`. If webhook URLs are already encrypted with this key, move them to the new one: STORECAST_OLD_SECRET_KEY=<this key> STORECAST_SECRET_KEY=<new key> storecast secret rotate';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  // Loopback unless told otherwise: the console answers anyone who reaches the port.
  HOST: z.string().trim().min(1).default('127.0.0.1'),
  // No default here: it depends on the program (ConfigDefaults); `serve` logs at info.
  LOG_LEVEL: z.enum(LOG_LEVELS).optional(),
  // auto: human-readable lines on a terminal, JSON lines (for a log collector) otherwise.
  LOG_FORMAT: z.enum(LOG_FORMATS).default('auto'),
  DATABASE_URL: optionalString.refine(
    (v) => v === undefined || /^postgres(ql)?:\/\//.test(v),
    'must start with postgres:// (leave it unset to use the embedded database)',
  ),
  // Connections each process keeps to Postgres: replicas x pool must fit max_connections.
  DATABASE_POOL_SIZE: z.coerce.number().int().min(2).max(200).default(10),
  // Seconds any one statement may run on Postgres (0: no limit). Set on serving replicas so a
  // runaway query cannot hold a connection; imports and training run in their own processes.
  DATABASE_STATEMENT_TIMEOUT: z.coerce.number().min(0).max(86_400).default(0),
  STORECAST_DATA_DIR: z.string().default('./data'),
  // Unset: demo data for the embedded database only; never into a production Postgres.
  STORECAST_DEMO: z.enum(['auto', 'never']).optional(),
  // false on the replicas of a chain: `storecast migrate` (a Job, once per release) applies the
  // migrations and replicas wait, not ready, until the schema is at their release.
  STORECAST_MIGRATE: booleanFlag(true),
  STORECAST_SHUTDOWN_TIMEOUT: z.coerce.number().min(1).max(3600).default(30),
  // On SIGTERM, /readyz answers 503 this long before the port closes, so a load balancer polling
  // it routes away first. Unset: 5 s with DATABASE_URL (replicas behind one), 0 embedded.
  STORECAST_DRAIN_SECONDS: z.coerce.number().min(0).max(600).optional(),
  STORECAST_TRAIN_ON_START: booleanFlag(true),
  // Training at chain scale (src/forecast/train.ts ScaleSettings): auto switches on above the
  // series count; on/off force it. Series per origin is what scale mode samples.
  STORECAST_TRAIN_SCALE: z.enum(['auto', 'on', 'off']).default('auto'),
  STORECAST_TRAIN_SCALE_SERIES: z.coerce.number().int().min(1).max(100_000_000).default(20_000),
  STORECAST_TRAIN_SCALE_SAMPLE: z.coerce.number().int().min(100).max(10_000_000).default(5_000),
  STORECAST_SECRET_KEY: optionalString.superRefine((v, ctx) => {
    if (v === undefined) return;
    const key = decodeKey(v);
    if (key?.length !== 32) ctx.addIssue({ code: 'custom', message: 'must be 32 bytes as 64 hex characters or base64 (openssl rand -hex 32)' });
    else {
      // A guessable key protects nothing: refuse it before it encrypts a single URL.
      const weakness = keyWeakness(key);
      if (weakness) ctx.addIssue({ code: 'custom', message: `is too weak to encrypt webhook URLs: ${weakness}. ${WEAK_KEY_ADVICE}` });
    }
  }),
  // Read by `storecast secret rotate` only: the key being retired, so it may be a weak one.
  STORECAST_OLD_SECRET_KEY: optionalString.refine((v) => v === undefined || decodeKey(v)?.length === 32, 'must be 32 bytes as 64 hex characters or base64: the key the stored webhook URLs are encrypted with'),
  PUBLIC_URL: urlString,
  // How long a console sign-in lasts (hours; fractions allowed) before /console is needed again.
  STORECAST_CONSOLE_SESSION_HOURS: z.coerce.number().min(0.1).max(720).default(12),
  STORECAST_OUTBOUND_ALLOW: allowList,
  // auto: restricted as soon as a chat adapter or a shared database is configured (secure by default).
  STORECAST_ACCESS: z.enum(['auto', 'open', 'restricted']).default('auto'),
  STORECAST_RATE_LIMIT: z.coerce.number().int().min(0).max(100_000).default(60),
  // Requests per minute per principal (token, console session, else client address) on /api/v1; 0: no limit.
  STORECAST_API_RATE_LIMIT: z.coerce.number().int().min(0).max(1_000_000).default(600),
  // Which X-Forwarded-For hops to believe (src/net/client-address.ts): unset, a hop count, or proxy addresses/networks.
  STORECAST_TRUST_PROXY: optionalString.transform((v, ctx) => {
    try {
      return parseTrustProxy(v);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  }),
  STORECAST_ADMINS: optionalString.superRefine((v, ctx) => {
    for (const key of (v ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
      try {
        parsePrincipal(key);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    }
  }),
  // Audit rows older than this are pruned (hourly, by the scheduler every replica runs).
  STORECAST_AUDIT_RETENTION_DAYS: z.coerce.number().int().min(1).max(36500).default(365),
  TF_BACKEND: z.enum(['auto', 'tensorflow', 'wasm', 'cpu']).default('auto'),
  // Scheduled retraining (docs/model-ops.md): weekly (default) or daily once new weeks arrived; off.
  STORECAST_RETRAIN: z.enum(['weekly', 'daily', 'off']).default('weekly'),
  // A challenger replaces the champion only when its held-out WMAE is lower by this share (0.02 = 2%).
  STORECAST_RETRAIN_MARGIN: z.coerce.number().min(0).max(0.5).default(0.02),
  // Latest weeks the champion and the challenger are compared on (within the challenger's validation weeks).
  STORECAST_RETRAIN_HOLDOUT_WEEKS: z.coerce.number().int().min(1).max(13).default(8),
  // Weeks ahead of every series logged when a model is registered, to measure its live accuracy.
  STORECAST_FORECAST_LOG_WEEKS: z.coerce.number().int().min(1).max(52).default(13),
  // Forecast origins kept in the stored forecasts table (src/forecast/stored.ts); older ones are pruned.
  STORECAST_FORECAST_RETENTION: z.coerce.number().int().min(2).max(520).default(4),
  // on: a serving replica computes the stored forecasts when they are behind (one across replicas); off: a job runner does (`storecast models precompute`).
  STORECAST_FORECAST_PRECOMPUTE: z.enum(['on', 'off']).default('on'),
  // Where retraining outcomes are posted: slack:<channel id> or discord:<channel id>.
  STORECAST_ADMIN_CHANNEL: optionalString.refine((v) => v === undefined || /^(slack|discord):[A-Za-z0-9_-]+$/.test(v), 'must be slack:<channel id> or discord:<channel id>, e.g. slack:C0123ABCD'),
  // Checked before the system font directories for the DejaVu Sans files charts are drawn with.
  STORECAST_FONT_DIR: optionalString,
  // Read by `storecast subscriptions create` only (keeps the URL, a credential, out of shell history).
  WEBHOOK_URL: optionalString,
  SLACK_SIGNING_SECRET: optionalString,
  SLACK_BOT_TOKEN: optionalString,
  SLACK_APP_TOKEN: optionalString,
  SLACK_API_URL: urlString,
  DISCORD_PUBLIC_KEY: optionalString.refine(
    (v) => v === undefined || /^[0-9a-fA-F]{64}$/.test(v),
    'must be the 64 hex characters shown as "Public Key" in the Discord developer portal',
  ),
  DISCORD_APP_ID: optionalString,
  DISCORD_BOT_TOKEN: optionalString,
  DISCORD_API_URL: urlString,
  DISCORD_MODE: z.enum(['http', 'gateway']).default('http'),
  // Email (alerts and weekly summaries): SMTP (smtp[s]://user:pass@host:port) or SendGrid's v3 API.
  SMTP_URL: optionalString.refine((v) => v === undefined || /^smtps?:\/\/[^\s]+$/.test(v), 'must be smtp://[user:pass@]host[:port] or smtps://...'),
  SENDGRID_API_KEY: optionalString,
  // SendGrid's API base (tests point it at a fake).
  SENDGRID_API_URL: urlString,
  // The From address of storecast's mail.
  EMAIL_FROM: optionalString.refine((v) => v === undefined || /^[^\r\n]*<?[^\s@<>]+@[^\s@<>]+>?$/.test(v), 'must be an address such as storecast@example.com or "storecast <storecast@example.com>"'),
  // How often every alert rule is evaluated on schedule (minutes), besides after each import.
  STORECAST_ALERT_EVERY_MINUTES: z.coerce.number().min(1).max(10_080).default(60),
  // Live alert rules one person or token may have: every rule is evaluated every round.
  STORECAST_ALERT_RULES_PER_PRINCIPAL: z.coerce.number().int().min(1).max(100_000).default(50),
  // How often (minutes) a console session re-reads its principal's Discord roles and grants.
  STORECAST_CONSOLE_RECHECK_MINUTES: z.coerce.number().min(0.1).max(1440).default(5),
});

export type Env = z.input<typeof envSchema>;

export interface Config {
  port: number;
  host: string;
  logLevel: LogLevel;
  logFormat: LogFormat;
  database: { kind: 'postgres'; url: string; poolSize?: number; statementTimeoutMs?: number } | { kind: 'pglite'; dataDir: string };
  demoData: 'auto' | 'never';
  /** Apply migrations when the database opens (STORECAST_MIGRATE); else wait for / require `storecast migrate`. */
  migrateOnStart: boolean;
  /** Longest graceful shutdown; then the process exits, logging what it abandoned. */
  shutdownTimeoutMs: number;
  /** Not ready but still answering, on SIGTERM, before the port closes (part of the shutdown deadline). */
  drainMs: number;
  trainOnStart: boolean;
  /** Training at chain scale: mode, the series count above which 'auto' turns it on, series sampled per origin. */
  trainScale: { mode: 'auto' | 'on' | 'off'; seriesThreshold: number; seriesPerOrigin: number };
  secretKey: Buffer | undefined;
  /** The key `storecast secret rotate` re-encrypts from (STORECAST_OLD_SECRET_KEY); nothing else reads it. */
  oldSecretKey: Buffer | undefined;
  publicUrl: string | undefined;
  /** Where people open this server, for links in answers (console sign-in): PUBLIC_URL, else http://localhost:PORT. */
  baseUrl: string;
  /** How long a web console session lasts (STORECAST_CONSOLE_SESSION_HOURS). */
  consoleSessionHours: number;
  /** Internal networks, addresses and host names that webhook targets may reach (src/net/outbound.ts). */
  outboundAllow: string[];
  access: AccessSettings & { why: string };
  /** Commands per minute per principal (0: no limit). */
  rateLimitPerMinute: number;
  /** /api/v1 requests per minute per principal or anonymous client (0: no limit). */
  apiRateLimitPerMinute: number;
  /** Which proxy headers say who the client is (none: the socket's peer). */
  trustProxy: TrustProxy;
  /** Days an audit row is kept (src/audit/). */
  auditRetentionDays: number;
  tfBackend: 'auto' | 'tensorflow' | 'wasm' | 'cpu';
  /** Model operations (docs/model-ops.md). */
  modelOps: {
    retrain: 'weekly' | 'daily' | 'off';
    margin: number;
    holdoutWeeks: number;
    logWeeks: number;
    /** Forecast origins kept in stored_forecasts (at least 2: alerts and summaries read the previous one). */
    forecastRetention: number;
    /** Whether `storecast serve` computes the stored forecasts when they are behind. */
    precompute: boolean;
    adminChannel: { platform: 'slack' | 'discord'; channel: string } | undefined;
  };
  /** A directory searched first for the chart fonts (charts/render.ts). */
  fontDir: string | undefined;
  /** The webhook URL `storecast subscriptions create` uses when --url is not given. */
  webhookUrl: string | undefined;
  slack: { signingSecret?: string; botToken?: string; appToken?: string; apiUrl?: string };
  discord: { publicKey?: string; appId?: string; botToken?: string; apiUrl?: string; mode: 'http' | 'gateway' };
  /** Mail transports (src/email/): SMTP when SMTP_URL is set, else SendGrid when its key is; neither: no email. */
  email: { smtpUrl?: string; sendgridApiKey?: string; sendgridApiUrl: string; from: string };
  /** Scheduled evaluation of every alert rule (src/alerts/), ms. */
  alertEveryMs: number;
  /** Live alert rules one principal may have (STORECAST_ALERT_RULES_PER_PRINCIPAL). */
  alertRulesPerPrincipal: number;
  /** How often a console session re-checks its principal's Discord roles and grants, ms (STORECAST_CONSOLE_RECHECK_MINUTES). */
  consoleRecheckMs: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** 64 hex characters or base64; hoisted so the schema above can check the decoded bytes. */
function decodeKey(v: string | undefined): Buffer | undefined {
  if (v === undefined) return undefined;
  return /^[0-9a-fA-F]{64}$/.test(v) ? Buffer.from(v, 'hex') : Buffer.from(v, 'base64');
}

/** Variables whose values an error message must not repeat (they end up in logs). */
const SECRET_VARIABLES = new Set([
  'DATABASE_URL',
  'STORECAST_SECRET_KEY',
  'STORECAST_OLD_SECRET_KEY',
  'SMTP_URL',
  'SENDGRID_API_KEY',
  'WEBHOOK_URL',
  'SLACK_SIGNING_SECRET',
  'SLACK_BOT_TOKEN',
  'SLACK_APP_TOKEN',
  'DISCORD_BOT_TOKEN',
]);

function shown(name: string, value: string | undefined): string {
  if (SECRET_VARIABLES.has(name) && value) return `(${value.length} characters, not shown)`;
  return JSON.stringify(value ?? '');
}

/**
 * Defaults that differ by program, for variables left unset: `serve` logs at info, one-shot
 * CLI commands at warn so that their own output is what the user reads.
 */
/** Open: everyone sees every store (a local demo); restricted: answers within grants (src/access/). */
export type AccessMode = 'open' | 'restricted';

export interface AccessSettings {
  mode: AccessMode;
  /** Principal keys that are admins of the chain whatever the grants say (STORECAST_ADMINS). */
  admins: readonly string[];
}

/** The access mode and why it is that mode (said in the start log). */
function accessSettings(e: z.infer<typeof envSchema>): AccessSettings & { why: string } {
  const admins = (e.STORECAST_ADMINS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (e.STORECAST_ACCESS !== 'auto') return { mode: e.STORECAST_ACCESS, admins, why: `STORECAST_ACCESS=${e.STORECAST_ACCESS}` };
  const reasons = [e.SLACK_BOT_TOKEN && 'Slack', e.DISCORD_PUBLIC_KEY && 'Discord', e.DISCORD_BOT_TOKEN && 'Discord', e.DATABASE_URL && 'DATABASE_URL'].filter(Boolean);
  if (reasons.length) return { mode: 'restricted', admins, why: `${[...new Set(reasons)].join(' and ')} configured` };
  return { mode: 'open', admins, why: 'local demo: no chat adapter and no DATABASE_URL' };
}

export interface ConfigDefaults {
  logLevel?: LogLevel;
}

export function loadConfig(env: Record<string, string | undefined> = process.env, defaults: ConfigDefaults = {}): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => `${i.path.join('.')}=${shown(String(i.path[0]), env[String(i.path[0])])}: ${i.message}`),
    );
  }
  const e = parsed.data;
  return {
    port: e.PORT,
    host: e.HOST,
    logLevel: e.LOG_LEVEL ?? defaults.logLevel ?? 'info',
    logFormat: e.LOG_FORMAT,
    database: e.DATABASE_URL
      ? { kind: 'postgres', url: e.DATABASE_URL, poolSize: e.DATABASE_POOL_SIZE, statementTimeoutMs: Math.round(e.DATABASE_STATEMENT_TIMEOUT * 1000) }
      : { kind: 'pglite', dataDir: e.STORECAST_DATA_DIR },
    demoData: e.STORECAST_DEMO ?? (e.DATABASE_URL ? 'never' : 'auto'),
    migrateOnStart: e.STORECAST_MIGRATE,
    shutdownTimeoutMs: e.STORECAST_SHUTDOWN_TIMEOUT * 1000,
    drainMs: (e.STORECAST_DRAIN_SECONDS ?? (e.DATABASE_URL ? 5 : 0)) * 1000,
    trainOnStart: e.STORECAST_TRAIN_ON_START,
    trainScale: { mode: e.STORECAST_TRAIN_SCALE, seriesThreshold: e.STORECAST_TRAIN_SCALE_SERIES, seriesPerOrigin: e.STORECAST_TRAIN_SCALE_SAMPLE },
    secretKey: decodeKey(e.STORECAST_SECRET_KEY),
    oldSecretKey: decodeKey(e.STORECAST_OLD_SECRET_KEY),
    publicUrl: e.PUBLIC_URL?.replace(/\/$/, ''),
    baseUrl: e.PUBLIC_URL?.replace(/\/$/, '') ?? `http://localhost:${e.PORT}`,
    consoleSessionHours: e.STORECAST_CONSOLE_SESSION_HOURS,
    outboundAllow: e.STORECAST_OUTBOUND_ALLOW,
    access: accessSettings(e),
    rateLimitPerMinute: e.STORECAST_RATE_LIMIT,
    apiRateLimitPerMinute: e.STORECAST_API_RATE_LIMIT,
    trustProxy: e.STORECAST_TRUST_PROXY,
    auditRetentionDays: e.STORECAST_AUDIT_RETENTION_DAYS,
    tfBackend: e.TF_BACKEND,
    modelOps: {
      retrain: e.STORECAST_RETRAIN,
      margin: e.STORECAST_RETRAIN_MARGIN,
      holdoutWeeks: e.STORECAST_RETRAIN_HOLDOUT_WEEKS,
      logWeeks: e.STORECAST_FORECAST_LOG_WEEKS,
      forecastRetention: e.STORECAST_FORECAST_RETENTION,
      precompute: e.STORECAST_FORECAST_PRECOMPUTE === 'on',
      adminChannel: e.STORECAST_ADMIN_CHANNEL
        ? { platform: e.STORECAST_ADMIN_CHANNEL.split(':')[0] as 'slack' | 'discord', channel: e.STORECAST_ADMIN_CHANNEL.slice(e.STORECAST_ADMIN_CHANNEL.indexOf(':') + 1) }
        : undefined,
    },
    fontDir: e.STORECAST_FONT_DIR,
    webhookUrl: e.WEBHOOK_URL,
    slack: {
      signingSecret: e.SLACK_SIGNING_SECRET,
      botToken: e.SLACK_BOT_TOKEN,
      appToken: e.SLACK_APP_TOKEN,
      apiUrl: e.SLACK_API_URL,
    },
    discord: {
      publicKey: e.DISCORD_PUBLIC_KEY,
      appId: e.DISCORD_APP_ID,
      botToken: e.DISCORD_BOT_TOKEN,
      apiUrl: e.DISCORD_API_URL,
      mode: e.DISCORD_MODE,
    },
    email: {
      smtpUrl: e.SMTP_URL,
      sendgridApiKey: e.SENDGRID_API_KEY,
      sendgridApiUrl: (e.SENDGRID_API_URL ?? 'https://api.sendgrid.com').replace(/\/$/, ''),
      from: e.EMAIL_FROM ?? 'storecast <storecast@localhost>',
    },
    alertEveryMs: e.STORECAST_ALERT_EVERY_MINUTES * 60_000,
    alertRulesPerPrincipal: e.STORECAST_ALERT_RULES_PER_PRINCIPAL,
    consoleRecheckMs: Math.round(e.STORECAST_CONSOLE_RECHECK_MINUTES * 60_000),
  };
}
