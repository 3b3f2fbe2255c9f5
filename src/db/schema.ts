import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  date,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  smallint,
  text,
  timestamp,
} from 'drizzle-orm/pg-core';

// Weeks are the Friday that ends the sales week, kept as `date` and read as 'YYYY-MM-DD'
// strings so no time zone can shift a week.
const week = (name = 'week') => date(name, { mode: 'string' }).notNull();

export const stores = pgTable('stores', {
  storeId: integer('store_id').primaryKey(),
  // Nullable: a store-level file (Walmart.csv) names stores without their type or size.
  type: text('type'),
  size: integer('size'),
  region: text('region'),
  timezone: text('timezone'),
});

export const departments = pgTable('departments', {
  deptId: integer('dept_id').primaryKey(),
  name: text('name'),
});

export const weeklySales = pgTable(
  'weekly_sales',
  {
    storeId: integer('store_id').notNull(),
    deptId: integer('dept_id').notNull(),
    week: week(),
    // Negative weeks are real (returns exceed sales); never clamp them.
    sales: doublePrecision('sales').notNull(),
    isHoliday: boolean('is_holiday').notNull().default(false),
  },
  // The primary key only: every secondary index cost an import ~40% of its time, and chain,
  // department and week questions read the maintained aggregates (src/data/rollup.ts) instead.
  // Range-partitioned by week, one partition per quarter (drizzle/0017, src/db/partitions.ts),
  // which drizzle cannot declare: the migration makes it, writers add partitions.
  (t) => [primaryKey({ columns: [t.storeId, t.deptId, t.week] })],
);

/**
 * Store x week totals. Refreshed from weekly_sales on every import, or written directly by
 * store-level files (Walmart.csv) that carry no departments. Store, region and chain
 * questions read this table so they never scan 421k department rows.
 */
export const storeWeekSales = pgTable(
  'store_week_sales',
  {
    storeId: integer('store_id').notNull(),
    week: week(),
    sales: doublePrecision('sales').notNull(),
    isHoliday: boolean('is_holiday').notNull().default(false),
    deptCount: smallint('dept_count').notNull().default(0),
    source: text('source', { enum: ['departments', 'store-total'] }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.storeId, t.week] }), index('store_week_sales_week_idx').on(t.week)],
);

/**
 * Chain-wide department x week totals: the sum over every store and how many stores sold in the
 * department that week. Kept by the import batch that writes weekly_sales (src/data/rollup.ts),
 * by deltas, so department and /top depts answers read ~11k rows whatever the chain size.
 */
export const deptWeekSales = pgTable(
  'dept_week_sales',
  {
    deptId: integer('dept_id').notNull(),
    week: week(),
    sales: doublePrecision('sales').notNull(),
    storeCount: integer('store_count').notNull(),
    isHoliday: boolean('is_holiday').notNull().default(false),
  },
  (t) => [primaryKey({ columns: [t.deptId, t.week] }), index('dept_week_sales_week_idx').on(t.week)],
);

/**
 * Per store and holiday week: the holiday week's total and the mean of its neighbouring
 * non-holiday weeks (three each side) — what a chain or region holiday lift pools. Recomputed
 * from store_week_sales for the stores an import batch changed, so /holiday-impact all reads
 * ~11 rows per store instead of every store's whole history.
 */
export const storeHolidayWeeks = pgTable(
  'store_holiday_weeks',
  {
    storeId: integer('store_id').notNull(),
    week: week(),
    holidaySales: doublePrecision('holiday_sales').notNull(),
    baselineSales: doublePrecision('baseline_sales').notNull(),
    baselineWeeks: smallint('baseline_weeks').notNull(),
  },
  (t) => [primaryKey({ columns: [t.week, t.storeId] })],
);

