import { writeFileSync } from 'node:fs';
import { Command as Program, InvalidArgumentError, Option } from 'commander';
import cliProgress from 'cli-progress';
import { createLogger } from './logger.ts';
import { EXIT_USAGE, exitIfDataDirBusy, loadCliConfig, printAfterEffects, withCli } from './cli/context.ts';
import { migrate, openPglite, openPostgres, schemaState } from './db/client.ts';
import { importFiles, ImportFileError, type ImportReport } from './data/import.ts';
import { DEMO, loadDemoData, writeChainCsv } from './data/demo.ts';
import { loadDemoStock } from './data/demo-stock.ts';
import { changeOfReports, dataChanged } from './data/changed.ts';
import { alertsCommand } from './cli/alerts.ts';
import { dataStats } from './data/stats.ts';
import { replyAsText } from './chat/reply.ts';
import { createServices } from './services.ts';
import { createForecaster } from './forecast/index.ts';
import { startServer } from './server.ts';
import { tokensCommand } from './cli/tokens.ts';
import { accessCommand } from './cli/access.ts';
import { subscriptionsCommand } from './cli/subscriptions.ts';
import { deliveriesCommand } from './cli/deliveries.ts';
import { auditCommand } from './cli/audit.ts';
import { consoleLinkCommand } from './cli/console.ts';
import { register as registerDiscordCli } from './cli/discord.ts';
import { register as registerTrain } from './cli/train.ts';
import { register as registerModels } from './cli/models.ts';
import { register as registerBacktest } from './cli/backtest.ts';
import { register as registerBackup } from './cli/backup.ts';
import { exitIfKeyRefused, secretCommand } from './cli/secret.ts';

// Positional options: an option after a subcommand is that subcommand's. Without it a group and
// its subcommand that both take --json (`models --json`, `models precompute --json`) gave the
// flag to the group, and the subcommand printed text.
const program = new Program('storecast')
  .description('Retail analytics chat-ops: forecasts, holiday impact and sales answers for Slack, Discord and webhooks.')
  .enablePositionalOptions()
  .showHelpAfterError();

program
  .command('serve')
  .description('Run the HTTP server (Slack, Discord, API, console). Loads demo data into an empty database.')
  .action(async () => {
    const config = loadCliConfig({ logLevel: 'info' });
    const logger = createLogger(config.logLevel, { format: config.logFormat });
    // A crash is logged like every other line (a log collector parses it; the terminal shows it
    // pretty); the logger writes synchronously, so the line is out before the exit.
    process.once('uncaughtException', (err) => {
      logger.fatal({ err }, 'storecast crashed');
      process.exit(1);
    });
    const running = await startServer(config, logger).catch(exitIfDataDirBusy).catch(exitIfKeyRefused);
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.once(signal, () => {
        // Exit non-zero when the deadline (STORECAST_SHUTDOWN_TIMEOUT) cut work short.
        void running.stop().then((abandoned) => process.exit(abandoned.length ? 1 : 0));
      });
    }
  });

