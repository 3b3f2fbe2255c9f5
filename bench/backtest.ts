/**
 * Accuracy benchmark: `storecast backtest` at several origins on the real data, one table.
 *
 *   npx tsx bench/backtest.ts [--horizon 39] [--origins 2011-10-28,2012-01-27,2012-04-27] [--quick]
 *   npx tsx bench/backtest.ts --origins 2012-01-27 --scale 1000   # + scale-mode training, compared
 *   npx tsx bench/backtest.ts --members [--rank 10]
 *       # no training: every statistical member's WMAE on the inner window and the scored weeks
 *   npx tsx bench/backtest.ts --stl [--rank 10]
 *       # no training: the --members table with stl-ets replaced by each of stlf.ts' variants
 *   npx tsx bench/backtest.ts --levels [--member svd-naive] [--rank 10] [--default-level]
 *       # no training: svd-naive's level estimates scored on the inner window (chosen there)
 *
 * --scale N also trains each origin in scale mode (N series drawn per origin, forced on) and
 * prints its WMAE next to full training's: the accuracy cost of sampling series (#15).
 * N below the 3,331 real series makes the sampling bite; at 4,600 stores the default 5,000
 * of ~330k series per origin still gives ~2-3 rows per series, N = 1,000 here gives ~12, so
 * this is the harsher test.
 *
 * For each origin: trains on weeks <= origin only, forecasts `horizon` weeks and scores every
 * store x dept row against seasonal naive and the other baselines (computed in the same run).
 * Prints WMAE ratios to seasonal naive and interval coverage, then the results as JSON.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { openDatabase } from '../src/db/client.ts';
import { importFiles } from '../src/data/import.ts';
import { baselinePredictions, runBacktest, type BacktestReport } from '../src/forecast/backtest.ts';
import { loadPanel } from '../src/forecast/dataset.ts';
import { DEFAULT_HYPERPARAMETERS, QUICK_HYPERPARAMETERS } from '../src/forecast/model.ts';
import { ensureBackend } from '../src/forecast/tf.ts';
import { backtestTable } from '../src/cli/backtest.ts';
import { rushDepartments, shiftChristmas } from '../src/forecast/christmas.ts';
import { originState } from '../src/forecast/features.ts';
import { horizonInfos, setLevelOptions, setStlVariant, STAT_MEMBERS, statForecasts, type LevelOptions } from '../src/forecast/members.ts';
import { stlfVariant, type StlfOptions } from '../src/forecast/stlf.ts';
import { gridIndex, type Panel, type PanelSeries } from '../src/forecast/panel.ts';
import { Wmae } from '../src/forecast/wmae.ts';

const argv = process.argv.slice(2);
const opt = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const horizonArg = Number(opt('--horizon') ?? 39);
const origins = (opt('--origins') ?? '2011-10-28,2012-01-27,2012-04-27').split(',');
const quick = argv.includes('--quick');
const memberRank = Number(opt('--rank') ?? DEFAULT_HYPERPARAMETERS.svdRank);
const scaleSeries = opt('--scale') === undefined ? undefined : Number(opt('--scale'));
const dataDir = process.env.WALMART_DIR ?? fileURLToPath(new URL('../../shared/data/walmart', import.meta.url));
if (!existsSync(`${dataDir}/train.csv`)) {
  process.stderr.write(`bench/backtest: ${dataDir}/train.csv not found (set WALMART_DIR)\n`);
  process.exit(0);
}

const { backend } = await ensureBackend((process.env.TF_BACKEND ?? 'auto') as 'auto');
const db = await openDatabase({ database: { kind: 'pglite', dataDir: 'memory://' } });
await importFiles(db, [`${dataDir}/stores.csv`, `${dataDir}/features.csv`, `${dataDir}/train.csv`]);
const panel = await loadPanel(db);
await db.close();

if (argv.includes('--levels')) {
  levelsOnly();
  process.exit(0);
}
if (argv.includes('--stl')) {
  stlVariants();
  process.exit(0);
}
if (argv.includes('--members')) {
  statMembersOnly();
  process.exit(0);
}

const reports: BacktestReport[] = [];
const scaled: BacktestReport[] = [];
for (const origin of origins) {
  // The last origin may have fewer weeks after it than asked: score what there is.
  const horizon = Math.min(horizonArg, panel.weeks.length - 1 - panel.weeks.indexOf(origin));
  const r = await runBacktest(panel, { origin, horizon, hyper: quick ? QUICK_HYPERPARAMETERS : {} });
  reports.push(r);
  process.stdout.write(`\n${backtestTable(r)}\n`);
  if (scaleSeries === undefined) continue;
  const s = await runBacktest(panel, { origin, horizon, hyper: quick ? QUICK_HYPERPARAMETERS : {}, scale: { mode: 'on', seriesPerOrigin: scaleSeries } });
  scaled.push(s);
  process.stdout.write(`\nscale mode (${scaleSeries} series per origin):\n${backtestTable(s)}\n`);
}
process.stdout.write(`\nbackend ${backend}${quick ? ', quick settings' : ''}\n`);
process.stdout.write('origin       SN WMAE  SVD-SN WMAE  members (WMAE, weight)                                   combined  /SN    /SVD-SN  coverage  seconds\n');
for (const r of reports) {
  const get = (n: string) => r.results.find((x) => x.name === n)!;
  const c = get('combined') ?? get('model');
  const sn = get('seasonal-naive').wmae;
  const svd = get('svd-seasonal-naive').wmae;
  const members = r.results.filter((x) => x.weight !== undefined).map((x) => `${x.name} ${x.wmae.toFixed(0)} (${x.weight!.toFixed(2)})`).join(', ');
  process.stdout.write(
    `${r.origin}   ${sn.toFixed(0)}     ${svd.toFixed(0)}         ${members.padEnd(56)} ${c.wmae.toFixed(0)}      ${(c.wmae / sn).toFixed(3)}  ${(c.wmae / svd).toFixed(3)}    ${c.coverage.toFixed(3)}     ${r.seconds.toFixed(0)}\n`,
  );
}
if (scaled.length > 0) {
  process.stdout.write(`\norigin       full WMAE  scale WMAE (${scaleSeries} series/origin)  difference  full s  scale s\n`);
  scaled.forEach((s, i) => {
    const full = reports[i]!.results.find((x) => x.name === 'combined')!.wmae;
    const scale = s.results.find((x) => x.name === 'combined')!.wmae;
    process.stdout.write(
      `${s.origin}   ${full.toFixed(1)}     ${scale.toFixed(1)}                          ${(((scale - full) / full) * 100).toFixed(2)}%      ${reports[i]!.seconds.toFixed(0)}     ${s.seconds.toFixed(0)}\n`,
    );
  });
}
process.stdout.write(`${JSON.stringify(reports.map(({ origin, horizon: h, rows, results, model, seconds }) => ({ origin, horizon: h, rows, results, combination: model.combination, seconds })))}\n`);

/** Every statistical member's forecasts from `inner` over `h` weeks, Christmas shift applied (as ensemble.ts). */
function shiftedMembers(p: Panel, states: Map<number, ReturnType<typeof originState>>, inner: number, h: number): Map<string, Map<number, Float64Array>> {
  const ids = p.series.map((_, i) => i).filter((i) => (p.series[i] as PanelSeries).first <= inner);
  const st = states.get(inner) ?? originState(p, inner, { svdRank: memberRank }, ids);
  states.set(inner, st);
  const out = statForecasts(p, inner, ids, h, memberRank, st);
  const rush = rushDepartments(p, inner, new Map([...st.deptAgg].map(([d, a]) => [d, a.sum])));
  const infos = horizonInfos(p, inner, h);
  for (const fc of out.values()) for (const [si, values] of fc) if (rush.has((p.series[si] as PanelSeries).dept)) shiftChristmas(values, infos);
  return out;
}