export const storeFeatures = pgTable(
  'store_features',
  {
    storeId: integer('store_id').notNull(),
    week: week(),
    temperature: doublePrecision('temperature'),
    fuelPrice: doublePrecision('fuel_price'),
    markdown1: doublePrecision('markdown1'),
    markdown2: doublePrecision('markdown2'),
    markdown3: doublePrecision('markdown3'),
    markdown4: doublePrecision('markdown4'),
    markdown5: doublePrecision('markdown5'),
    cpi: doublePrecision('cpi'),
    unemployment: doublePrecision('unemployment'),
    isHoliday: boolean('is_holiday').notNull().default(false),
  },
  (t) => [primaryKey({ columns: [t.storeId, t.week] })],
);

export const holidays = pgTable(
  'holidays',
  {
    name: text('name').notNull(),
    week: week(),
  },
  (t) => [primaryKey({ columns: [t.week] }), index('holidays_name_idx').on(t.name)],
);

/** Weeks to forecast (Kaggle test.csv): the series and weeks integrations expect answers for. */
export const forecastWeeks = pgTable(
  'forecast_weeks',
  {
    storeId: integer('store_id').notNull(),
    deptId: integer('dept_id').notNull(),
    week: week(),
    isHoliday: boolean('is_holiday').notNull().default(false),
  },
  (t) => [primaryKey({ columns: [t.storeId, t.deptId, t.week] })],
);

export const importRuns = pgTable('import_runs', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  source: text('source').notNull(),
  format: text('format').notNull(),
  dryRun: boolean('dry_run').notNull().default(false),
  startedAt: timestamp('started_at', { withTimezone: true }).notNull().defaultNow(),
  finishedAt: timestamp('finished_at', { withTimezone: true }),
  rowsRead: integer('rows_read').notNull().default(0),
  rowsAccepted: integer('rows_accepted').notNull().default(0),
  rowsRejected: integer('rows_rejected').notNull().default(0),
  // The first rejected rows (file:line: reason); the count above is the full total.
  rejected: jsonb('rejected').$type<{ line: number; reason: string }[]>().notNull().default(sql`'[]'::jsonb`),
  status: text('status', { enum: ['running', 'succeeded', 'failed'] }).notNull().default('running'),
  error: text('error'),
});

// ---- Webhooks: API tokens, subscriptions, deliveries (src/delivery/, src/auth/) ----
// (Imported here, not at the top, so this section stays an append-only block.)
import { customType, uniqueIndex } from 'drizzle-orm/pg-core';

const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => 'bytea' });

/** Bearer tokens of the HTTP API. Only a SHA-256 of the token is stored; the token is shown once. */
export const apiTokens = pgTable('api_tokens', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  tokenHash: text('token_hash').notNull().unique(),
  scopes: text('scopes').array().notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
  revokedAt: timestamp('revoked_at', { withTimezone: true }),
});

/**
 * A weekly summary for a store, a region or the chain, posted to a webhook URL (encrypted at
 * rest, AES-256-GCM) or to the Slack/Discord channel it was requested from.
 */
export const webhookSubscriptions = pgTable(
  'webhook_subscriptions',
  {
    id: text('id').primaryKey(),
    kind: text('kind', { enum: ['weekly-summary'] }).notNull().default('weekly-summary'),
    scopeKind: text('scope_kind', { enum: ['store', 'region', 'chain'] }).notNull(),
    scopeValue: text('scope_value'),
    targetKind: text('target_kind', { enum: ['slack-webhook', 'discord-webhook', 'generic', 'slack-channel', 'discord-channel', 'email', 'recipients'] }).notNull(),
    /** Webhook URL, encrypted (v1:iv:tag:ciphertext); null for channel targets. */
    targetSecret: text('target_secret'),
    /** What may be shown of the target: host and the last characters, or the channel id. */
    targetHint: text('target_hint').notNull(),
    /** HMAC key of generic JSON deliveries, encrypted. */
    signingSecret: text('signing_secret'),
    workspace: text('workspace'),
    channel: text('channel'),
    weekday: smallint('weekday').notNull(),
    time: text('time').notNull(),
    timezone: text('timezone').notNull(),
    nextRunAt: timestamp('next_run_at', { withTimezone: true }).notNull(),
    createdBy: text('created_by'),
    /** The creator's Discord role ids when they subscribed: role grants count when access is re-checked at send time. */
    createdByRoles: text('created_by_roles').array().notNull().default(sql`'{}'::text[]`),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
    /** Set when a send found it may no longer be delivered (src/access/delivery.ts): one notice went, no more until it may again. */
    pausedAt: timestamp('paused_at', { withTimezone: true }),
    pausedReason: text('paused_reason'),
    /**
     * Set (`manager` | `viewer`): one direct message per principal holding that role on a store of
     * the scope, with their stores only (src/delivery/summaries/recipients.ts); target_kind is then `recipients`.
     */
    recipients: text('recipients', { enum: ['manager', 'viewer'] }),
  },
  (t) => [index('webhook_subscriptions_next_run_idx').on(t.nextRunAt)],
);

