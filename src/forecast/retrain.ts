import type { Reply } from '../chat/reply.ts';
import type { Config } from '../config.ts';
import type { Database } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import { heartbeat } from '../util/heartbeat.ts';
import { pollLoop } from '../util/poll-loop.ts';
import { dataFingerprint, loadPanel } from './dataset.ts';
import { logForecasts } from './forecast-log.ts';
import { decide, type HoldoutComparison } from './holdout.ts';
import type { Hyperparameters } from './model.ts';
import { activateModel, activeVersion, claimTraining, failTraining, keepTrainingAlive, modelForWorker, saveTrainedModel, trainingInProgress } from './registry.ts';
import { ensureBackend } from './tf.ts';
import type { EpochReport } from './train.ts';
import { trainInWorker } from './worker-training.ts';

/**
 * Retraining: a challenger trained on all data to the last week, compared with the champion
 * (the active model) on the latest held-out weeks, promoted only when better by the margin
 * setting, else kept as a candidate. One retrain at a time across replicas: a 'running' row in
 * model_retrains with a lease, claimed under an advisory lock. Training runs on a worker thread.
 */

export type RetrainTrigger = 'schedule' | 'cli' | 'chat' | 'api';

export interface RetrainDeps {
  db: Database;
  config: Pick<Config, 'tfBackend' | 'modelOps'>;
  logger: Logger;
  /** Told to re-read the active model after a promotion (this process). */
  forecaster?: { invalidate(): void };
  /**
   * Posts the outcome to the operators' channel (STORECAST_ADMIN_CHANNEL), handed in by the
   * wiring (src/delivery/admin-channel.ts: model work sits below delivery in the layers).
   */
  announce?: (reply: Reply, id: string) => Promise<{ ok: boolean; error?: string }>;
}

export interface RetrainOptions {
  trigger: RetrainTrigger;
  requestedBy?: string;
  hyper?: Partial<Hyperparameters>;
  /** 'auto' (default): by the margin; 'never': register only. */
  promote?: 'auto' | 'never';
  onEpoch?: (r: EpochReport) => void;
  onStage?: (stage: string) => void;
  signal?: AbortSignal;
}

export interface RetrainOutcome {
  id?: number;
  decision: 'promoted' | 'kept' | 'failed' | 'busy' | 'not-due';
  reason: string;
  challenger?: number;
  champion?: number;
  holdout?: HoldoutComparison;
}

const RETRAIN_LOCK = 7261003;
// Renewed every minute by the running retrain: a replica that dies mid-run frees the slot within minutes.
const LEASE_MINUTES = 5;
const INTERVAL_DAYS: Record<Config['modelOps']['retrain'], number> = { weekly: 7, daily: 1, off: Infinity };

/** Why a scheduled retrain is not due now, or undefined when it is. Runs under the lock. */
async function notDue(tx: Pick<Database, 'query'>, setting: Config['modelOps']['retrain']): Promise<string | undefined> {
  if (setting === 'off') return 'scheduled retraining is off (STORECAST_RETRAIN=off)';
  const [row] = await tx.query<{ data_through: string | null; trained_until: string | null; recent: number }>(
    `SELECT (SELECT max(week)::text FROM weekly_sales) AS data_through,
            (SELECT train_until::text FROM model_registry WHERE active) AS trained_until,
            (SELECT count(*)::int FROM model_retrains WHERE started_at > now() - make_interval(days => $1)) AS recent`,
    [INTERVAL_DAYS[setting]],
  );
  if (!row?.trained_until) return 'no active model yet (the first one is trained at start)';
  if (!row.data_through || row.data_through <= row.trained_until) return `no new weeks since the active model's last week ${row.trained_until}`;
  if (row.recent > 0) return `a retrain ran less than ${INTERVAL_DAYS[setting]} day(s) ago`;
  return undefined;
}

/** Claims the one retrain slot: a 'running' row with a lease, or why not. */
export async function claimRetrain(db: Database, trigger: RetrainTrigger, requestedBy: string | undefined, setting: Config['modelOps']['retrain']): Promise<{ id: number } | { busy: string } | { notDue: string }> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [RETRAIN_LOCK]);
    const [running] = await tx.query<{ id: number; started: string }>(`SELECT id, started_at::text AS started FROM model_retrains WHERE status = 'running' AND lease_until > now() LIMIT 1`);
    if (running) return { busy: `retrain #${running.id} is running (started ${running.started.slice(0, 16)} UTC)` };
    // A training run outside retraining (on start, `storecast train`) holds the model slot: say so now, not after "started".
    if (await trainingInProgress(tx)) return { busy: 'a model is training (see `storecast models`)' };
    if (trigger === 'schedule') {
      const why = await notDue(tx, setting);
      if (why) return { notDue: why };
    }
    const [row] = await tx.query<{ id: number }>(
      `INSERT INTO model_retrains (trigger, requested_by, lease_until) VALUES ($1, $2, now() + make_interval(mins => $3)) RETURNING id`,
      [trigger, requestedBy ?? null, LEASE_MINUTES],
    );
    return { id: Number(row?.id) };
  });
}