/** WMAE on weeks from+1..to of forecasts made at `inner` (a series without one forecasts 0). */
function wmaeOf(p: Panel, fc: ReadonlyMap<number, ArrayLike<number>>, inner: number, from: number, to: number): number {
  const w = new Wmae(5);
  p.series.forEach((s, si) => {
    const values = fc.get(si);
    for (let t = from + 1; t <= Math.min(to, p.weeks.length - 1); t++) {
      const y = s.y[t] as number;
      if (!Number.isNaN(y)) w.add(Math.abs(y - (values ? (values[t - inner - 1] as number) : 0)), p.holidayWeeks.has(p.weeks[t] as string));
    }
  });
  return w.value();
}

/** One statistical member's WMAE on weeks from+1..to forecast from `inner` (Christmas shift applied). */
function memberWmae(p: Panel, states: Map<number, ReturnType<typeof originState>>, member: string, inner: number, from: number, to: number): number {
  return wmaeOf(p, shiftedMembers(p, states, inner, to - inner).get(member) as Map<number, Float64Array>, inner, from, to);
}

/** The plain average of several members' forecasts. */
function averageOf(fcs: readonly Map<number, Float64Array>[]): Map<number, Float64Array> {
  const out = new Map<number, Float64Array>();
  for (const [si, first] of fcs[0] ?? []) {
    const r = new Float64Array(first.length);
    for (const fc of fcs) fc.get(si)?.forEach((v, h) => (r[h] = (r[h] as number) + v / fcs.length));
    out.set(si, r);
  }
  return out;
}

/**
 * --members: every statistical member (and their plain average) without training, WMAE on the
 * inner window (the 13 weeks up to the origin forecast from 13, 26 and 39 weeks before them,
 * mean of the three) and on the scored weeks after the origin, beside SN and SVD-SN.
 */