/** One row per subscription and week: the unique key is what keeps replicas from posting twice. */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: text('id').primaryKey(),
    subscriptionId: text('subscription_id')
      .notNull()
      .references(() => webhookSubscriptions.id, { onDelete: 'cascade' }),
    /** The local date (subscription time zone) of the scheduled run. */
    week: date('week', { mode: 'string' }).notNull(),
    status: text('status', { enum: ['pending', 'in_progress', 'retry', 'succeeded', 'dead', 'paused'] }).notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull().defaultNow(),
    leaseToken: text('lease_token'),
    leaseUntil: timestamp('lease_until', { withTimezone: true }),
    lastStatus: integer('last_status'),
    lastError: text('last_error'),
    /** The id in `charts` under which this delivery's PNG is served to Slack incoming webhooks. */
    chartToken: text('chart_token'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    deliveredAt: timestamp('delivered_at', { withTimezone: true }),
    /**
     * '' for the subscription's own delivery; on a per-recipient subscription that row fans out
     * into one row per recipient principal key (`slack:T/U`, `discord:G/U`), with the Discord roles
     * the member had then.
     */
    recipient: text('recipient').notNull().default(''),
    recipientRoles: text('recipient_roles').array(),
  },
  (t) => [
    uniqueIndex('webhook_deliveries_subscription_week_recipient_key').on(t.subscriptionId, t.week, t.recipient),
    index('webhook_deliveries_due_idx').on(t.status, t.nextAttemptAt),
    uniqueIndex('webhook_deliveries_chart_token_key').on(t.chartToken),
  ],
);

/** A recipient who stopped their own copy of a per-recipient subscription (the Stop button of their DM). */
export const subscriptionOptouts = pgTable(
  'subscription_optouts',
  {
    subscriptionId: text('subscription_id')
      .notNull()
      .references(() => webhookSubscriptions.id, { onDelete: 'cascade' }),
    recipient: text('recipient').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.subscriptionId, t.recipient] })],
);

/**
 * Chart images behind links (console replies, Slack incoming-webhook summaries), in the
 * database so every replica serves every link. A spec is rendered on first request and the
 * PNG kept; rows past `expires_at` are pruned.
 */
