import { basename } from 'node:path';
import type { Command } from 'commander';
import { externalLoads } from '../../charts/inline.ts';
import { backupToFile, CREDENTIAL_TABLES, restoreFromFile, RestoreRefused, type RowCheck } from '../db/backup.ts';
import { dataChanged, wholeDatabaseChange } from '../data/changed.ts';
import { createForecaster } from '../forecast/index.ts';
import { EXIT_USAGE, printAfterEffects, withCli } from './context.ts';
import { cliAction } from './train.ts';

/**
 * `storecast backup FILE` and `storecast restore FILE [--force]` (src/db/backup.ts): every
 * table, one snapshot, gzip'd JSON lines; PGlite and Postgres in either direction.
 */

/**
 * What a restore re-checks in the tables it knows: a chart spec that loads from outside itself
 * (a planted `data.url`) is dropped, as the renderer would refuse it anyway.
 */
export const RESTORE_CHECKS: Record<string, RowCheck> = {
  charts: (row) => (row.spec && externalLoads(row.spec).length ? 'chart specs that load a file or URL' : undefined),
};

function report(verb: string, file: string, tables: { name: string; rows: number }[], seconds: number): string {
  const rows = tables.reduce((a, t) => a + t.rows, 0);
  return `${verb} ${tables.length} tables, ${rows.toLocaleString('en-US')} rows ${verb === 'Backed up' ? 'to' : 'from'} ${file} in ${seconds.toFixed(1)} s\n`;
}

export function register(program: Command): void {
  program
    .command('backup')
    .description('Write every table (data, models with weights, subscriptions, token hashes, audit) to FILE: one consistent snapshot, gzip-compressed.')
    .argument('<file>', 'where to write the backup (e.g. storecast-2026-11-30.jsonl.gz); created 0600')
    .action(
      cliAction(async (file: string) => {
        await withCli(
          async ({ db }) => {
            const started = performance.now();
            const { tables } = await backupToFile(db, file, (name, rows) => process.stderr.isTTY && process.stderr.write(`  ${name}: ${rows.toLocaleString('en-US')} rows\n`));
            process.stdout.write(report('Backed up', file, tables, (performance.now() - started) / 1000));
          },
          // Audited after the snapshot: the backup does not hold its own row.
        );
      }),
    );
  program
    .command('restore')
    .description(`Load a backup into this database (DATABASE_URL or the data directory); it must be empty unless --force. Credentials (${CREDENTIAL_TABLES.join(', ')}) are left out, and this database's own kept, unless --with-credentials.`)
    .argument('<file>', 'a file written by `storecast backup`')
    .option('--force', 'replace everything in a non-empty database')
    .option('--with-credentials', "also restore API tokens, grants and console sessions (replacing this database's)")
    .action(
      cliAction(async (file: string, opts: { force?: boolean; withCredentials?: boolean }) => {
        await withCli(
          async ({ db, config, logger }) => {
            const started = performance.now();
            try {
              const skipped: string[] = [];
              const onSkip = (name: string, rows: number, reason: string) => skipped.push(`  skipped ${name}: ${rows.toLocaleString('en-US')} rows (${reason})\n`);
              const tables = await restoreFromFile(db, file, { force: opts.force, withCredentials: opts.withCredentials, checks: RESTORE_CHECKS, onSkip });
              process.stdout.write(report('Restored', file, tables, (performance.now() - started) / 1000) + skipped.join(''));
              // Every table was replaced: the whole database changed, as far as what follows new data knows.
              printAfterEffects(await dataChanged({ db, forecaster: createForecaster(db, config, logger), logger }, wholeDatabaseChange('restore', `restore:${basename(file)}`)));
            } catch (err) {
              if (err instanceof RestoreRefused || (err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'Z_DATA_ERROR') {
                process.stderr.write(`restore refused: ${(err as Error).message}\n`);
                process.exitCode = EXIT_USAGE;
                return;
              }
              throw err;
            }
          },
          // Audited after the load: the restored log gains one row saying who restored it.
        );
      }),
    );
}
