import type { Database } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import type { Scope } from '../scope.ts';
import { salesDrivers, type Drivers } from './drivers.ts';
import { markdownImpact, type MarkdownImpact } from './markdowns.ts';
import { computeAndStore, dataVersion, memoByData, storedAnswer } from './memo.ts';
import { loadPanelColumns } from './panel.ts';
import { pollLoop, type PollLoop } from '../util/poll-loop.ts';

/**
 * The regressions over a whole area (/drivers and /markdown-impact of a store, a region, the
 * chain): read from the shared store when computed on the current data, computed once
 * otherwise. At 4,600 stores the chain's takes 3-6 s (reading 680k store-weeks alone ~2 s), so
 * after each import the replica that runs background work computes the chain's and every
 * region's (`refreshAreaAnswers`), and the first question after an import reads them.
 */
const AREA_QUESTIONS = {
  drivers: salesDrivers,
  'markdown-impact': markdownImpact,
} as const;

type AreaQuestion = keyof typeof AREA_QUESTIONS;

/** The one key an area answer is stored under: the command and its scope. */
const keyOf = (question: AreaQuestion, scope: Scope) => `${question} ${JSON.stringify(scope)}`;

const compute =
  <Q extends AreaQuestion>(db: Database, question: Q, scope: Scope) =>
  async (): Promise<ReturnType<(typeof AREA_QUESTIONS)[Q]>> =>
    AREA_QUESTIONS[question](await loadPanelColumns(db, scope)) as ReturnType<(typeof AREA_QUESTIONS)[Q]>;

export const areaDrivers = (db: Database, scope: Scope): Promise<Drivers | undefined> => memoByData(db, keyOf('drivers', scope), compute(db, 'drivers', scope));

export const areaMarkdownImpact = (db: Database, scope: Scope): Promise<MarkdownImpact | undefined> =>
  memoByData(db, keyOf('markdown-impact', scope), compute(db, 'markdown-impact', scope));

/** The areas computed ahead: the chain and each region (a store's answer takes well under a second). */
async function areasAhead(db: Database): Promise<Scope[]> {
  const regions = await db.query<{ region: string }>('SELECT DISTINCT region FROM stores WHERE region IS NOT NULL ORDER BY region');
  return [{ kind: 'chain' }, ...regions.map((r): Scope => ({ kind: 'region', region: r.region }))];
}

export interface AreaRefresh {
  version: string;
  /** Answers computed (the others were stored already at this version). */
  computed: number;
  ms: number;
}

/**
 * Computes every area answer ahead that is not stored at the data's current version, under a
 * lock so one replica does it; another replica's call waits for it and finds them stored. Stops early
 * (between answers) when the data moves again: the next refresh starts over on the new version.
 */
export async function refreshAreaAnswers(db: Database, logger?: Pick<Logger, 'info'>): Promise<AreaRefresh> {
  const started = performance.now();
  return db.withLock('analytics:area-answers', async () => {
    const version = await dataVersion(db);
    let computed = 0;
    for (const scope of await areasAhead(db)) {
      for (const question of Object.keys(AREA_QUESTIONS) as AreaQuestion[]) {
        if ((await dataVersion(db)) !== version) return { version, computed, ms: Math.round(performance.now() - started) };
        const key = keyOf(question, scope);
        if (await storedAnswer(db, key, version)) continue;
        await computeAndStore(db, key, version, compute(db, question, scope));
        computed++;
      }
    }
    const ms = Math.round(performance.now() - started);
    if (computed) logger?.info({ version, computed, ms }, 'area answers computed for the new data (/drivers, /markdown-impact of the chain and its regions)');
    return { version, computed, ms };
  });
}

/** The data must be unchanged this long first: a chain-wide week arrives in several ingest calls. */
const SETTLE_MS = 20_000;

/**
 * Keeps the area answers computed for the current data: every `everyMs` it reads the data
 * version, and once a new one has held `settleMs` it refreshes them. Runs on the replicas that do
 * background work (STORECAST_FORECAST_PRECOMPUTE=on); a job runner calls `refreshAreaAnswers`
 * through `storecast models precompute`.
 */
export function startAreaRefresh(deps: { db: Database; logger: Logger }, { everyMs = 10_000, settleMs = SETTLE_MS }: { everyMs?: number; settleMs?: number } = {}): PollLoop {
  let seen: { version: string; since: number } | undefined;
  let done: string | undefined;
  const tick = async () => {
    const version = await dataVersion(deps.db);
    if (version === 'none' || version === done) return;
    if (seen?.version !== version) seen = { version, since: performance.now() };
    if (performance.now() - seen.since < settleMs) return;
    const run = await refreshAreaAnswers(deps.db, deps.logger);
    if (run.version === version && (await dataVersion(deps.db)) === version) done = version;
  };
  const loop = pollLoop(tick, { pollMs: everyMs, again: () => false, log: deps.logger, name: 'area answers refresh' });
  loop.start();
  return loop;
}