export const charts = pgTable(
  'charts',
  {
    /** Random, unguessable: the link is the only credential an image fetcher has. */
    id: text('id').primaryKey(),
    spec: jsonb('spec'),
    png: bytea('png'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('charts_expires_at_idx').on(t.expiresAt)],
);

// ---- Forecast model registry (src/forecast/registry.ts); reuses bytea/uniqueIndex above ----
/**
 * Trained forecasting models. The weights live here (bytea, written through a tfjs
 * IOHandler) so every replica serves the same model; exactly one row is active at a time
 * (partial unique index), and `storecast models activate V` moves that flag.
 * A row is inserted as 'training' when a training run claims the work (so replicas do not
 * train twice) and completed as 'ready' or 'failed'.
 */
export const modelRegistry = pgTable(
  'model_registry',
  {
    version: integer('version').primaryKey().generatedByDefaultAsIdentity(),
    name: text('name').notNull().default('global-mlp'),
    status: text('status', { enum: ['training', 'ready', 'failed'] }).notNull().default('training'),
    active: boolean('active').notNull().default(false),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    /** Renewed every minute while a process trains this row: a claim without one for minutes was abandoned (src/forecast/registry.ts). */
    heartbeatAt: timestamp('heartbeat_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    trainFrom: date('train_from', { mode: 'string' }),
    trainUntil: date('train_until', { mode: 'string' }),
    dataFingerprint: text('data_fingerprint'),
    hyperparameters: jsonb('hyperparameters').$type<Record<string, unknown>>(),
    backend: text('backend'),
    metrics: jsonb('metrics').$type<Record<string, unknown>>(),
    /** Model topology, weight specs, feature standardisation, interval calibration. */
    artifacts: jsonb('artifacts').$type<Record<string, unknown>>(),
    weights: bytea('weights'),
    error: text('error'),
  },
  (t) => [uniqueIndex('model_registry_one_active').on(t.active).where(sql`${t.active}`), index('model_registry_status_idx').on(t.status)],
);

// ---- Access control (src/access/) ----
/**
 * Who may see what: a principal (`slack:T1/U1`, `discord:G1/U2`, `discord-role:G1/R9`,
 * `token:<id>`) x a role (viewer < manager < admin) x a data scope (the chain, a region, a
 * store). Several grants may apply to one asker; the widest wins per scope.
 */
export const accessGrants = pgTable(
  'access_grants',
  {
    id: text('id').primaryKey(),
    principal: text('principal').notNull(),
    role: text('role', { enum: ['viewer', 'manager', 'admin'] }).notNull(),
    scopeKind: text('scope_kind', { enum: ['chain', 'region', 'store'] }).notNull(),
    /** Region name or store number; '' for the chain (so the unique key needs no expression). */
    scopeValue: text('scope_value').notNull().default(''),
    createdBy: text('created_by'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('access_grants_key').on(t.principal, t.role, t.scopeKind, t.scopeValue), index('access_grants_principal_idx').on(t.principal)],
);

/**
 * A channel's audience: answers are posted in the channel only when their data lies within
 * this scope (and the asker's); otherwise they go to the asker alone.
 */
export const channelScopes = pgTable(
  'channel_scopes',
  {
    platform: text('platform', { enum: ['slack', 'discord'] }).notNull(),
    workspace: text('workspace').notNull().default(''),
    channel: text('channel').notNull(),
    scopeKind: text('scope_kind', { enum: ['chain', 'region', 'store'] }).notNull(),
    scopeValue: text('scope_value').notNull().default(''),
    createdBy: text('created_by'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.platform, t.workspace, t.channel] })],
);

// ---- Audit log (src/audit/) ----
/**
 * Who did what, from where, with what outcome: one row per command (every surface) and per
 * /api/v1 call. Append-only (rows are only ever pruned past STORECAST_AUDIT_RETENTION_DAYS).
 * Never holds request bodies, query strings, webhook URLs or tokens: commands are stored
 * normalized (or clipped and redacted), API calls as method + route pattern + status.
 */
export const auditLog = pgTable(
  'audit_log',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
    /** `slack:T1/U1`, `discord:G1/U2`, `token:<id>`, a console session's key; `cli` (the server's shell); `anonymous`. */
    principal: text('principal').notNull(),
    platform: text('platform').notNull(),
    /** Slack team or Discord guild. */
    workspace: text('workspace'),
    channel: text('channel'),
    /** The command, normalized (`/forecast store 5 horizon 12`); null for API calls. */
    command: text('command'),
    /** API calls: the method and the route pattern (`/api/v1/subscriptions/:id`), never the query string. */
    method: text('method'),
    route: text('route'),
    status: smallint('status'),
    /** The data the command reached (describeScope), after any narrowing. */
    scope: text('scope'),
    outcome: text('outcome', { enum: ['ok', 'denied', 'user-error', 'internal'] }).notNull(),
    latencyMs: integer('latency_ms').notNull(),
    /** The reference users see ("ref 1a2b3c4d") and the logs carry. */
    ref: text('ref'),
    /** HTTP calls: the client's IP (the socket's, or a trusted proxy's word: STORECAST_TRUST_PROXY). */
    client: text('client'),
    /** Calls this row stands for: anonymous API calls count into one row per client, minute, route and status. */
    hits: integer('hits').notNull().default(1),
  },
  (t) => [index('audit_log_at_idx').on(t.at), index('audit_log_principal_idx').on(t.principal, t.at)],
);

