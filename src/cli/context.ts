import { loadConfig, ConfigError, type Config, type ConfigDefaults } from '../config.ts';
import { readOperatorEndpoint, type OperatorEndpoint } from '../server/operator.ts';
import { recordAudit, type AuditOutcome } from '../audit/log.ts';
import { openDatabase, SchemaBehindError, type Database } from '../db/client.ts';
import { DataDirLockedError } from '../db/datadir.ts';
import { createLogger, type Logger } from '../logger.ts';
import type { DataChangedRun } from '../data/changed.ts';
import { ensureAggregates } from '../data/rollup.ts';

export interface CliContext {
  config: Config;
  db: Database;
  logger: Logger;
}

/** Exit codes: 0 ok, 1 internal failure, 2 the user's input was refused, 3 the data directory is in use. */
export const EXIT_USAGE = 2;
export const EXIT_BUSY = 3;

/**
 * Exits 3 with the holder's pid and what to do when another process holds the embedded data
 * directory (nothing was done); rethrows anything else.
 */
export function exitIfDataDirBusy(err: unknown): never {
  if (!(err instanceof DataDirLockedError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(EXIT_BUSY);
}

/** A one-shot command on a schema behind its release (STORECAST_MIGRATE=false): what to run, exit 1. */
function exitSchemaBehind(err: SchemaBehindError): never {
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
}

/** One-shot commands log at warn unless LOG_LEVEL says otherwise: their output is what the user reads. */
export const CLI_DEFAULTS: ConfigDefaults = { logLevel: 'warn' };

/** The configuration, or exit 2 with one line per bad variable. */
export function loadCliConfig(defaults: ConfigDefaults = CLI_DEFAULTS): Config {
  try {
    return loadConfig(undefined, defaults);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(EXIT_USAGE);
    }
    throw err;
  }
}

/**
 * Opens the configured database (migrating it), runs `fn`, always closes. Every CLI
 * subcommand goes through here so configuration errors read the same everywhere.
 */
/**
 * Runs a CLI subcommand on the database, and audits it: the operator's actions at the shell
 * (tokens, grants, subscriptions, rotations, imports) are admin actions like any other.
 * `audit: false` for subcommands that audit themselves (`ask` runs through services.run).
 */
export async function withCli<T>(
  fn: (ctx: CliContext) => Promise<T>,
  options: {
    audit?: boolean;
    /** The same action through the running server that holds the embedded database (server/operator.ts). */
    viaServer?: (endpoint: OperatorEndpoint) => Promise<T>;
  } = {},
): Promise<T> {
  const config = loadCliConfig();
  const logger = createLogger(config.logLevel, { format: config.logFormat });
  let db: Database;
  try {
    db = await openDatabase(config);
  } catch (err) {
    const endpoint = err instanceof DataDirLockedError && options.viaServer ? readOperatorEndpoint(err.dataDir, err.holder?.pid) : undefined;
    if (endpoint && options.viaServer) return options.viaServer(endpoint);
    if (err instanceof SchemaBehindError) exitSchemaBehind(err);
    return exitIfDataDirBusy(err);
  }
  const started = performance.now();
  let outcome: AuditOutcome = 'internal';
  try {
    // Sales from before the maintained aggregates existed: built before anything reads or adds to them.
    await ensureAggregates(db);
    const result = await fn({ config, db, logger });
    outcome = process.exitCode && process.exitCode !== 0 ? 'user-error' : 'ok';
    return result;
  } catch (err) {
    // The stack, for LOG_LEVEL=debug; the caller prints the one-line message (cliAction) or Node the rest.
    logger.debug({ err }, 'command failed');
    throw err;
  } finally {
    if (options.audit !== false) {
      // The command line as typed, redacted (URLs, tokens) by recordAudit; a failure to write it is logged, never fatal.
      const command = `storecast ${process.argv.slice(2).join(' ')}`;
      await recordAudit(db, { principal: 'cli', platform: 'cli', command, outcome, latencyMs: performance.now() - started }).catch((err: unknown) => logger.warn({ err }, 'audit row not written'));
    }
    await db.close();
  }
}

/** What the data-changed pipeline did that the operator should hear about. */
export function printAfterEffects(run: DataChangedRun): void {
  const alerts = run.alerts;
  if (alerts?.evaluated) process.stdout.write(`${alerts.evaluated} alert rule${alerts.evaluated > 1 ? 's' : ''} evaluated, ${alerts.fired.length} started firing, ${alerts.resolved.length} resolved\n`);
  if (alerts?.failed.length) process.stderr.write(`warning: ${alerts.failed.length} alert rule${alerts.failed.length > 1 ? 's' : ''} could not be evaluated (${alerts.failed.join(', ')}; the error is logged); their state is unchanged and the next evaluation tries again.\n`);
  if (run.failed.length) process.stderr.write(`warning: the data is in, but ${run.failed.join(', ')} could not be brought up to date after it (the error is logged); the next import or the server catches up.\n`);
}