async function finishRetrain(db: Database, id: number, o: RetrainOutcome, extra: { dataThrough?: string; margin: number }): Promise<void> {
  const h = o.holdout;
  await db.query(
    `UPDATE model_retrains SET status = $2, finished_at = now(), lease_until = now(), reason = $3, challenger_version = $4, champion_version = $5,
            holdout_from = $6::date, holdout_weeks = $7, challenger_wmae = $8, champion_wmae = $9, naive_wmae = $10, margin = $11, data_through = $12::date
      WHERE id = $1`,
    [id, o.decision, o.reason.slice(0, 2000), o.challenger ?? null, o.champion ?? null, h?.origin ?? null, h?.weeks ?? null, h?.challenger.wmae ?? null, h?.champion?.wmae ?? null, h?.naive.wmae ?? null, extra.margin, extra.dataThrough ?? null],
  );
}

/** Trains, compares, decides and records; the claimed row is finished whatever happens. */
async function runClaimed(deps: RetrainDeps, id: number, options: RetrainOptions): Promise<RetrainOutcome> {
  const { db, config, logger } = deps;
  const margin = config.modelOps.margin;
  const stopHeartbeat = heartbeat(() => db.query(`UPDATE model_retrains SET lease_until = now() + make_interval(mins => $2) WHERE id = $1 AND status = 'running'`, [id, LEASE_MINUTES]), 60_000);
  let version: number | undefined;
  let stopModelHeartbeat = () => {};
  let dataThrough: string | undefined;
  try {
    version = await claimTraining(db);
    if (version === undefined) throw new Error('another training run is in progress (see `storecast models`)');
    stopModelHeartbeat = keepTrainingAlive(db, version);
    await ensureBackend(config.tfBackend, logger);
    options.onStage?.('loading');
    const panel = await loadPanel(db, { signal: options.signal });
    dataThrough = panel.weeks.at(-1);
    const championVersion = await activeVersion(db);
    const champion = championVersion === undefined ? undefined : await modelForWorker(db, championVersion);
    const trained = await trainInWorker(
      { panel, hyper: options.hyper ?? {}, backend: config.tfBackend, champion, holdoutWeeks: Math.min(config.modelOps.holdoutWeeks, options.hyper?.valWeeks ?? 13), logWeeks: config.modelOps.logWeeks },
      { onEpoch: options.onEpoch, onStage: options.onStage, signal: options.signal },
    );
    options.onStage?.('saving');
    const holdout = trained.holdout;
    await saveTrainedModel(db, version, trained.model, { backend: trained.backend, dataFingerprint: await dataFingerprint(db), extraMetrics: { holdout, retrain: id } }, false);
    trained.model.network.dispose();
    await logForecasts(db, version, 'batch', trained.batch);
    const decision = holdout ? decide(holdout, version, margin) : { promote: championVersion === undefined, reason: 'no held-out comparison' };
    const wanted = decision.promote && options.promote !== 'never';
    const promote = wanted && (await activateModel(db, version, { replacing: championVersion ?? null }));
    if (promote) deps.forecaster?.invalidate();
    const reason = !decision.promote
      ? decision.reason
      : !wanted
        ? `${decision.reason.replace(/, promoted$/, '')}; not promoted (--no-activate)`
        : promote
          ? decision.reason
          : `${decision.reason.replace(/, promoted$/, '')}; not promoted: the active model changed during the retrain`;
    const outcome: RetrainOutcome = { id, decision: promote ? 'promoted' : 'kept', reason, challenger: version, champion: championVersion, holdout };
    await finishRetrain(db, id, outcome, { dataThrough, margin });
    return outcome;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (version !== undefined) await failTraining(db, version, err).catch(() => {});
    const outcome: RetrainOutcome = { id, decision: 'failed', reason: message, challenger: version };
    await finishRetrain(db, id, outcome, { dataThrough, margin }).catch(() => {});
    logger.error({ err, retrain: id }, 'retrain failed');
    return outcome;
  } finally {
    stopHeartbeat();
    stopModelHeartbeat();
  }
}

/**
 * Claims the retrain slot and starts the run: `done` settles with the outcome (never rejects).
 * Busy or (scheduled) not due: the outcome at once, nothing started.
 */