// ---- Console sign-in (src/auth/console-sessions.ts) ----
/**
 * One-time sign-in links of the web console, made by /console in chat or `storecast
 * console-link`: bound to a principal, valid for minutes, used once (`used_at`). Only the
 * SHA-256 of the token is stored, so a database dump signs nobody in.
 */
export const consoleLoginTokens = pgTable(
  'console_login_tokens',
  {
    tokenHash: text('token_hash').primaryKey(),
    /** `slack:T1/U1` or `discord:G1/U2`: who the link signs in. */
    principal: text('principal').notNull(),
    /** The Discord member's role ids when the link was made, so discord-role grants apply. */
    roles: text('roles').array().notNull().default(sql`'{}'::text[]`),
    /** Where the link was asked for: slack, discord, cli. */
    issuedVia: text('issued_via').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    usedAt: timestamp('used_at', { withTimezone: true }),
  },
  (t) => [index('console_login_tokens_expires_at_idx').on(t.expiresAt)],
);

/**
 * Signed-in console sessions, in the database so every replica honours them. The cookie holds
 * a random id; only its SHA-256 is stored. Access is resolved from grants on every request,
 * so a revoked grant applies at once; the session only says who it is.
 */
export const consoleSessions = pgTable(
  'console_sessions',
  {
    idHash: text('id_hash').primaryKey(),
    principal: text('principal').notNull(),
    roles: text('roles').array().notNull().default(sql`'{}'::text[]`),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    /** When its Discord roles and grants were last re-checked (STORECAST_CONSOLE_RECHECK_MINUTES). */
    checkedAt: timestamp('checked_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('console_sessions_expires_at_idx').on(t.expiresAt), index('console_sessions_principal_idx').on(t.principal)],
);

// ---- Stock and alerts (src/stock/, src/alerts/); reuses uniqueIndex above ----
/**
 * Stock snapshots per store x department: on-hand value at retail on `as_of`, optionally an
 * order on its way (value and expected date) and the lead time of a new order. The natural key
 * makes a re-import harmless; cover always reads the latest snapshot of a series.
 */
export const stockSnapshots = pgTable(
  'stock_snapshots',
  {
    storeId: integer('store_id').notNull(),
    deptId: integer('dept_id').notNull(),
    asOf: date('as_of', { mode: 'string' }).notNull(),
    onHand: doublePrecision('on_hand').notNull(),
    onOrder: doublePrecision('on_order'),
    onOrderDate: date('on_order_date', { mode: 'string' }),
    leadTimeWeeks: doublePrecision('lead_time_weeks'),
  },
  (t) => [primaryKey({ columns: [t.storeId, t.deptId, t.asOf] }), index('stock_snapshots_as_of_idx').on(t.asOf)],
);

/**
 * Weekly demand forecasts (p10/p50/p90) per store x department, kept so that cover and
 * stock alerts read a row instead of running the forecaster for every department on every
 * stock ingest. Dropped for a store when its sales change (src/stock/demand.ts).
 */
export const demandForecasts = pgTable(
  'demand_forecasts',
  {
    storeId: integer('store_id').notNull(),
    deptId: integer('dept_id').notNull(),
    /** The first forecast week (the Friday after the last week of sales). */
    firstWeek: date('first_week', { mode: 'string' }).notNull(),
    model: text('model').notNull(),
    p10: jsonb('p10').$type<number[]>().notNull(),
    p50: jsonb('p50').$type<number[]>().notNull(),
    p90: jsonb('p90').$type<number[]>().notNull(),
    computedAt: timestamp('computed_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.storeId, t.deptId] })],
);

/**
 * Forecasts computed once per (model version, origin) and read by every replica (src/forecast/
 * stored.ts): one run row per computation, claimed like training (one running across replicas),
 * and its rows, one per series (a store's department, or dept 0: the store's total) holding the
 * weeks after the origin as arrays (index i = origin + i + 1 weeks). Regions and the chain are
 * summed from the store totals when read.
 */
export const forecastRuns = pgTable(
  'forecast_runs',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    modelVersion: integer('model_version').notNull(),
    /** The last week of data the forecasts start after. */
    origin: date('origin', { mode: 'string' }).notNull(),
    /** The sales data the run read (a re-import of the same weeks computes a new run). */
    dataStamp: text('data_stamp').notNull(),
    horizon: smallint('horizon').notNull(),
    status: text('status', { enum: ['running', 'ready', 'failed'] }).notNull().default('running'),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull().defaultNow(),
    /** Renewed every minute while running: a claim without one for minutes was abandoned. */
    heartbeatAt: timestamp('heartbeat_at', { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    series: integer('series'),
    stores: integer('stores'),
    seconds: doublePrecision('seconds'),
    peakRssMb: integer('peak_rss_mb'),
    error: text('error'),
  },
  (t) => [index('forecast_runs_version_idx').on(t.modelVersion, t.status, t.origin)],
);

export const storedForecasts = pgTable(
  'stored_forecasts',
  {
    runId: integer('run_id').notNull(),
    storeId: integer('store_id').notNull(),
    /** 0: the store's total. */
    deptId: integer('dept_id').notNull(),
    /** Cents (whole numbers): what every answer shows; as text a third of a float8's digits, so a chain-wide read is that much cheaper. */
    p10: bigint('p10', { mode: 'number' }).array().notNull(),
    p50: bigint('p50', { mode: 'number' }).array().notNull(),
    p90: bigint('p90', { mode: 'number' }).array().notNull(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.storeId, t.deptId] })],
);

/**
 * Alert rules: a condition on stock cover or sales over a scope, and where to say so. `state`
 * and `episode` move only through conditional UPDATEs (src/alerts/evaluate.ts), so however many
 * replicas evaluate at once, one of them opens (and closes) each episode.
 */
export const alertRules = pgTable(
  'alert_rules',
  {
    id: text('id').primaryKey(),
    kind: text('kind', { enum: ['stock', 'sales'] }).notNull(),
    scopeKind: text('scope_kind', { enum: ['store', 'region', 'chain'] }).notNull(),
    scopeValue: text('scope_value').notNull().default(''),
    deptId: integer('dept_id'),
    /** {type:'cover-below', weeks, basis} | {type:'below-forecast', pct?} | {type:'drop-vs-last-year', pct}. */
    condition: jsonb('condition').$type<Record<string, unknown>>().notNull(),
    targetKind: text('target_kind', { enum: ['slack-channel', 'discord-channel', 'slack-dm', 'discord-dm', 'webhook', 'email'] }).notNull(),
    /** Webhook URL or email address, encrypted (like subscription URLs); null for chat targets. */
    targetSecret: text('target_secret'),
    targetHint: text('target_hint').notNull(),
    workspace: text('workspace'),
    channel: text('channel'),
    createdBy: text('created_by'),
    createdByRoles: text('created_by_roles').array().notNull().default(sql`'{}'::text[]`),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
    state: text('state', { enum: ['ok', 'firing'] }).notNull().default('ok'),
    episode: integer('episode').notNull().default(0),
    firingSince: timestamp('firing_since', { withTimezone: true }),
    lastEvaluatedAt: timestamp('last_evaluated_at', { withTimezone: true }),
    /** What the last evaluation found (the departments at risk, the week and its numbers). */
    lastResult: jsonb('last_result').$type<Record<string, unknown>>(),
    snoozedUntil: timestamp('snoozed_until', { withTimezone: true }),
    acknowledgedEpisode: integer('acknowledged_episode'),
    acknowledgedBy: text('acknowledged_by'),
    /** As webhook_subscriptions.paused_at: its notices are held (one pause notice went) until it may deliver again. */
    pausedAt: timestamp('paused_at', { withTimezone: true }),
    pausedReason: text('paused_reason'),
    /**
     * SHA-256 of what the rule watches and where it notifies (src/alerts/rules.ts ruleKey): one live
     * rule per (scope, condition, target). Null on rules from before it; duplicates among those keep
     * null, so this index cannot fail on existing rows.
     */
    dedupeKey: text('dedupe_key'),
  },
  (t) => [
    index('alert_rules_scope_idx').on(t.scopeKind, t.scopeValue),
    uniqueIndex('alert_rules_dedupe_key').on(t.dedupeKey).where(sql`${t.deletedAt} IS NULL`),
    index('alert_rules_created_by_idx').on(t.createdBy),
  ],
);

/**
 * One notification per rule x episode x kind (firing, resolved): the unique key keeps replicas
 * from notifying twice; delivery claims and leases as webhook_deliveries do.
 */
export const alertNotifications = pgTable(
  'alert_notifications',
  {
    id: text('id').primaryKey(),
    ruleId: text('rule_id')
      .notNull()
      .references(() => alertRules.id, { onDelete: 'cascade' }),
    episode: integer('episode').notNull(),
    /** snoozed / acknowledged: the firing message edited in place (chat targets only). */
    kind: text('kind', { enum: ['firing', 'resolved', 'snoozed', 'acknowledged'] }).notNull(),
    /** The evaluation that opened or closed the episode: what the notice says. */
    detail: jsonb('detail').$type<Record<string, unknown>>().notNull(),
    status: text('status', { enum: ['pending', 'in_progress', 'retry', 'succeeded', 'dead', 'snoozed', 'paused'] }).notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull().defaultNow(),
    leaseToken: text('lease_token'),
    leaseUntil: timestamp('lease_until', { withTimezone: true }),
    lastStatus: integer('last_status'),
    lastError: text('last_error'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    deliveredAt: timestamp('delivered_at', { withTimezone: true }),
    /** Where a firing notice landed in chat (Slack channel + ts, Discord channel + message id): later changes edit it. */
    messageChannel: text('message_channel'),
    messageId: text('message_id'),
  },
  (t) => [uniqueIndex('alert_notifications_episode_key').on(t.ruleId, t.episode, t.kind), index('alert_notifications_due_idx').on(t.status, t.nextAttemptAt)],
);

// ---- Campaigns and store segments (src/campaigns/, src/analytics/segments.ts) ----
/**
 * A marketing campaign: its stores, the weeks it ran and, optionally, the control stores it is
 * judged against (none: matched automatically by segment and pre-period trajectory). Created
 * by /campaign create, POST /api/v1/campaigns or a campaigns CSV (src/data/formats.ts).
 */
export const campaigns = pgTable('campaigns', {
  /** Lower-case words joined by hyphens (`spring-push`): how every surface names it. */
  name: text('name').primaryKey(),
  stores: integer('stores').array().notNull(),
  controlStores: integer('control_stores').array(),
  startDate: date('start_date', { mode: 'string' }).notNull(),
  endDate: date('end_date', { mode: 'string' }).notNull(),
  notes: text('notes'),
  createdBy: text('created_by'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

/**
 * Stores clustered on seasonal profile, size, type and growth (k-means), refreshed after each
 * import that changes sales or stores, so control matching and `/top stores in segment 2`
 * read a table instead of clustering on a request.
 */
export const storeSegments = pgTable(
  'store_segments',
  {
    storeId: integer('store_id').primaryKey(),
    segment: smallint('segment').notNull(),
    name: text('name').notNull(),
    /** What the store was clustered on: size, type, growth, holiday share, seasonal profile. */
    profile: jsonb('profile').$type<Record<string, unknown>>().notNull(),
    refreshedAt: timestamp('refreshed_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('store_segments_segment_idx').on(t.segment)],
);

// ---- Model operations (src/forecast/forecast-log.ts, src/forecast/retrain.ts) ----
/**
 * Every forecast the product served or posted, once per model x series x origin x target
 * week, with the seasonal-naive forecast of the same series from the same origin beside it.
 * `actual` is filled in when the target week's sales arrive (import, ingest): live accuracy is
 * computed from the scored rows. dept_id 0 is a store total.
 */
export const forecastLog = pgTable(
  'forecast_log',
  {
    modelVersion: integer('model_version').notNull(),
    storeId: integer('store_id').notNull(),
    deptId: integer('dept_id').notNull(),
    origin: week('origin'),
    targetWeek: week('target_week'),
    horizon: smallint('horizon').notNull(),
    p10: doublePrecision('p10').notNull(),
    p50: doublePrecision('p50').notNull(),
    p90: doublePrecision('p90').notNull(),
    naiveP10: doublePrecision('naive_p10'),
    naiveP50: doublePrecision('naive_p50'),
    naiveP90: doublePrecision('naive_p90'),
    /** served: an answer (chat, API, summary); batch: every series, logged when a model is trained or new weeks arrive. */
    source: text('source', { enum: ['served', 'batch'] }).notNull(),
    loggedAt: timestamp('logged_at', { withTimezone: true }).notNull().defaultNow(),
    actual: doublePrecision('actual'),
    isHoliday: boolean('is_holiday'),
    scoredAt: timestamp('scored_at', { withTimezone: true }),
  },
  (t) => [
    primaryKey({ columns: [t.modelVersion, t.storeId, t.deptId, t.origin, t.targetWeek] }),
    index('forecast_log_target_idx').on(t.targetWeek, t.storeId, t.deptId),
  ],
);

/**
 * Retraining runs: who or what started one, the champion and the challenger scored on the same
 * held-out weeks, the decision and its reason. A 'running' row with a live lease is the claim
 * that keeps a second replica from retraining at the same time.
 */
export const modelRetrains = pgTable(
  'model_retrains',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    trigger: text('trigger', { enum: ['schedule', 'cli', 'chat', 'api'] }).notNull(),
    requestedBy: text('requested_by'),
    status: text('status', { enum: ['running', 'promoted', 'kept', 'failed'] }).notNull().default('running'),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull().defaultNow(),
    leaseUntil: timestamp('lease_until', { withTimezone: true }).notNull(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    dataThrough: date('data_through', { mode: 'string' }),
    championVersion: integer('champion_version'),
    challengerVersion: integer('challenger_version'),
    holdoutFrom: date('holdout_from', { mode: 'string' }),
    holdoutWeeks: smallint('holdout_weeks'),
    championWmae: doublePrecision('champion_wmae'),
    challengerWmae: doublePrecision('challenger_wmae'),
    naiveWmae: doublePrecision('naive_wmae'),
    margin: doublePrecision('margin'),
    reason: text('reason'),
  },
  (t) => [index('model_retrains_started_at_idx').on(t.startedAt)],
);

/**
 * Answers that change only with the data (drivers and markdown impact of a region or the chain:
 * seconds of regression at 4,600 stores), stored once for every replica: one row per question,
 * replaced when the data version it was computed on (analytics/memo.ts `dataVersion`) moves.
 */
export const analyticsResults = pgTable('analytics_results', {
  key: text('key').primaryKey(),
  dataVersion: text('data_version').notNull(),
  value: jsonb('value').$type<{ value?: unknown }>().notNull(),
  computeMs: integer('compute_ms').notNull(),
  computedAt: timestamp('computed_at', { withTimezone: true }).notNull().defaultNow(),
});
