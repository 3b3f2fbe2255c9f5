/**
 * Scores the Kaggle winner's forecasts (written by run.R) with OUR backtest metric on exactly the
 * rows `storecast backtest` scores, next to our seasonal-naive and SVD-seasonal-naive baselines:
 *
 *   npx tsx bench/winner-reference/score.ts [--dir /tmp/winner-out] [--origins 2012-01-27:39,2011-10-28:39,2012-04-27:26]
 *
 * Scored rows, holiday weight (x5 by default) and baselines come from src/forecast/backtest.ts
 * (scoreMethod, baselinePredictions) on the panel bench/backtest.ts builds (import into an
 * in-memory database, loadPanel). A scored row his CSV lacks (or holds NA for) is scored as a
 * forecast of 0, as his submission would carry, and counted. WALMART_DIR as in bench/backtest.ts.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { openDatabase } from '../../src/db/client.ts';
import { importFiles } from '../../src/data/import.ts';
import { baselinePredictions, scoreMethod } from '../../src/forecast/backtest.ts';
import { loadPanel } from '../../src/forecast/dataset.ts';
import { DEFAULT_HYPERPARAMETERS } from '../../src/forecast/model.ts';
import { gridIndex, type PanelSeries } from '../../src/forecast/panel.ts';

const argv = process.argv.slice(2);
const opt = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const outDir = opt('--dir') ?? '/tmp/winner-out';
const originArgs = (opt('--origins') ?? '2012-01-27:39,2011-10-28:39,2012-04-27:26,2011-07-29:39').split(',');
const dataDir = process.env.WALMART_DIR ?? fileURLToPath(new URL('../../../shared/data/walmart', import.meta.url));

/**
 * Our combined forecast at these origins and horizons, as docs/forecasting.md measured it
 * (eighth round; `bench/backtest.ts` / `bench/backtest-cached.ts` produce it): printed for
 * comparison only, not computed here (that needs a training run).
 */
const OURS: Record<string, { horizon: number; wmae: number }> = {
  '2012-01-27': { horizon: 39, wmae: 1437.7 },
  '2011-10-28': { horizon: 39, wmae: 1591.2 },
  '2012-04-27': { horizon: 26, wmae: 1328.5 },
  '2011-07-29': { horizon: 39, wmae: 1616.5 },
  '2012-07-27': { horizon: 13, wmae: 1229.5 },
};

const db = await openDatabase({ database: { kind: 'pglite', dataDir: 'memory://' } });
await importFiles(db, [`${dataDir}/stores.csv`, `${dataDir}/features.csv`, `${dataDir}/train.csv`]);
const panel = await loadPanel(db);
await db.close();
const seriesIndex = new Map(panel.series.map((s, i) => [`${s.store}|${s.dept}`, i]));
const { holidayWeight, svdRank } = DEFAULT_HYPERPARAMETERS;

for (const arg of originArgs) {
  const [originWeek, h] = arg.split(':') as [string, string];
  const dir = `${outDir}/${originWeek}-h${h}`;
  if (!existsSync(dir)) continue;
  const origin = gridIndex(panel, originWeek);
  if (panel.weeks[origin] !== originWeek) throw new RangeError(`origin ${originWeek} is not a week of the data`);
  const horizon = Math.min(Number(h), panel.weeks.length - 1 - origin);

  // Forecasts per label (model, model+shiftS, average...): series index -> values over the horizon (NaN = none).
  const byLabel = new Map<string, Map<number, Float64Array>>();
  let outside = 0;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.csv')).sort()) {
    const lines = readFileSync(`${dir}/${file}`, 'utf8').trim().split('\n').slice(1);
    for (const line of lines) {
      const [store, dept, date, label, value] = line.split(',') as [string, string, string, string, string];
      const si = seriesIndex.get(`${Number(store)}|${Number(dept)}`);
      const t = gridIndex(panel, date) - origin - 1;
      if (si === undefined || t < 0 || t >= horizon) {
        outside++;
        continue;
      }
      let fc = byLabel.get(label);
      if (!fc) byLabel.set(label, (fc = new Map()));
      let arr = fc.get(si);
      if (!arr) fc.set(si, (arr = new Float64Array(horizon).fill(NaN)));
      arr[t] = value === 'NA' ? NaN : Number(value);
    }
  }

  const baselines = baselinePredictions(panel, origin, horizon, svdRank);
  const sn = scoreMethod('seasonal-naive', panel, origin, horizon, baselines['seasonal-naive']!, holidayWeight);
  const svd = scoreMethod('svd-seasonal-naive', panel, origin, horizon, baselines['svd-seasonal-naive']!, holidayWeight);
  const times = new Map<string, string>();
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.time'))) {
    const line = readFileSync(`${dir}/${f}`, 'utf8').split('\n')[0] ?? '';
    const cpu = /cpu=([\d.]+)/.exec(line)?.[1];
    const wall = /elapsed=([\d.]+)/.exec(line)?.[1];
    times.set(f.replace(/\.time$/, ''), line.includes('status=failed') ? `FAILED (${readFileSync(`${dir}/${f}`, 'utf8').split('\n')[1]})` : `${cpu} s CPU / ${wall} s wall`);
  }

  process.stdout.write(`\norigin ${originWeek}, horizon ${horizon}: ${sn.rows} scored rows, holiday weight ${holidayWeight}, SVD rank ${svdRank}${outside ? `, ${outside} CSV rows outside the scored grid ignored` : ''}\n`);
  process.stdout.write('method                              WMAE     /SN    /SVD-SN  missing rows (scored as 0)  time\n');
  const line = (name: string, w: number, missing: string, time = '') =>
    process.stdout.write(`${name.padEnd(34)} ${w.toFixed(1).padStart(7)}  ${(w / sn.wmae).toFixed(3)}  ${(w / svd.wmae).toFixed(3)}    ${missing.padEnd(26)}  ${time}\n`);
  line('seasonal-naive (ours)', sn.wmae, '');
  line('svd-seasonal-naive (ours)', svd.wmae, '');
  const ours = OURS[originWeek];
  if (ours && Number(h) === ours.horizon) line('our combined (docs/forecasting.md)', ours.wmae, '');
  const labels = [...byLabel.keys()].sort((a, b) => Number(a.startsWith('average')) - Number(b.startsWith('average')) || a.localeCompare(b));
  for (const label of labels) {
    const fc = byLabel.get(label)!;
    // every scored row: his value, or 0 (counted) where he has none
    let missing = 0;
    let missingSeries = 0;
    const preds = new Map<number, { p50: Float64Array; p10: Float64Array; p90: Float64Array }>();
    panel.series.forEach((s: PanelSeries, si) => {
      const arr = fc.get(si) ?? new Float64Array(horizon).fill(NaN);
      let m = 0;
      for (let t = 0; t < horizon; t++) {
        if (Number.isNaN(s.y[origin + 1 + t] as number)) continue;
        if (Number.isNaN(arr[t] as number)) {
          arr[t] = 0;
          m++;
        }
      }
      if (m > 0) missingSeries++;
      missing += m;
      preds.set(si, { p50: arr, p10: arr, p90: arr });
    });
    const r = scoreMethod(label, panel, origin, horizon, preds, holidayWeight);
    if (r.rows !== sn.rows) throw new Error(`row count mismatch ${r.rows} vs ${sn.rows}`);
    line(label, r.wmae, missing ? `${missing} in ${missingSeries} series` : '0', times.get(label) ?? '');
  }
  for (const [model, t] of times) if (!byLabel.has(model)) line(`${model} (no forecast)`, NaN, '-', t);
}