program
  .command('migrate')
  .description('Apply this release\'s database migrations (once across replicas, under a lock) and exit: the Job before a rollout whose replicas run with STORECAST_MIGRATE=false.')
  .action(async () => {
    const config = loadCliConfig();
    const { database } = config;
    const started = performance.now();
    // Whatever STORECAST_MIGRATE says: applying them is this command's whole job.
    const db = database.kind === 'postgres' ? await openPostgres(database.url, { max: 2 }) : await openPglite(database.dataDir).catch(exitIfDataDirBusy);
    try {
      const before = await schemaState(db);
      await migrate(db, database.kind === 'postgres' ? database.url : undefined);
      const after = await schemaState(db);
      const applied = after.applied - before.applied;
      process.stdout.write(
        `${applied ? `applied ${applied} migration${applied > 1 ? 's' : ''}` : 'nothing to apply'}; the schema has ${after.applied} migration${after.applied === 1 ? '' : 's'} ` +
          `(this release knows ${after.known}) in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
      );
    } finally {
      await db.close();
    }
  });

function printReport(r: ImportReport): void {
  for (const row of r.rejected) process.stderr.write(`${r.source}:${row.line}: ${row.reason}\n`);
  // Reports list the first rejections only; a file of bad rows must not flood the terminal.
  const unlisted = r.rejectedCount - r.rejected.length;
  if (unlisted > 0) process.stderr.write(`${r.source}: ${unlisted} more rejected row${unlisted > 1 ? 's' : ''} not listed (the first ${r.rejected.length} are above)\n`);
  const verb = r.dryRun ? 'would accept' : 'accepted';
  process.stdout.write(
    `${r.source} (${r.format}): ${r.rowsRead} rows read, ${r.accepted} ${verb}` +
      (r.dryRun ? '' : ` (${r.inserted} new, ${r.updated} updated, ${r.unchanged} unchanged)`) +
      `, ${r.rejectedCount} rejected in ${(r.durationMs / 1000).toFixed(1)} s\n`,
  );
}

program
  .command('import')
  .description('Import CSV files, recognised by their header: Kaggle train/features/stores/test.csv, Walmart.csv or stock.csv.')
  .argument('<files...>', 'CSV files')
  .option('--dry-run', 'validate only; write nothing')
  .action(async (files: string[], opts: { dryRun?: boolean }) => {
    await withCli(async ({ db, config, logger }) => {
      const bars = process.stderr.isTTY ? new cliProgress.MultiBar({ format: ' {file} [{bar}] {percentage}% | {rows} rows', hideCursor: true }, cliProgress.Presets.shades_classic) : undefined;
      const barsByFile = new Map<string, cliProgress.SingleBar>();
      try {
        const reports = await importFiles(db, files, {
          dryRun: opts.dryRun,
          onProgress: (p) => {
            if (!bars) return;
            let bar = barsByFile.get(p.source);
            if (!bar) barsByFile.set(p.source, (bar = bars.create(p.totalBytes, 0, { file: p.source, rows: 0 })));
            bar.update(p.bytesRead, { rows: p.rows });
          },
        });
        bars?.stop();
        reports.forEach(printReport);
        // Rollups, forecast scoring, segments, demand and alert rules on the stores just imported
        // (src/data/changed.ts); alert notices go out from the running server.
        if (!opts.dryRun) printAfterEffects(await dataChanged({ db, forecaster: createForecaster(db, config, logger), logger }, changeOfReports('import', files.join(' '), reports)));
        const rejected = reports.reduce((a, r) => a + r.rejectedCount, 0);
        if (rejected > 0) process.stderr.write(`warning: ${rejected} row${rejected > 1 ? 's' : ''} rejected (listed above as file:line: reason); all other rows were kept.\n`);
      } catch (err) {
        bars?.stop();
        if (err instanceof ImportFileError) {
          process.stderr.write(`error: ${err.message}\n`);
          process.exitCode = EXIT_USAGE;
          return;
        }
        throw err;
      }
    });
  });

program
  .command('demo')
  .description('Load the deterministic demo data set (45 stores, ~80 departments, 143 weeks), or a generated chain of N stores.')
  .option('--stores <n>', 'generate a chain of N stores (1-9999; stores 1-45 are the demo\'s), streamed into the database', parseStoreCount)
  .option('--out <dir>', 'write stores.csv, features.csv and train.csv to this directory instead (for `storecast import`)')
  .action(async (opts: { stores?: number; out?: string }) => {
    if (opts.out) {
      const files = await writeChainCsv(opts.out, opts.stores ?? DEMO.stores);
      process.stdout.write(`wrote ${files.join(', ')}\n`);
      return;
    }
    await withCli(async ({ db, config, logger }) => {
      const reports = await loadDemoData(db, DEMO.seed, { stores: opts.stores });
      reports.push(await loadDemoStock(db));
      reports.forEach(printReport);
      printAfterEffects(await dataChanged({ db, forecaster: createForecaster(db, config, logger), logger }, changeOfReports('demo', 'demo', reports)));
    });
  });

function parseStoreCount(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 9999) throw new InvalidArgumentError('a whole number of stores from 1 to 9999, e.g. --stores 450');
  return n;
}

program
  .command('stats')
  .description('What is loaded: rows, stores, departments, first and last week.')
  .option('--json', 'print JSON')
  .action(async (opts: { json?: boolean }) => {
    await withCli(async ({ db }) => {
      const stats = await dataStats(db);
      if (opts.json) process.stdout.write(`${JSON.stringify(stats)}\n`);
      else for (const [k, v] of Object.entries(stats)) process.stdout.write(`${k.padEnd(18)} ${v ?? '-'}\n`);
    });
  });

program
  .command('ask')
  .description('Run a slash command or a plain question locally, e.g. storecast ask "/forecast store 5 week 12" --out f.png, storecast ask "how did store 5 do last week?" --json')
  .argument('<command>', 'the command line, with or without the leading slash, or a question in plain words')
  .option('--out <file>', 'write the chart PNG here')
  .option('--json', 'print the Reply as JSON')
  .addOption(new Option('--csv <file>', 'write the reply table as CSV here'))
  .action(async (line: string, opts: { out?: string; json?: boolean; csv?: string }) => {
    await withCli(async ({ config, db, logger }) => {
      const services = createServices({ config, db, logger, forecaster: createForecaster(db, config, logger) });
      // Loaded here: the question reader (and chrono-node) only for `ask`, not every subcommand.
      const { ask } = await import('./chat/plain/ask.ts');
      const outcome = await ask(services, line, { platform: 'cli', roles: [] });
      if (outcome.kind !== 'ok') {
        if (opts.json) process.stdout.write(`${JSON.stringify({ error: outcome.error, ...(outcome.readings ? { readings: outcome.readings } : {}) })}\n`);
        else process.stderr.write(`${replyAsText(outcome.reply)}\n`);
        process.exitCode = outcome.kind === 'user-error' ? EXIT_USAGE : 1;
        return;
      }
      const { reply } = outcome;
      if (opts.out && reply.chart) writeFileSync(opts.out, await services.renderChart(reply.chart.spec));
      if (opts.csv && reply.table) writeFileSync(opts.csv, (await import('./chat/reply.ts')).tableAsCsv(reply.table));
      // --json: the Reply as before, plus the line a plain question was read as.
      process.stdout.write(opts.json ? `${JSON.stringify(outcome.readAs ? { ...reply, readAs: outcome.readAs } : reply)}\n` : `${replyAsText(reply)}\n`);
      if (opts.out && !reply.chart) process.stderr.write('note: this reply has no chart; nothing written to --out\n');
    }, { audit: false }); // services.run audits the command itself
  });

// Subcommands owned by their modules: integrations and webhooks.
program.addCommand(tokensCommand());
program.addCommand(accessCommand());
program.addCommand(subscriptionsCommand());
program.addCommand(alertsCommand());
program.addCommand(deliveriesCommand());
program.addCommand(auditCommand());
program.addCommand(consoleLinkCommand());
program.addCommand(secretCommand());
registerDiscordCli(program);
registerTrain(program);
registerModels(program);
registerBacktest(program);
registerBackup(program);

await program.parseAsync(process.argv);
