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
  /** 'queued': asked on a replica that does no model work; the worker runs it. */
  decision: 'promoted' | 'kept' | 'failed' | 'busy' | 'not-due' | 'queued';
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

/** What a request waiting for the worker says in /model until the worker takes it. */
const WAITING = 'waiting for the replica that does model work (STORECAST_FORECAST_PRECOMPUTE=on) to take it';

/** Why the one retrain slot is taken, or undefined. Runs under the lock. */
async function slotTaken(tx: Pick<Database, 'query'>): Promise<string | undefined> {
  const [running] = await tx.query<{ id: number; started: string }>(`SELECT id, started_at::text AS started FROM model_retrains WHERE status = 'running' AND lease_until > now() LIMIT 1`);
  if (running) return `retrain #${running.id} is running (started ${running.started.slice(0, 16)} UTC)`;
  // A training run outside retraining (on start, `storecast train`) holds the model slot: say so now, not after "started".
  if (await trainingInProgress(tx)) return 'a model is training (see `storecast models`)';
  return undefined;
}

/**
 * Claims the one retrain slot: a 'running' row with a lease, or why not. `queue`: this
 * replica does no model work, so the row is a request ('requested') the worker takes
 * (claimRequested); one request waits at a time.
 */
export async function claimRetrain(
  db: Database,
  trigger: RetrainTrigger,
  requestedBy: string | undefined,
  setting: Config['modelOps']['retrain'],
  mode: 'run' | 'queue' = 'run',
): Promise<{ id: number; queued?: true } | { busy: string } | { notDue: string }> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [RETRAIN_LOCK]);
    const taken = await slotTaken(tx);
    if (taken) return { busy: taken };
    const [waiting] = await tx.query<{ id: number; asked: string }>(`SELECT id, started_at::text AS asked FROM model_retrains WHERE status = 'requested' ORDER BY id LIMIT 1`);
    // A replica that trains (or an operator's `storecast train`) answers the waiting request
    // itself: without a worker it would otherwise wait, and refuse every run, for good.
    if (waiting && mode === 'run') {
      await tx.query(`UPDATE model_retrains SET status = 'running', reason = NULL, lease_until = now() + make_interval(mins => $2) WHERE id = $1`, [waiting.id, LEASE_MINUTES]);
      return { id: Number(waiting.id) };
    }
    if (waiting) return { busy: `retrain #${waiting.id}, asked ${waiting.asked.slice(0, 16)} UTC, is waiting for the worker` };
    if (trigger === 'schedule') {
      const why = await notDue(tx, setting);
      if (why) return { notDue: why };
    }
    const queued = mode === 'queue';
    const [row] = await tx.query<{ id: number }>(
      `INSERT INTO model_retrains (trigger, requested_by, status, reason, lease_until) VALUES ($1, $2, $3, $4, now() + make_interval(mins => $5)) RETURNING id`,
      [trigger, requestedBy ?? null, queued ? 'requested' : 'running', queued ? WAITING : null, queued ? 0 : LEASE_MINUTES],
    );
    return queued ? { id: Number(row?.id), queued: true } : { id: Number(row?.id) };
  });
}

/**
 * Takes the oldest request queued by a replica that does no model work, when the slot is free:
 * it becomes this replica's running retrain. Once across replicas (the same lock as claims).
 */
export async function claimRequested(db: Database): Promise<{ id: number; trigger: RetrainTrigger; requestedBy?: string } | undefined> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [RETRAIN_LOCK]);
    if (await slotTaken(tx)) return undefined;
    const [row] = await tx.query<{ id: number; trigger: RetrainTrigger; requested_by: string | null }>(
      `UPDATE model_retrains SET status = 'running', reason = NULL, lease_until = now() + make_interval(mins => $1)
        WHERE id = (SELECT id FROM model_retrains WHERE status = 'requested' ORDER BY id LIMIT 1)
        RETURNING id, trigger, requested_by`,
      [LEASE_MINUTES],
    );
    return row ? { id: Number(row.id), trigger: row.trigger, ...(row.requested_by ? { requestedBy: row.requested_by } : {}) } : undefined;
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
 * Busy or (scheduled) not due: the outcome at once, nothing started. Asked in chat or through
 * the API on a replica that does no model work (STORECAST_FORECAST_PRECOMPUTE=off): queued
 * for the worker, which takes it within REQUEST_POLL_MS; a serving replica never trains.
 */
export async function startRetrain(deps: RetrainDeps, options: RetrainOptions): Promise<{ id: number; done: Promise<RetrainOutcome> } | RetrainOutcome> {
  const asked = options.trigger === 'chat' || options.trigger === 'api';
  const mode = asked && !deps.config.modelOps.precompute ? 'queue' : 'run';
  const claim = await claimRetrain(deps.db, options.trigger, options.requestedBy, deps.config.modelOps.retrain, mode);
  if ('busy' in claim) return { decision: 'busy', reason: claim.busy };
  if ('notDue' in claim) return { decision: 'not-due', reason: claim.notDue };
  if (claim.queued) {
    deps.logger.info({ retrain: claim.id, trigger: options.trigger }, 'retrain queued for the worker');
    return { id: claim.id, decision: 'queued', reason: WAITING };
  }
  return { id: claim.id, done: runAndReport(deps, claim.id, options) };
}

async function runAndReport(deps: RetrainDeps, id: number, options: RetrainOptions): Promise<RetrainOutcome> {
  deps.logger.info({ retrain: id, trigger: options.trigger }, 'retrain started');
  const outcome = await runClaimed(deps, id, options);
  deps.logger.info({ retrain: id, decision: outcome.decision, reason: outcome.reason }, `retrain #${id}: ${outcome.decision}`);
  await notifyAdmins(deps, outcome).catch((err: unknown) => deps.logger.warn({ err }, 'retrain outcome not posted'));
  return outcome;
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
  if (!deps.config.modelOps.adminChannel || outcome.decision === 'not-due' || outcome.decision === 'busy' || outcome.decision === 'queued') return;
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

/** How often the replica that does model work looks for retrains queued by serving replicas. */
export const REQUEST_POLL_MS = 30_000;

/**
 * Checks every few minutes whether a scheduled retrain is due (any replica may run it, one
 * does) and, on a replica that does model work, every REQUEST_POLL_MS whether a serving
 * replica queued one. On the shared poll loop.
 */
export function startRetrainScheduler(deps: RetrainDeps, everyMs = 10 * 60_000, requestsEveryMs = REQUEST_POLL_MS): { stop(): Promise<void> } {
  const { retrain: setting, precompute: takesRequests } = deps.config.modelOps;
  if (setting === 'off' && !takesRequests) return { stop: async () => {} };
  const controller = new AbortController();
  let scheduleDue = Date.now() + everyMs;
  const tick = async () => {
    const asked = takesRequests ? await claimRequested(deps.db) : undefined;
    if (asked) return runAndReport(deps, asked.id, { trigger: asked.trigger, requestedBy: asked.requestedBy, signal: controller.signal });
    if (setting === 'off' || Date.now() < scheduleDue) return undefined;
    scheduleDue = Date.now() + everyMs;
    return retrain(deps, { trigger: 'schedule', signal: controller.signal });
  };
  const loop = pollLoop(tick, { pollMs: takesRequests ? Math.min(everyMs, requestsEveryMs) : everyMs, again: () => false, log: deps.logger, name: 'retrain scheduler', delayFirst: true });
  loop.start();
  return {
    async stop() {
      controller.abort();
      await loop.stop();
    },
  };
}