function statMembersOnly(): void {
  const states = new Map<number, ReturnType<typeof originState>>();
  const names = [...STAT_MEMBERS, 'average'];
  process.stdout.write(`statistical members (SVD rank ${memberRank}): inner WMAE / scored WMAE (scored / SN)\n`);
  const rows: Record<string, unknown>[] = [];
  for (const o of origins) {
    const oi = gridIndex(panel, o);
    const h = Math.min(horizonArg, panel.weeks.length - 1 - oi);
    const started = performance.now();
    const pick = (m: Map<string, Map<number, Float64Array>>, name: string) => (name === 'average' ? averageOf(STAT_MEMBERS.map((x) => m.get(x) as Map<number, Float64Array>)) : (m.get(name) as Map<number, Float64Array>));
    const scored = shiftedMembers(panel, states, oi, h);
    const inner = [1, 2, 3].map((b) => shiftedMembers(panel, states, oi - 13 * b, 13 * b));
    const base = baselinePredictions(panel, oi, h, memberRank);
    const p50s = (name: string) => new Map([...(base[name] ?? new Map())].map(([k, v]) => [k, v.p50]));
    const sn = wmaeOf(panel, p50s('seasonal-naive'), oi, oi, oi + h);
    const svd = wmaeOf(panel, p50s('svd-seasonal-naive'), oi, oi, oi + h);
    const row: Record<string, unknown> = { origin: o, horizon: h, sn, svdSn: svd };
    const cells = names.map((n) => {
      const inn = inner.reduce((a, fc, b) => a + wmaeOf(panel, pick(fc, n), oi - 13 * (b + 1), oi - 13, oi), 0) / 3;
      const sc = wmaeOf(panel, pick(scored, n), oi, oi, oi + h);
      row[n] = { inner: inn, scored: sc };
      return `${n} ${inn.toFixed(0)} / ${sc.toFixed(0)} (${(sc / sn).toFixed(3)})`;
    });
    row.seconds = (performance.now() - started) / 1000;
    rows.push(row);
    process.stdout.write(`${o} h${h}  SN ${sn.toFixed(0)}  SVD-SN ${svd.toFixed(0)}  ${cells.join('  ')}\n`);
  }
  process.stdout.write(`${JSON.stringify(rows)}\n`);
}

/**
 * --levels: svd-naive's level estimates compared without training: WMAE on the inner window
 * (the 13 weeks up to the origin, forecast from 13, 26 and 39 weeks before them: what the
 * choice is made on) and, for information only, on the scored weeks after the origin.
 */
function levelsOnly(): void {
  const variants: [string, LevelOptions | undefined][] = [['network level (default)', undefined]];
  if (!argv.includes('--default-level')) for (const window of [8, 13]) for (const beta of [0.5, 1]) for (const gamma of [0.5, 1]) variants.push([`smoothed w${window} b${beta} g${gamma}`, { window, beta, gamma }]);
  const member = opt('--member') ?? 'svd-naive';
  const states = new Map<number, ReturnType<typeof originState>>();
  process.stdout.write(`${member} (SVD rank ${memberRank}): variant, then per origin inner WMAE / scored WMAE\n`);
  for (const [name, v] of variants) {
    setLevelOptions(v);
    const cells = origins.map((o) => {
      const oi = gridIndex(panel, o);
      const inner = [1, 2, 3].map((b) => memberWmae(panel, states, member, oi - 13 * b, oi - 13, oi));
      const scored = memberWmae(panel, states, member, oi, oi, oi + horizonArg);
      return `${(inner.reduce((a, b) => a + b, 0) / 3).toFixed(0)} / ${scored.toFixed(0)}`;
    });
    process.stdout.write(`${name.padEnd(28)} ${cells.join('   ')}\n`);
  }
}

/**
 * --stl: the --members table once per stl-ets variant (stlf.ts: closer copies of R's stlf),
 * the first being the member in use.
 */
function stlVariants(): void {
  const variants: StlfOptions[] = [
    { trend: 'moving-mean', ets: 'ses', seasonal: 'aligned' },
    { trend: 'loess', ets: 'ses', seasonal: 'aligned' },
    { trend: 'moving-mean', ets: 'ann', seasonal: 'aligned' },
    { trend: 'moving-mean', ets: 'damped', seasonal: 'aligned' },
    { trend: 'moving-mean', ets: 'auto', seasonal: 'aligned' },
    { trend: 'loess', ets: 'auto', seasonal: 'stl' },
    { trend: 'loess', ets: 'ann', seasonal: 'stl' },
    { trend: 'moving-mean', ets: 'ann', seasonal: 'stl' },
    { trend: 'moving-mean', ets: 'ses', seasonal: 'stl' },
    { trend: 'loess', ets: 'ses', seasonal: 'stl' },
    { trend: 'loess', ets: 'damped', seasonal: 'stl' },
  ];
  for (const v of variants) {
    process.stdout.write(`\nstl-ets variant: trend ${v.trend}, ets ${v.ets}, seasonal ${v.seasonal}\n`);
    setStlVariant(stlfVariant(v));
    statMembersOnly();
  }
  setStlVariant(undefined);
}
