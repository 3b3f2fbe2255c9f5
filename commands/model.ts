import { modelAccuracyChart } from '../charts/index.ts';
import { defineCommand, type CommandContext } from '../src/chat/command.ts';
import { UserError } from '../src/chat/errors.ts';
import { money, percent } from '../src/chat/format.ts';
import type { Fact, Reply } from '../src/chat/reply.ts';
import { liveAccuracy, type Accuracy, type LiveAccuracy } from '../src/forecast/forecast-log.ts';
import { activeVersion, getModel, listModels, type ModelSummary } from '../src/forecast/registry.ts';
import { recentRetrains } from '../src/forecast/retrain.ts';
import { latestRun } from '../src/forecast/stored.ts';
import { describeTraining, trainingStatus } from '../src/forecast/training-status.ts';
import { describeScope } from '../src/scope.ts';

/** Live WMAE this much above the backtest's, on at least this many scored weeks, is drift. */
const DRIFT_TOLERANCE = 0.25;
const DRIFT_MIN_WEEKS = 2;

const share = (v: number) => percent(v, { signed: false });

function accuracyLine(a: Accuracy): string {
  const vs = a.naive ? `; seasonal naive ${money(a.naive.wmae)} on the same rows (${percent(a.wmae / a.naive.wmae - 1)})` : '';
  return `WMAE ${money(a.wmae)}${vs}; MAE ${money(a.mae)}, bias ${money(a.bias)}, 80% coverage ${share(a.coverage)} — ${a.rows.toLocaleString('en-US')} rows over ${a.weeks} week${a.weeks === 1 ? '' : 's'}`;
}

/** The figure live accuracy is held to: the held-out comparison when it was retrained, else validation. */
function backtestOf(m: ModelSummary): { wmae: number; what: string } | undefined {
  const holdout = m.metrics?.holdout as { challenger?: { wmae: number; coverage: number }; weeks?: number; origin?: string } | undefined;
  if (holdout?.challenger) return { wmae: holdout.challenger.wmae, what: `held-out ${holdout.weeks} weeks after ${holdout.origin}` };
  const val = m.metrics?.valWmae;
  return typeof val === 'number' ? { wmae: val, what: `validation, last ${m.hyperparameters?.valWeeks ?? 13} weeks of training` } : undefined;
}

/** A warning when live accuracy falls behind the backtest or the baseline. */
export function driftWarning(live: LiveAccuracy, backtest: { wmae: number } | undefined): string | undefined {
  const a = live.overall;
  if (!a || a.weeks < DRIFT_MIN_WEEKS) return undefined;
  const problems: string[] = [];
  if (a.naive && a.wmae > a.naive.wmae) problems.push(`live WMAE ${money(a.wmae)} is behind seasonal naive's ${money(a.naive.wmae)}`);
  if (backtest && a.wmae > backtest.wmae * (1 + DRIFT_TOLERANCE)) problems.push(`live WMAE ${money(a.wmae)} is ${percent(a.wmae / backtest.wmae - 1)} off the backtest's ${money(backtest.wmae)}`);
  return problems.length ? `Drift: ${problems.join('; ')}. Consider /model retrain.` : undefined;
}

function modelFacts(m: ModelSummary, live: LiveAccuracy, others: ModelSummary[], retrains: Awaited<ReturnType<typeof recentRetrains>>): Fact[] {
  const bt = backtestOf(m);
  const facts: Fact[] = [
    { label: 'Model', value: `${m.name} v${m.version}${m.active ? ' (active)' : ''}, trained ${m.finishedAt?.slice(0, 16) ?? '-'} UTC on ${m.backend ?? '?'}` },
    { label: 'Training window', value: m.trainFrom && m.trainUntil ? `${m.trainFrom} .. ${m.trainUntil}` : '-' },
    ...(bt ? [{ label: 'Backtest', value: `WMAE ${money(bt.wmae)} (${bt.what})` }] : []),
    { label: 'Live accuracy', value: live.overall ? accuracyLine(live.overall) : `no scored weeks yet (${live.pending.toLocaleString('en-US')} forecasts await their actuals)` },
  ];
  if (live.byHorizon.length) facts.push({ label: 'By horizon', value: live.byHorizon.slice(0, 8).map((h) => `${h.key}w ${money(h.wmae)}`).join(', ') });
  if (live.served) facts.push({ label: 'Answers served', value: accuracyLine(live.served) });
  const candidates = others.filter((o) => o.status === 'ready' && !o.active && o.version > m.version);
  if (candidates.length) facts.push({ label: 'Candidates', value: candidates.map((c) => `v${c.version}`).join(', ') + ' (not active; `storecast models activate V`)' });
  const last = retrains[0];
  if (last) facts.push({ label: 'Last retrain', value: `#${last.id} ${last.status} (${last.trigger}, ${last.startedAt.slice(0, 16)} UTC)${last.reason ? `: ${last.reason}` : ''}` });
  return facts;
}

