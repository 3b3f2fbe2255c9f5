/**
 * Render benchmark: the forecast chart (a year of history + 12 forecast weeks, holidays) to PNG.
 *
 *   npx tsx bench/render.ts [iterations]
 *
 * Warms up, then renders N times (default 50) at scale 1 and at scale 2, each time from a freshly
 * built spec with slightly different data (so the compile/parse cache does not hide the real
 * cost), and once more with the same spec every time (the cache's best case).
 */
import { performance } from 'node:perf_hooks';
import { clearRenderCache, forecastChart, pngSize, renderPng } from '../charts/index.ts';
import { sampleForecastInput } from '../charts/samples.ts';

const N = Number(process.argv[2] ?? 50);
const base = sampleForecastInput();

function variant(i: number) {
  const k = 1 + (i % 97) / 10_000;
  return forecastChart({
    ...base,
    history: base.history.map((p) => ({ ...p, value: p.value * k })),
    forecast: base.forecast.map((p) => ({ ...p, value: p.value * k, lower: p.lower * k, upper: p.upper * k })),
  });
}

function quantile(sorted: number[], q: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

async function run(label: string, scale: number, spec: (i: number) => Record<string, unknown>) {
  clearRenderCache();
  for (let i = 0; i < 10; i++) await renderPng(spec(-1 - i), { scale }); // warm-up: JIT, fonts
  const times: number[] = [];
  let size = { width: 0, height: 0 };
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    const s = spec(i); // building the spec counts: it is part of every answer
    const png = await renderPng(s, { scale });
    times.push(performance.now() - t0);
    if (i === 0) size = pngSize(png);
  }
  times.sort((a, b) => a - b);
  const f = (x: number) => x.toFixed(1).padStart(6);
  console.log(
    `${label.padEnd(34)} scale ${scale}  ${size.width}x${size.height}px  p50 ${f(quantile(times, 0.5))} ms  p95 ${f(quantile(times, 0.95))} ms  (n=${N})`,
  );
}

const same = variant(0);
console.log(`forecast chart render, node ${process.version}`);
await run('fresh spec each time', 1, variant);
await run('fresh spec each time', 2, variant);
await run('same spec (compile/parse cached)', 1, () => same);
await run('same spec (compile/parse cached)', 2, () => same);
