/**
 * Combination experiments without retraining: the network's forecasts are the slow part of a
 * backtest (training), and they do not depend on the statistical members or on how members
 * are combined. So:
 *
 *   npx tsx bench/backtest-cached.ts --dump /tmp/fc-cache --origins 2011-10-28,2012-01-27
 *       # trains at each origin (weeks <= origin only) and saves the network's forecasts of
 *       # the three inner origins (as ensemble.ts fitEnsemble asks them) and of the origin
 *   npx tsx bench/backtest-cached.ts --cached /tmp/fc-cache --origins 2011-10-28,2012-01-27
 *       # from those files: every member, the combination fitted on the inner window exactly
 *       # (--members a,b,c and --optional d to try a candidate registered below in place of one)
 *       # as ensemble.ts does, scored; the same figures as bench/backtest.ts
 *
 * The cached run re-computes the statistical members, so a change to members.ts or
 * combination.ts is measured in seconds. WALMART_DIR as in bench/backtest.ts.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { openDatabase } from '../src/db/client.ts';
import { importFiles } from '../src/data/import.ts';
import { baselinePredictions, scoreMethod } from '../src/forecast/backtest.ts';
import { correlatedAverage, DEFAULT_NEIGHBOURS, NEIGHBOURS, neighbourSet } from '../src/forecast/correlated.ts';
import { calibrateCombination, chooseWeights, combineSeries, fitCombination, subsetRows, weightsFor, type InnerRows } from '../src/forecast/combination.ts';
import { loadPanel } from '../src/forecast/dataset.ts';
import { concatRows, INNER_BUCKETS, innerRows, MEMBER_NAMES, statMemberForecasts, targetTypeShares } from '../src/forecast/ensemble.ts';
import { DEFAULT_HYPERPARAMETERS, type Calibration } from '../src/forecast/model.ts';
import { harmonic } from '../src/forecast/harmonic.ts';
import { quantileSorted } from '../src/forecast/seasonal-naive.ts';
import { memberCompute, OPTIONAL_MEMBERS, registerCandidate, registerCorrelated } from '../src/forecast/members.ts';
import { buildPanel, gridIndex, type Panel, type PanelSeries, type SalesRow } from '../src/forecast/panel.ts';
import { ensureBackend } from '../src/forecast/tf.ts';
import { Wmae } from '../src/forecast/wmae.ts';
import { networkForecast, trainNetwork, type SeriesForecast } from '../src/forecast/train.ts';

const argv = process.argv.slice(2);
const opt = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const origins = (opt('--origins') ?? '2011-10-28,2012-01-27,2012-04-27').split(',');
const horizonArg = Number(opt('--horizon') ?? 39);
const dataDir = process.env.WALMART_DIR ?? fileURLToPath(new URL('../../shared/data/walmart', import.meta.url));
const hyper = DEFAULT_HYPERPARAMETERS;
for (const k of [8, 12, 16, 20]) registerCandidate(`harmonic${k}`, (st, si, infos, out) => harmonic(st, si, infos, out, k));
// Sixth round: correlated-store averaging (correlated.ts) over each statistical member, of the
// SVD-smoothed history (`-nn`) or of the raw one (`-raw-nn`: the member on the unsmoothed
// history, as the winner's stlf.nn; svd-naive-raw-nn is members.ts' naive-nn), with other
// neighbour counts (`-nnK`, `-nn5-0.6`: minimum correlation 0.6).
/** The winner's rule as measured first: every store above 0.95 when more than k are. */
const W95 = { ...DEFAULT_NEIGHBOURS, levelAll: 0.95 };
for (const m of ['svd-naive', 'stl-ets', 'product', 'harmonic']) {
  const base = memberCompute(m);
  if (!base) continue;
  registerCandidate(`${m}-raw`, (st, si, infos, out) => base({ ...st, smooth: st.filled }, si, infos, out));
  registerCorrelated(`${m}-raw-nn`, `${m}-raw`, W95);
  registerCorrelated(`${m}-nn`, m, W95);
  for (const k of [3, 10]) registerCorrelated(`${m}-nn${k}`, m, { ...W95, k });
  registerCorrelated(`${m}-nn5-0.6`, m, { ...W95, levelMin: 0.6 });
}
// naive-nn (members.ts) with other neighbour rules, and with svd-naive as the base of a store
// without neighbours (`naive-nn-h`: the raw naive only where the correlated stores smooth it).
for (const [name, options] of [['naive-nn3', { ...W95, k: 3 }], ['naive-nn10', { ...W95, k: 10 }], ['naive-nn-0.6', { ...W95, levelMin: 0.6 }], ['naive-nn-0.7', { ...W95, levelMin: 0.7 }], ['naive-nn-0.9', { ...W95, levelMin: 0.9 }], ['naive-nn-all95', { levelAll: 0.95 }], ['naive-nn-0.6c', { levelMin: 0.6 }], ['naive-nn-0.7c', { levelMin: 0.7 }]] as const) registerCorrelated(name, 'naive-raw', { ...DEFAULT_NEIGHBOURS, ...options });
{
  const raw = memberCompute('naive-raw');
  const svd = memberCompute('svd-naive');
  if (raw && svd) {
    registerCandidate('naive-raw-or-svd', (st, si, infos, out) => (neighbourSet(st.panel, st.origin, si).length > 1 ? raw : svd)(st, si, infos, out));
    registerCorrelated('naive-nn-h', 'naive-raw-or-svd', W95);
  }
}