export async function startRetrain(deps: RetrainDeps, options: RetrainOptions): Promise<{ id: number; done: Promise<RetrainOutcome> } | RetrainOutcome> {
  const claim = await claimRetrain(deps.db, options.trigger, options.requestedBy, deps.config.modelOps.retrain);
  if ('busy' in claim) return { decision: 'busy', reason: claim.busy };
  if ('notDue' in claim) return { decision: 'not-due', reason: claim.notDue };
  deps.logger.info({ retrain: claim.id, trigger: options.trigger }, 'retrain started');
  const done = (async () => {
    const outcome = await runClaimed(deps, claim.id, options);
    deps.logger.info({ retrain: claim.id, decision: outcome.decision, reason: outcome.reason }, `retrain #${claim.id}: ${outcome.decision}`);
    await notifyAdmins(deps, outcome).catch((err: unknown) => deps.logger.warn({ err }, 'retrain outcome not posted'));
    return outcome;
  })();
  return { id: claim.id, done };
}

/** One retrain, if the slot is free (and, scheduled, if it is due), to its end. Never throws. */
export async function retrain(deps: RetrainDeps, options: RetrainOptions): Promise<RetrainOutcome> {
  const started = await startRetrain(deps, options);
  return 'done' in started ? started.done : started;
}

/** The outcome as a Reply: what the admin channel, /model retrain and the CLI show. */
export function retrainReply(o: RetrainOutcome): Reply {
  const h = o.holdout;
  const title = o.decision === 'promoted' ? `Model v${o.challenger} promoted` : o.decision === 'kept' ? `Model v${o.challenger} kept as a candidate` : `Retrain ${o.decision}`;
  const money = (v: number) => v.toLocaleString('en-US', { maximumFractionDigits: 0 });
  return {
    title,
    summary: o.reason,
    facts: h
      ? [
          { label: 'Held-out weeks', value: `${h.weeks} after ${h.origin} (${h.rows.toLocaleString('en-US')} rows)` },
          { label: 'Challenger WMAE', value: `${money(h.challenger.wmae)} (80% coverage ${(h.challenger.coverage * 100).toFixed(1)}%)` },
          ...(h.champion ? [{ label: `Champion v${h.champion.version} WMAE`, value: `${money(h.champion.wmae)} (80% coverage ${(h.champion.coverage * 100).toFixed(1)}%)` }] : []),
          { label: 'Seasonal naive WMAE', value: money(h.naive.wmae) },
        ]
      : [],
    actions: [],
    visibility: 'ephemeral',
    context: {},
    data: { retrain: o },
  };
}

async function notifyAdmins(deps: RetrainDeps, outcome: RetrainOutcome): Promise<void> {
  if (!deps.config.modelOps.adminChannel || outcome.decision === 'not-due' || outcome.decision === 'busy') return;
  if (!deps.announce) return void deps.logger.warn({ retrain: outcome.id }, 'retrain outcome not posted: no platform posting wired');
  const result = await deps.announce(retrainReply(outcome), `retrain-${outcome.id}`);
  if (!result.ok) deps.logger.warn({ retrain: outcome.id, error: result.error }, 'retrain outcome not posted to the admin channel');
}

/** The latest retrains, newest first (for /model and `storecast models`). */
export async function recentRetrains(db: Database, limit = 5): Promise<{ id: number; trigger: string; status: string; startedAt: string; challenger: number | null; reason: string | null }[]> {
  const rows = await db.query<{ id: number; trigger: string; status: string; started_at: string; challenger_version: number | null; reason: string | null }>(
    `SELECT id, trigger, status, started_at::text AS started_at, challenger_version, reason FROM model_retrains ORDER BY id DESC LIMIT $1`,
    [limit],
  );
  return rows.map((r) => ({ id: Number(r.id), trigger: r.trigger, status: r.status, startedAt: r.started_at, challenger: r.challenger_version === null ? null : Number(r.challenger_version), reason: r.reason }));
}

/** Checks every few minutes whether a scheduled retrain is due; any replica may run it, one does. On the shared poll loop. */
export function startRetrainScheduler(deps: RetrainDeps, everyMs = 10 * 60_000): { stop(): Promise<void> } {
  if (deps.config.modelOps.retrain === 'off') return { stop: async () => {} };
  const controller = new AbortController();
  const tick = () => retrain(deps, { trigger: 'schedule', signal: controller.signal });
  const loop = pollLoop(tick, { pollMs: everyMs, again: () => false, log: deps.logger, name: 'retrain scheduler', delayFirst: true });
  loop.start();
  return {
    async stop() {
      controller.abort();
      await loop.stop();
    },
  };
}