async function statusReply(ctx: CommandContext, version: number | undefined): Promise<Reply> {
  const reach = ctx.reach;
  const [chosen, training] = await Promise.all([version ?? activeVersion(ctx.db), trainingStatus(ctx.db)]);
  if (chosen === undefined) {
    if (training) {
      return {
        title: `Model v${training.version} is training`,
        summary: `No model is active yet: ${describeTraining(training)}. Until it is ready, forecasts come from seasonal naive and say so.`,
        facts: [{ label: 'Training', value: describeTraining(training) }],
        actions: [],
        visibility: 'ephemeral',
        context: {},
        data: { model: null, training },
      };
    }
    return { title: 'No active model', summary: 'No model is active yet: forecasts come from seasonal naive. An admin can train one with /model retrain or `storecast train`.', facts: [], actions: [], visibility: 'ephemeral', context: {}, data: { model: null, training: null } };
  }
  const m = await getModel(ctx.db, chosen);
  if (!m) throw new UserError(`Model v${chosen} does not exist.`, { code: 'not-found' });
  const stores = reach?.kind === 'stores' ? reach.stores : undefined;
  const live = await liveAccuracy(ctx.db, chosen, { holidayWeight: Number(m.hyperparameters?.holidayWeight ?? 5), stores });
  const [others, retrains, stored] = await Promise.all([listModels(ctx.db), recentRetrains(ctx.db, 1), latestRun(ctx.db, { version: chosen })]);
  const drift = driftWarning(live, backtestOf(m));
  const where = reach ? describeScope(reach) : 'the chain';
  const label = `${m.name} v${m.version}`;
  return {
    title: `Model ${label}${m.active ? ' (active)' : ''}: accuracy`,
    summary: live.overall
      ? `Live WMAE ${money(live.overall.wmae)} over ${live.overall.weeks} scored week${live.overall.weeks === 1 ? '' : 's'} in ${where}${live.overall.naive ? ` vs ${money(live.overall.naive.wmae)} for seasonal naive` : ''}.${drift ? ` ${drift}` : ''}`
      : `Model ${label} has no scored weeks yet in ${where}: its forecasts are scored as new weeks are imported.`,
    facts: [
      ...modelFacts(m, live, others, retrains),
      { label: 'Stored forecasts', value: stored ? `from ${stored.origin} (computed ${stored.finishedAt?.slice(0, 16) ?? '-'} UTC)` : 'not computed yet: answers come from the previous model or seasonal naive, saying so' },
      ...(training ? [{ label: 'Training', value: describeTraining(training) }] : []),
      ...(drift ? [{ label: 'Warning', value: drift }] : []),
    ],
    ...(live.byWeek.length
      ? {
          chart: {
            spec: modelAccuracyChart({
              title: `${label} · live accuracy by week`,
              subtitle: `${where} · forecasts from ${m.trainUntil ?? '?'} · error vs seasonal naive, and 80% interval coverage`,
              weeks: live.byWeek.map((w) => ({ week: w.key, wmae: w.wmae, naiveWmae: w.naive?.wmae ?? null, coverage: w.coverage })),
            }),
            alt: `Weekly WMAE of model ${label} against seasonal naive over ${live.byWeek.length} scored weeks, with the share of actuals inside the 80% interval each week.`,
          },
        }
      : {}),
    table: {
      columns: ['store', 'rows', 'wmae', 'naive_wmae', 'mae', 'bias', 'coverage_80'],
      rows: live.byStore.map((s) => [s.key, s.rows, round(s.wmae), s.naive ? round(s.naive.wmae) : null, round(s.mae), round(s.bias), round(s.coverage, 4)]),
      filename: `model-v${m.version}-live-accuracy-by-store.csv`,
    },
    actions: [],
    visibility: 'channel',
    context: { dataThrough: live.byWeek.at(-1)?.key, model: label },
    data: { model: m, live, drift: drift ?? null },
  };
}

const round = (v: number, digits = 2) => Math.round(v * 10 ** digits) / 10 ** digits;

export default defineCommand({
  name: 'model',
  description: 'The forecasting model: live accuracy vs seasonal naive, backtest, drift; retrain (admins).',
  options: [
    { name: 'action', type: 'choice', choices: ['status', 'retrain'], default: 'status', positional: true, description: 'status (default) or retrain (chain admins)' },
    { name: 'version', type: 'integer', min: 1, max: 2 ** 31 - 1, aliases: ['v'], description: 'Another model version (default: the active one)' },
  ],
  examples: ['/model', '/model version 3', '/model retrain'],
  accessFor: ({ action }) => (action === 'retrain' ? 'admin' : 'read'),
  // Accuracy is computed over every store's forecasts: a viewer of some stores sees theirs.
  reach: () => ({ kind: 'chain' }),
  async handler({ action, version }, ctx): Promise<Reply> {
    if (action === 'status') return statusReply(ctx, version);
    if (!ctx.retrain) throw new UserError('Retraining cannot be started from here; run `storecast train` on the server.', { code: 'unavailable' });
    const started = await ctx.retrain();
    return {
      title: !started.started ? 'Retrain not started' : started.queued ? `Retrain #${started.id} requested` : `Retrain #${started.id} started`,
      summary: !started.started
        ? `Not started: ${started.reason}.`
        : `${started.queued ? 'The worker (the replica that computes the stored forecasts) starts it within a minute: a challenger' : 'A challenger is'} training on all data to the last week (off the server’s event loop). It replaces the active model only if it beats it on the latest held-out weeks by the margin; the outcome goes to the admin channel and /model.`,
      facts: [],
      actions: [{ label: 'Model status', command: '/model' }],
      visibility: 'ephemeral',
      context: {},
      data: { retrain: started },
    };
  },
});