/**
 * --dump loads through the database as the backtest does (the network reads store types and
 * covariates); --cached needs sales alone and reads train.csv directly (1 s instead of ~75 s).
 */
async function loadSales(): Promise<Panel> {
  if (!opt('--cached')) {
    const db = await openDatabase({ database: { kind: 'pglite', dataDir: 'memory://' } });
    await importFiles(db, [`${dataDir}/stores.csv`, `${dataDir}/features.csv`, `${dataDir}/train.csv`]);
    const p = await loadPanel(db);
    await db.close();
    return p;
  }
  const rows: SalesRow[] = [];
  for (const line of readFileSync(`${dataDir}/train.csv`, 'utf8').split('\n').slice(1)) {
    const [store, dept, week, sales, holiday] = line.split(',');
    if (week) rows.push({ store: Number(store), dept: Number(dept), week, sales: Number(sales), isHoliday: holiday?.trim() === 'TRUE' });
  }
  return buildPanel(rows);
}
const panel = await loadSales();

interface Saved {
  origin: number;
  horizon: number;
  /** Inner origin and its forecasts (bucket b from until - (b + 1) x valWeeks), then the scored origin's. */
  runs: { at: number; horizon: number; series: number[]; p10: number[]; p50: number[]; p90: number[] }[];
}

const pack = (at: number, horizon: number, fc: readonly SeriesForecast[]): Saved['runs'][number] => ({
  at,
  horizon,
  series: fc.map((f) => f.series),
  p10: fc.flatMap((f) => [...f.p10].map((v) => Math.round(v * 100) / 100)),
  p50: fc.flatMap((f) => [...f.p50].map((v) => Math.round(v * 100) / 100)),
  p90: fc.flatMap((f) => [...f.p90].map((v) => Math.round(v * 100) / 100)),
});
const unpack = (r: Saved['runs'][number]): SeriesForecast[] =>
  r.series.map((si, k) => {
    const part = (a: number[]) => Float64Array.from(a.slice(k * r.horizon, (k + 1) * r.horizon));
    return { series: si, weeks: [], p10: part(r.p10), p50: part(r.p50), p90: part(r.p90) };
  });

/** The series fitEnsemble forecasts from inner origin `inner` (no scale-mode sample). */
const innerIds = (p: Panel, inner: number, until: number) =>
  p.series.map((_, i) => i).filter((i) => (p.series[i] as PanelSeries).first <= inner && (p.series[i] as PanelSeries).last > until - hyper.valWeeks);

async function dump(dir: string): Promise<void> {
  await ensureBackend('auto');
  mkdirSync(dir, { recursive: true });
  for (const o of origins) {
    const until = gridIndex(panel, o);
    const horizon = Math.min(horizonArg, panel.weeks.length - 1 - until);
    const started = performance.now();
    // --seed N: another draw of the network (initial weights and shuffling), for bagging runs.
    const model = await trainNetwork(panel, { until: o, hyper: opt('--seed') ? { seed: Number(opt('--seed')) } : {} });
    const runs: Saved['runs'] = [];
    for (let b = 0; b < INNER_BUCKETS; b++) {
      const inner = until - (b + 1) * hyper.valWeeks;
      runs.push(pack(inner, (b + 1) * hyper.valWeeks, await networkForecast(model, panel, inner, innerIds(panel, inner, until), (b + 1) * hyper.valWeeks)));
    }
    const ids = panel.series.map((_, i) => i).filter((i) => (panel.series[i] as PanelSeries).first <= until);
    runs.push(pack(until, horizon, await networkForecast(model, panel, until, ids, horizon)));
    model.network.dispose();
    writeFileSync(`${dir}/${o}.json`, JSON.stringify({ origin: until, horizon, runs } satisfies Saved));
    process.stdout.write(`${o}: trained and saved in ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
  }
}

/**
 * --dept-cv: the department weights at other pulls (0 = the global weights, 1 = each
 * department's own), judged as combination.ts `groupCheck` judges GROUP_SHRINK: each half of
 * the inner target weeks scored with weights fitted on the other half.
 */
function departmentCv(rows: InnerRows): void {
  const shrinks = [0, 0.25, 0.5, 0.75, 1];
  const num = shrinks.map(() => 0);
  let den = 0;
  const dept = rows.group as Int32Array;
  const fold = (i: number) => ((rows.week?.[i] as number) < Math.ceil(hyper.valWeeks / 2) ? 0 : 1);
  for (let b = 0; b < 2; b++) {
    const fitRows = (i: number) => fold(i) !== b;
    const global = chooseWeights(subset(rows, fitRows), hyper.holidayWeight);
    const own = new Map<number, number[]>();
    for (const d of new Set(dept)) own.set(d, chooseWeights(subset(rows, (i) => fitRows(i) && dept[i] === d), hyper.holidayWeight));
    for (let i = 0; i < rows.n; i++) {
      if (fitRows(i)) continue;
      const wt = rows.holiday[i] ? hyper.holidayWeight : 1;
      den += wt;
      shrinks.forEach((sh, j) => {
        const o = own.get(dept[i] as number) as number[];
        let f = 0;
        global.forEach((g, k) => (f += (sh * (o[k] as number) + (1 - sh) * g) * ((rows.preds[k] as Float64Array)[i] as number)));
        num[j] = (num[j] as number) + wt * Math.abs((rows.y[i] as number) - f);
      });
    }
  }
  process.stdout.write(`  department weights, each half of the inner weeks held out: ${shrinks.map((sh, j) => `pull ${sh} ${((num[j] as number) / den).toFixed(1)}`).join(', ')}\n`);
}

type Run = { at: number; network: SeriesForecast[]; members: Map<string, Map<number, Float64Array>> };

/** Per series: actual over combined forecast of `run` on weeks from..to (sums), NaN when too little. */
function residualRatios(run: Run, names: readonly string[], weights: readonly number[], from: number, to: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const f of run.network) {
    const y = (panel.series[f.series] as PanelSeries).y;
    let ys = 0;
    let fs = 0;
    let n = 0;
    for (let t = from; t <= to; t++) {
      const v = y[t] as number;
      if (Number.isNaN(v)) continue;
      const h = t - run.at - 1;
      let c = 0;
      names.forEach((m, k) => (c += (weights[k] as number) * (((m === 'model' ? f.p50 : run.members.get(m)?.get(f.series)) ?? f.p50)[h] as number)));
      ys += v;
      fs += c;
      n++;
    }
    if (n >= 8 && ys > 0 && fs > 0) out.set(f.series, ys / fs);
  }
  return out;
}

/**
 * --residual CLAMP: the level the combination missed over the last 13 weeks (actual / the
 * combined forecast made 13 weeks before the origin), carried into the forecast as ratio^lambda,
 * lambda chosen on the inner window (the same correction one step earlier: the forecast from
 * until - 26 over weeks until - 25 .. until - 13, applied to the one from until - 13).
 */
function residualLevel(runs: readonly Run[], names: readonly string[], weights: readonly number[], until: number, combined: Map<number, { p10: Float64Array; p50: Float64Array; p90: Float64Array }>, clamp: number): void {
  const [r1, r2] = runs as [Run, Run];
  const earlier = residualRatios(r2, names, weights, until - 25, until - 13);
  const latest = residualRatios(r1, names, weights, until - 12, until);
  const factor = (r: number | undefined, lambda: number) => (r === undefined ? 1 : Math.min(clamp, Math.max(1 / clamp, r)) ** lambda);
  let best = 0;
  let bestW = Infinity;
  const cells: string[] = [];
  for (const lambda of [-0.3, -0.2, -0.1, 0, 0.1, 0.2, 0.3, 0.5]) {
    const w = new Wmae(hyper.holidayWeight);
    for (const f of r1.network) {
      const y = (panel.series[f.series] as PanelSeries).y;
      const c = factor(earlier.get(f.series), lambda);
      for (let t = until - 12; t <= until; t++) {
        const v = y[t] as number;
        if (Number.isNaN(v)) continue;
        const h = t - r1.at - 1;
        let p = 0;
        names.forEach((m, k) => (p += (weights[k] as number) * (((m === 'model' ? f.p50 : r1.members.get(m)?.get(f.series)) ?? f.p50)[h] as number)));
        w.add(Math.abs(v - c * p), panel.holidayWeeks.has(panel.weeks[t] as string));
      }
    }
    cells.push(`${lambda}: ${w.value().toFixed(1)}`);
    if (w.value() < bestW - 1e-9) {
      bestW = w.value();
      best = lambda;
    }
  }
  const scoredBy = (lambda: number) => {
    const wm = new Wmae(hyper.holidayWeight);
    for (const [si, fc] of combined) {
      const c = factor(latest.get(si), lambda);
      const y = (panel.series[si] as PanelSeries).y;
      fc.p50.forEach((p, h) => {
        const v = y[until + h + 1] as number;
        if (v !== undefined && !Number.isNaN(v)) wm.add(Math.abs(v - c * p), panel.holidayWeeks.has(panel.weeks[until + h + 1] as string));
      });
    }
    return wm.value().toFixed(1);
  };
  process.stdout.write(`  residual level (clamp ${clamp}): inner by lambda ${cells.join(', ')} -> ${best}; scored ${[-0.3, -0.2, -0.1, 0, 0.1, 0.2].map((l) => `${l}: ${scoredBy(l)}`).join(', ')}\n`);
}

/** The rows for which `keep` holds. */
function subset(rows: InnerRows, keep: (i: number) => boolean): InnerRows {
  const idx: number[] = [];
  for (let i = 0; i < rows.n; i++) if (keep(i)) idx.push(i);
  return subsetRows(rows, idx);
}

/** The element-wise mean of several dumps of one origin (the same series and horizons). */
function averageRuns(all: Saved[]): Saved {
  const first = all[0] as Saved;
  const mean = (pick: (s: Saved) => number[]) => pick(first).map((_, i) => all.reduce((a, s) => a + (pick(s)[i] as number), 0) / all.length);
  return {
    ...first,
    runs: first.runs.map((r, k) => ({ ...r, p10: mean((s) => (s.runs[k] as Saved['runs'][number]).p10), p50: mean((s) => (s.runs[k] as Saved['runs'][number]).p50), p90: mean((s) => (s.runs[k] as Saved['runs'][number]).p90) })),
  };
}

function cached(dir: string): void {
  const names = (opt('--members') ?? MEMBER_NAMES.join(',')).split(',');
  const statNames = names.filter((m) => m !== 'model' && !m.startsWith('model-nn'));
  // model-nn[K]: the network's own forecasts averaged over each store's correlated stores
  // (correlated.ts); a neighbour the network did not forecast is left out of the set.
  const withModelNn = (at: number, network: readonly SeriesForecast[], members: Map<string, Map<number, Float64Array>>) => {
    const byId = new Map(network.map((f) => [f.series, f.p50]));
    for (const m of names.filter((x) => x.startsWith('model-nn'))) {
      const k = Number(m.slice('model-nn'.length) || NEIGHBOURS);
      const out = new Map<number, Float64Array>();
      for (const f of network) {
        const set = neighbourSet(panel, at, f.series, { ...W95, k }).filter((n) => byId.has(n));
        const a = new Float64Array(f.p50.length);
        correlatedAverage(panel, at, f.series, set, (n) => byId.get(n) as Float64Array, a);
        out.set(f.series, a);
      }
      members.set(m, out);
    }
    return members;
  };
  const out: Record<string, unknown>[] = [];
  for (const o of origins) {
    // DIR1,DIR2,...: the networks of several dumps (seeds) averaged, quantile by quantile.
    const saved = averageRuns(dir.split(',').map((d) => JSON.parse(readFileSync(`${d}/${o}.json`, 'utf8')) as Saved));
    const until = saved.origin;
    const started = performance.now();
    const innerRuns = saved.runs.slice(0, -1).map((r) => {
      const network = unpack(r);
      return { at: r.at, network, members: withModelNn(r.at, network, statMemberForecasts(panel, r.at, network.map((f) => f.series), r.horizon, hyper.svdRank, statNames)) };
    });
    // --no-groups: one weight vector for every department (the combination before the eighth round).
    const parts = innerRuns.map((r, b) => {
      const part = innerRows(panel, r.at, until - hyper.valWeeks, until, b, r.network, names.map((m) => r.members.get(m) ?? new Map()));
      return argv.includes('--no-groups') ? { ...part, group: undefined } : part;
    });
    const rows = concatRows(parts);
    if (argv.includes('--dept-cv')) departmentCv(rows);
    const settings = fitCombination(names, rows, hyper.holidayWeight, { innerOrigin: panel.weeks[until - hyper.valWeeks] as string, innerWeeks: hyper.valWeeks }, parts.length, (opt('--optional') ?? OPTIONAL_MEMBERS.join(',')).split(','), argv.includes('--unweighted') ? undefined : targetTypeShares(panel.weeks[until] as string, hyper.valWeeks, INNER_BUCKETS));
    // --calm-calibration: the interval calibrated on the inner rows of non-holiday weeks only.
    if (argv.includes('--calm-calibration')) {
      const calm = subset(rows, (i) => rows.holiday[i] === 0);
      settings.bucketCalibration = parts.map((_, b) => calibrateCombination(calm, settings.weights, b));
      process.stdout.write(`  calm calibration ${settings.bucketCalibration.map((c) => `${c.lower.toFixed(3)}/${c.upper.toFixed(3)}`).join(' ')}\n`);
    }
    // --groups bucket: one weight vector per horizon bucket, each chosen on its bucket's rows.
    const perBucket = opt('--groups') === 'bucket' ? parts.map((_, b) => chooseWeights(subset(rows, (i) => rows.bucket?.[i] === b), hyper.holidayWeight)) : undefined;
    const bucketCal = perBucket?.map((w, b) => calibrateCombination(rows, w, b));
    const combineAt = (p50s: readonly Float64Array[], f: SeriesForecast, horizon: number) => {
      if (!perBucket || !bucketCal) return combineSeries({ ...settings, weights: weightsFor(settings, (panel.series[f.series] as PanelSeries).dept) }, p50s, f, horizon);
      const outp = { p10: new Float64Array(horizon), p50: new Float64Array(horizon), p90: new Float64Array(horizon) };
      for (let b = 0; b < perBucket.length; b++) {
        const part = combineSeries({ weights: perBucket[b] as number[], calibration: bucketCal[b] as Calibration }, p50s, f, horizon);
        for (let h = 13 * b; h < (b === perBucket.length - 1 ? horizon : Math.min(13 * (b + 1), horizon)); h++) {
          outp.p10[h] = part.p10[h] as number;
          outp.p50[h] = part.p50[h] as number;
          outp.p90[h] = part.p90[h] as number;
        }
      }
      return outp;
    };
    if (perBucket) process.stdout.write(`  per-bucket weights ${perBucket.map((w) => w.map((v) => v.toFixed(3)).join('/')).join('  ')}\n`);
    const last = saved.runs.at(-1) as Saved['runs'][number];
    const network = unpack(last);
    const members = withModelNn(until, network, statMemberForecasts(panel, until, network.map((f) => f.series), last.horizon, hyper.svdRank, statNames));
    const combined = new Map<number, { p10: Float64Array; p50: Float64Array; p90: Float64Array }>();
    const single = new Map<string, Map<number, { p10: Float64Array; p50: Float64Array; p90: Float64Array }>>(names.map((m) => [m, new Map()]));
    for (const f of network) {
      const p50s = names.map((m) => (m === 'model' ? f.p50 : (members.get(m)?.get(f.series) ?? f.p50)));
      combined.set(f.series, combineAt(p50s, f, last.horizon));
      names.forEach((m, k) => single.get(m)?.set(f.series, combineSeries({ weights: [1], calibration: { lower: 1, upper: 1 } }, [p50s[k] as Float64Array], f, last.horizon)));
    }
    if (argv.includes('--oracle-weights')) oracleWeights(until, last.horizon, network, members, names);
    if (opt('--residual')) residualLevel(innerRuns, names, settings.weights, until, combined, Number(opt('--residual')));
    const base = baselinePredictions(panel, until, last.horizon, hyper.svdRank);
    const score = (name: string, preds: Parameters<typeof scoreMethod>[4]) => scoreMethod(name, panel, until, last.horizon, preds, hyper.holidayWeight);
    const c = score('combined', combined);
    const sn = score('seasonal-naive', base['seasonal-naive'] ?? new Map()).wmae;
    const svd = score('svd-seasonal-naive', base['svd-seasonal-naive'] ?? new Map()).wmae;
    const memberCells = names.map((m, k) => `${m} ${settings.innerWmae[m]?.toFixed(0)}/${score(m, single.get(m) ?? new Map()).wmae.toFixed(0)} (${settings.weights[k]?.toFixed(3)})`);
    process.stdout.write(
      `${o} h${last.horizon}  SN ${sn.toFixed(0)} SVD-SN ${svd.toFixed(0)}  combined inner ${settings.innerWmae.combined?.toFixed(1)} scored ${c.wmae.toFixed(1)} = ${(c.wmae / sn).toFixed(3)}x SN ${(c.wmae / svd).toFixed(3)}x SVD-SN cov ${c.coverage.toFixed(3)}  | ${memberCells.join('  ')}  ${((performance.now() - started) / 1000).toFixed(0)} s\n`,
    );
    // The inner-window check: the conformal scores (|actual - p50| over the half-width on its side) of calm, peak and Christmas-season inner rows, per bucket.
    const typeCheck = parts.map((part) => {
      const sc: [number[], number[], number[]] = [[], [], []];
      for (let i = 0; i < part.n; i++) {
        let f = 0;
        settings.weights.forEach((w, k) => (f += w * ((part.preds[k] as Float64Array)[i] as number)));
        const y = part.y[i] as number;
        sc[part.weekType?.[i] ?? 0]?.push(y < f ? (f - y) / Math.max(part.lower[i] as number, 1e-6) : (y - f) / Math.max(part.upper[i] as number, 1e-6));
      }
      const q80 = (a: number[]) => (a.length ? quantileSorted(Float64Array.from(a).sort(), 0.8).toFixed(3) : '-');
      return `calm ${q80(sc[0])} (${sc[0].length}) peak ${q80(sc[1])} (${sc[1].length}) season ${q80(sc[2])} (${sc[2].length})`;
    });
    process.stdout.write(`  inner check, q80 of |score| by week type: ${typeCheck.join('; ')}\n`);
    process.stdout.write(`  interval: target type shares (calm/peak/season) ${settings.bucketTargetTypes?.map((v) => v.map((x) => x.toFixed(2)).join('/')).join(' ') ?? '-'}; bucket calibration ${settings.bucketCalibration?.map((c) => `${c.lower.toFixed(3)}/${c.upper.toFixed(3)}`).join(' ')}\n`);
    out.push({ origin: o, combined: c.wmae, sn, svd, coverage: c.coverage, settings });
    if (argv.includes('--errors')) errorAnalysis(until, last.horizon, combined);
  }
  if (argv.includes('--json')) process.stdout.write(`${JSON.stringify(out)}\n`);
}

/**
 * --errors: where the combined forecast's weighted error sits: by horizon bucket, by
 * department, the top series (with their bias: forecast total over actual total), and what an
 * oracle level (each series' forecast rescaled to its actual total over the scored weeks)
 * would score: the part of the error that is level, not shape.
 */
function errorAnalysis(origin: number, horizon: number, fc: ReadonlyMap<number, { p50: Float64Array }>): void {
  const perSeries: { si: number; err: number; f: number; y: number; oracle: number }[] = [];
  const byBucket = [0, 0, 0, 0];
  const byDept = new Map<number, number>();
  let total = 0;
  let weight = 0;
  let holidayErr = 0;
  panel.series.forEach((s, si) => {
    const p = fc.get(si)?.p50;
    let err = 0;
    let fs = 0;
    let ys = 0;
    for (let t = origin + 1; t <= Math.min(origin + horizon, panel.weeks.length - 1); t++) {
      const y = s.y[t] as number;
      if (Number.isNaN(y)) continue;
      const w = panel.holidayWeeks.has(panel.weeks[t] as string) ? 5 : 1;
      const e = w * Math.abs(y - (p ? (p[t - origin - 1] as number) : 0));
      err += e;
      weight += w;
      if (w === 5) holidayErr += e;
      fs += p ? (p[t - origin - 1] as number) : 0;
      ys += y;
      const b = Math.min(Math.floor((t - origin - 1) / 13), 3);
      byBucket[b] = (byBucket[b] as number) + e;
    }
    let oracle = 0;
    const r = fs > 0 ? ys / fs : 1;
    for (let t = origin + 1; t <= Math.min(origin + horizon, panel.weeks.length - 1); t++) {
      const y = s.y[t] as number;
      if (Number.isNaN(y)) continue;
      const w = panel.holidayWeeks.has(panel.weeks[t] as string) ? 5 : 1;
      oracle += w * Math.abs(y - (p ? (p[t - origin - 1] as number) * r : 0));
    }
    total += err;
    byDept.set(s.dept, (byDept.get(s.dept) ?? 0) + err);
    perSeries.push({ si, err, f: fs, y: ys, oracle });
  });
  const pct = (v: number) => `${((100 * v) / total).toFixed(1)}%`;
  process.stdout.write(`  WMAE ${(total / weight).toFixed(1)}; holiday weeks ${pct(holidayErr)}; buckets ${byBucket.map(pct).join(' ')}; oracle level ${(perSeries.reduce((a, x) => a + x.oracle, 0) / weight).toFixed(1)}\n`);
  // Coarser oracles: one level per store (all its departments) or per department (all stores).
  const grouped = (key: (s: PanelSeries) => number) => {
    const sums = new Map<number, { f: number; y: number }>();
    for (const x of perSeries) {
      const k = key(panel.series[x.si] as PanelSeries);
      const g = sums.get(k) ?? { f: 0, y: 0 };
      g.f += x.f;
      g.y += x.y;
      sums.set(k, g);
    }
    let e = 0;
    panel.series.forEach((s, si) => {
      const p = fc.get(si)?.p50;
      const g = sums.get(key(s));
      const r = g && g.f > 0 ? g.y / g.f : 1;
      for (let t = origin + 1; t <= Math.min(origin + horizon, panel.weeks.length - 1); t++) {
        const y = s.y[t] as number;
        if (Number.isNaN(y)) continue;
        e += (panel.holidayWeeks.has(panel.weeks[t] as string) ? 5 : 1) * Math.abs(y - (p ? (p[t - origin - 1] as number) * r : 0));
      }
    });
    return (e / weight).toFixed(1);
  };
  process.stdout.write(`  oracle level per store ${grouped((s) => s.store)}, per department ${grouped((s) => s.dept)}\n`);
  const depts = [...byDept].sort((a, b) => b[1] - a[1]).slice(0, 12);
  process.stdout.write(`  top departments: ${depts.map(([d, e]) => `${d} ${pct(e)}`).join(', ')}\n`);
  perSeries.sort((a, b) => b.err - a.err);
  let cum = 0;
  const tenth = Math.ceil(perSeries.length / 10);
  for (let k = 0; k < tenth; k++) cum += (perSeries[k] as { err: number }).err;
  const top = perSeries.slice(0, tenth);
  const gain = top.reduce((a, x) => a + x.err - x.oracle, 0);
  const over = top.filter((x) => x.f > x.y).length;
  process.stdout.write(`  top 10% of series: ${pct(cum)} of the error; an oracle level there saves ${pct(gain)}; ${over} of ${top.length} over-forecast\n`);
  for (const x of perSeries.slice(0, 15)) {
    const s = panel.series[x.si] as PanelSeries;
    process.stdout.write(`    store ${s.store} dept ${s.dept}: ${pct(x.err)} of the error, forecast/actual ${(x.f / x.y).toFixed(3)}, oracle level saves ${pct(x.err - x.oracle)}\n`);
  }
}

/**
 * --oracle-weights: upper bounds, with hindsight, of what weighting alone can buy: the weights
 * chosen on the scored weeks themselves, for all series and per department (no shrinkage).
 */
function oracleWeights(until: number, horizon: number, network: readonly SeriesForecast[], members: ReadonlyMap<string, ReadonlyMap<number, Float64Array>>, names: readonly string[]): void {
  const y: number[] = [];
  const holiday: number[] = [];
  const dept: number[] = [];
  const preds: number[][] = names.map(() => []);
  for (const f of network) {
    const s = panel.series[f.series] as PanelSeries;
    for (let h = 0; h < horizon; h++) {
      const v = s.y[until + 1 + h] as number;
      if (Number.isNaN(v)) continue;
      y.push(v);
      dept.push(s.dept);
      holiday.push(panel.holidayWeeks.has(panel.weeks[until + 1 + h] as string) ? 1 : 0);
      names.forEach((m, k) => preds[k]?.push(((m === 'model' ? f.p50 : members.get(m)?.get(f.series)) ?? f.p50)[h] as number));
    }
  }
  const n = y.length;
  const all: InnerRows = { n, y: Float64Array.from(y), holiday: Uint8Array.from(holiday), preds: preds.map((a) => Float64Array.from(a)), lower: new Float64Array(n), upper: new Float64Array(n) };
  const wmae = (r: InnerRows, w: readonly number[]) => {
    let num = 0;
    let den = 0;
    for (let i = 0; i < r.n; i++) {
      let f = 0;
      w.forEach((x, k) => (f += x * ((r.preds[k] as Float64Array)[i] as number)));
      const wt = r.holiday[i] ? hyper.holidayWeight : 1;
      num += wt * Math.abs((r.y[i] as number) - f);
      den += wt;
    }
    return { num, den };
  };
  const unshrink = (w: number[]) => w.map((x) => (x - 0.5 / w.length) / 0.5);
  const g = unshrink(chooseWeights(all, hyper.holidayWeight));
  const gs = wmae(all, g);
  let num = 0;
  let den = 0;
  for (const d of new Set(dept)) {
    const part = subset(all, (i) => dept[i] === d);
    const r = wmae(part, unshrink(chooseWeights(part, hyper.holidayWeight)));
    num += r.num;
    den += r.den;
  }
  process.stdout.write(`  oracle weights: global ${(gs.num / gs.den).toFixed(1)} (${g.map((x) => x.toFixed(2)).join('/')}), per department ${(num / den).toFixed(1)}\n`);
}

const dumpDir = opt('--dump');
const cacheDir = opt('--cached');
if (!existsSync(`${dataDir}/train.csv`)) process.stderr.write(`bench/backtest-cached: ${dataDir}/train.csv not found (set WALMART_DIR)\n`);
else if (dumpDir) await dump(dumpDir);
else if (cacheDir) cached(cacheDir);
else process.stderr.write('bench/backtest-cached: --dump DIR or --cached DIR\n');
