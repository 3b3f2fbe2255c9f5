import { existsSync } from 'node:fs';
import { loadImage, createCanvas } from 'canvas';
import fc from 'fast-check';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { describe, expect, it } from 'vitest';
import {
  ChartInputError,
  FORECAST_SERIES,
  forecastChart,
  formatMoney,
  formatPercent,
  holidayImpactChart,
  moneyExpr,
  percentExpr,
  pngSize,
  rankingChart,
  registeredFonts,
  renderPng,
  renderSvg,
  salesChart,
  type ChartSpec,
} from '../charts/index.ts';
import { pickHolidays } from '../charts/holidays.ts';
import {
  SAMPLE_HOLIDAYS,
  sampleForecastInput,
  sampleHolidayImpactInput,
  sampleRankingCurrencyInput,
  sampleRankingInput,
  sampleSalesInput,
} from '../charts/samples.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Vega-Lite encodings are read loosely in assertions
type Layer = { data?: { values?: Record<string, unknown>[] }; mark?: { type?: string } | string; encoding?: Record<string, any> };
const layers = (spec: ChartSpec) => (spec.layer as Layer[]) ?? [];
const markType = (l: Layer) => (typeof l.mark === 'string' ? l.mark : l.mark?.type);

/** Evaluates Vega expressions the way a chart does: as signals of a (headless) Vega view. */
async function evalVega(exprs: string[]): Promise<unknown[]> {
  const spec: vega.Spec = { signals: exprs.map((update, i) => ({ name: `s${i}`, update })) };
  const view = new vega.View(vega.parse(spec), { renderer: 'none' });
  await view.runAsync();
  const out = exprs.map((_, i) => view.signal(`s${i}`));
  view.finalize();
  return out;
}

function compileWarnings(spec: ChartSpec): string[] {
  const warnings: string[] = [];
  const logger = {
    level: () => logger,
    warn: (...a: unknown[]) => (warnings.push(a.map(String).join(' ')), logger),
    info: () => logger,
    debug: () => logger,
    error: (...a: unknown[]) => (warnings.push(a.map(String).join(' ')), logger),
  };
  compile(spec as unknown as TopLevelSpec, { logger: logger as never });
  return warnings;
}

const builders: [string, () => ChartSpec][] = [
  ['forecast', () => forecastChart(sampleForecastInput())],
  ['sales', () => salesChart(sampleSalesInput())],
  ['holiday impact', () => holidayImpactChart(sampleHolidayImpactInput())],
  ['ranking (percent, with negatives)', () => rankingChart(sampleRankingInput())],
  ['ranking (currency)', () => rankingChart(sampleRankingCurrencyInput())],
];

describe('every chart kind', () => {
  it.each(builders)('%s renders to a PNG at least 1200 px wide at scale 2', async (_, build) => {
    const spec = build();
    const png = await renderPng(spec);
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const { width, height } = pngSize(png);
    expect(width).toBeGreaterThanOrEqual(1200);
    expect(width).toBeLessThanOrEqual(2400);
    expect(height).toBeGreaterThan(300);
    // Scale 1 is half the size (within rounding).
    const small = pngSize(await renderPng(spec, { scale: 1 }));
    expect(Math.abs(small.width * 2 - width)).toBeLessThanOrEqual(2);
  });

  it.each(builders)('%s compiles without Vega-Lite warnings and is plain JSON', (_, build) => {
    const spec = build();
    expect(compileWarnings(spec)).toEqual([]);
    expect(JSON.parse(JSON.stringify(spec))).toEqual(spec);
  });

  it.each(builders)('%s uses the theme font and a white background', async (_, build) => {
    const svg = await renderSvg(build());
    expect(svg).toMatch(/font-family="DejaVu Sans"/);
    expect(svg).not.toMatch(/font-family="sans-serif"/);
    expect(svg).toMatch(/fill="#FFFFFF"|fill="#ffffff"|fill="white"/);
  });
});

describe('renderer', () => {
  it('draws the image it encodes (fast RGB encoder = node-canvas pixels)', async () => {
    const spec = forecastChart(sampleForecastInput());
    const png = await renderPng(spec, { scale: 1 });
    const img = await loadImage(png);
    const { width, height } = pngSize(png);
    const c = createCanvas(width, height);
    const ctx = c.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const px = ctx.getImageData(0, 0, width, height).data;
    // Reference: let vega draw again and read its canvas directly.
    const view = new vega.View(vega.parse(compile(spec as unknown as TopLevelSpec).spec as vega.Spec), { renderer: 'none' });
    await view.runAsync();
    const ref = (await view.toCanvas(1)) as unknown as ReturnType<typeof createCanvas>;
    view.finalize();
    const refPx = ref.getContext('2d').getImageData(0, 0, width, height).data;
    expect(ref.width).toBe(width);
    let diff = 0;
    for (let i = 0; i < px.length; i++) diff = Math.max(diff, Math.abs(px[i]! - refPx[i]!));
    expect(diff).toBe(0);
    // Not a blank image: the actual line's blue is in there.
    let blue = 0;
    for (let i = 0; i < px.length; i += 4) if (px[i]! < 40 && px[i + 1]! > 90 && px[i + 1]! < 140 && px[i + 2]! > 150) blue++;
    expect(blue).toBeGreaterThan(500);
  });

  it('renders the same spec to the same bytes (cache is not mutated)', async () => {
    const spec = salesChart(sampleSalesInput());
    const a = await renderPng(spec, { scale: 1 });
    const b = await renderPng(structuredClone(spec), { scale: 1 });
    expect(Buffer.compare(a, b)).toBe(0);
  });

  it('renders concurrently from one cached parse without cross-talk', async () => {
    const a = salesChart(sampleSalesInput());
    const b = forecastChart(sampleForecastInput());
    const solo = [await renderPng(a, { scale: 1 }), await renderPng(b, { scale: 1 })];
    const many = await Promise.all([a, b, a, b, a, b].map((s) => renderPng(s, { scale: 1 })));
    many.forEach((png, i) => expect(Buffer.compare(png, solo[i % 2]!)).toBe(0));
  });

  it('rejects a broken spec with an error instead of drawing a blank chart', async () => {
    const bad = {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      data: { values: [{ a: 1 }] },
      transform: [{ calculate: 'datum.a +* (', as: 'b' }],
      mark: 'point',
      encoding: { x: { field: 'b', type: 'quantitative' } },
    };
    await expect(renderPng(bad)).rejects.toThrow();
    await expect(renderPng(forecastChart(sampleForecastInput()), { scale: 0 })).rejects.toThrow(RangeError);
  });

  it.runIf(existsSync('/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf'))('registers DejaVu Sans with node-canvas', () => {
    expect(registeredFonts.some((f) => f.endsWith('DejaVuSans.ttf'))).toBe(true);
    expect(registeredFonts.some((f) => f.endsWith('DejaVuSans-Bold.ttf'))).toBe(true);
  });

  it('labels week dates in UTC whatever the server time zone', async () => {
    const tz = process.env.TZ;
    process.env.TZ = 'America/Los_Angeles';
    try {
      const input = sampleForecastInput();
      const svg = await renderSvg(forecastChart({ ...input, history: input.history.slice(-6), forecast: input.forecast.slice(0, 6) }));
      // History ends Friday 2012-10-26; six weeks before is Friday 2012-09-21. In local LA time
      // a UTC-midnight date would print as Sep 20.
      expect(svg).toContain('Sep 21, 2012');
      expect(svg).toContain('Oct 19');
      expect(svg).not.toContain('Sep 20');
    } finally {
      if (tz === undefined) delete process.env.TZ;
      else process.env.TZ = tz;
    }
  });
});

describe('money and percent formats', () => {
  const cases: [number, string][] = [
    [1_234_567, '$1.2M'],
    [850_000, '$850K'],
    [12_345, '$12.3K'],
    [-12_345, '-$12.3K'],
    [2_500_000_000, '$2.5B'],
    [1_000_000_000, '$1B'],
    [999_960, '$1M'], // rounds up a unit, not "$1000K"
    [999_940, '$999.9K'],
    [1_000, '$1K'],
    [999, '$999'],
    [0, '$0'],
    [-0.2, '$0'],
    [1_500_000, '$1.5M'],
    [2_000_000, '$2M'],
  ];

  it.each(cases)('formatMoney(%d) = %s', (v, s) => expect(formatMoney(v)).toBe(s));

  it('the Vega expression used in specs gives the same strings', async () => {
    const out = await evalVega(cases.map(([v]) => moneyExpr(String(v))));
    expect(out).toEqual(cases.map(([, s]) => s));
    // Never D3's SI suffixes or Unicode minus.
    for (const s of out as string[]) expect(s).not.toMatch(/[Gk\u2212]/);
  });

  it('two-decimal axis variant', async () => {
    expect(formatMoney(1_250_000, 2)).toBe('$1.25M');
    expect(await evalVega([moneyExpr('1250000', 2), moneyExpr('-2750', 2)])).toEqual(['$1.25M', '-$2.75K']);
  });

  it('Vega expression and JS formatter agree on any value', async () => {
    const values = fc.sample(
      fc.oneof(fc.double({ min: -5e12, max: 5e12, noNaN: true }), fc.integer({ min: -2_000_000, max: 2_000_000 })),
      { numRuns: 400, seed: 42 },
    );
    const out = await evalVega(values.map((v) => moneyExpr(JSON.stringify(v))));
    expect(out).toEqual(values.map((v) => formatMoney(v)));
    const pct = await evalVega(values.map((v) => percentExpr(JSON.stringify(v / 1e7))));
    expect(pct).toEqual(values.map((v) => formatPercent(v / 1e7)));
  });

  it('percent: signed, ASCII minus, no "-0%"', async () => {
    expect(formatPercent(0.123)).toBe('+12.3%');
    expect(formatPercent(-0.04)).toBe('-4%');
    expect(formatPercent(-0.0001)).toBe('0%');
    expect(formatPercent(0.5, { signed: false })).toBe('50%');
    expect(await evalVega([percentExpr('0.123'), percentExpr('-0.04'), percentExpr('-0.0001')])).toEqual(['+12.3%', '-4%', '0%']);
  });
});

describe('forecast chart', () => {
  const input = sampleForecastInput();
  const spec = forecastChart(input);
  const lineLayer = layers(spec).filter((l) => markType(l) === 'line' && (l.data?.values?.length ?? 0) > 0);
  const lines = lineLayer[0]!.data!.values!;

  it('joins the forecast to the last actual week: no gap', () => {
    expect(lineLayer).toHaveLength(1);
    const lastActual = input.history.at(-1)!;
    const fc0 = lines.filter((p) => p.series === FORECAST_SERIES.forecast);
    expect(fc0[0]).toMatchObject({ week: lastActual.week, value: lastActual.value });
    expect(fc0.slice(1).map((p) => p.week)).toEqual(input.forecast.map((p) => p.week));
    const actual = lines.filter((p) => p.series === FORECAST_SERIES.actual);
    expect(actual.at(-1)).toMatchObject({ week: lastActual.week, value: lastActual.value });
    // The band opens from that same point.
    const band = layers(spec).find((l) => markType(l) === 'area')!.data!.values!;
    expect(band[0]).toMatchObject({ week: lastActual.week, lower: lastActual.value, upper: lastActual.value });
    expect(band).toHaveLength(input.forecast.length + 1);
  });

  it('shows the last 52 weeks of history, dashes the forecast, labels the series', () => {
    const actual = lines.filter((p) => p.series === FORECAST_SERIES.actual);
    expect(actual).toHaveLength(52);
    expect(actual.at(-1)!.week).toBe(input.history.at(-1)!.week);
    const enc = lineLayer[0]!.encoding!;
    expect(enc.color.scale.domain).toEqual(['Actual', 'Forecast']);
    expect(enc.strokeDash.scale.range[1]).not.toEqual([1, 0]);
    const band = layers(spec).find((l) => markType(l) === 'area')!;
    expect(band.encoding!.fill.datum).toBe('80% interval');
    expect(spec.title).toEqual({ text: input.title, subtitle: input.subtitle });
  });

  it('marks only the holidays inside the plotted weeks', () => {
    const text = layers(spec).find((l) => markType(l) === 'text')!.data!.values!;
    const rules = layers(spec).find((l) => markType(l) === 'rule')!.data!.values!;
    const first = lines[0]!.week as string;
    const last = input.forecast.at(-1)!.week;
    const expected = SAMPLE_HOLIDAYS.filter((h) => h.week >= first && h.week <= last);
    expect(rules.map((r) => r.week)).toEqual(expected.map((h) => h.week).sort());
    expect(text.map((t) => t.name)).toContain('Thanksgiving');
    expect(text.map((t) => t.name)).toContain('Christmas');
  });

  it('throws a clear error when there is nothing to plot', () => {
    expect(() => forecastChart({ ...input, history: [], forecast: [] })).toThrow(ChartInputError);
    expect(() => forecastChart({ ...input, history: [], forecast: [] })).toThrow(/nothing to plot/);
  });

  it('renders with no holidays, no history, or no forecast', async () => {
    for (const partial of [
      { holidays: [] },
      { history: [], holidays: [] },
      { forecast: [] },
    ]) {
      const s = forecastChart({ ...input, ...partial });
      expect(compileWarnings(s)).toEqual([]);
      expect(pngSize(await renderPng(s)).width).toBeGreaterThanOrEqual(1200);
    }
    // Forecast only: drawn in the forecast colour, not as "Actual".
    const only = forecastChart({ ...input, history: [] });
    const enc = layers(only).find((l) => markType(l) === 'line')!.encoding!;
    expect(enc.color.scale.domain).toEqual(['Forecast']);
  });

  it('names the bad value', () => {
    const history = input.history.slice();
    history[3] = { week: history[3]!.week, value: Number.NaN };
    expect(() => forecastChart({ ...input, history })).toThrow(/history\[3\]\.value/);
    expect(() => forecastChart({ ...input, forecast: [{ week: 'next friday', value: 1, lower: 0, upper: 2 }] })).toThrow(
      /forecast\[0\].*not a date/,
    );
  });
});

describe('sales chart', () => {
  it('overlays last year as a lighter dashed line underneath', () => {
    const input = sampleSalesInput();
    const spec = salesChart(input);
    const lines = layers(spec).filter((l) => markType(l) === 'line');
    expect(lines).toHaveLength(2);
    const [ly, cur] = lines;
    expect(ly!.data!.values!.every((p) => p.series === 'Same week last year')).toBe(true);
    expect(cur!.data!.values!.every((p) => p.series === 'Weekly sales')).toBe(true);
    expect(cur!.data!.values!).toHaveLength(input.series.length);
    expect(ly!.encoding!.strokeDash.scale.range[1]).not.toEqual([1, 0]);
  });

  it('drops last-year weeks outside the series and renders without them', async () => {
    const input = sampleSalesInput();
    const spec = salesChart({ ...input, lastYear: [{ week: '2001-01-05', value: 5 }], holidays: [] });
    expect(layers(spec).filter((l) => markType(l) === 'line')).toHaveLength(1);
    expect(pngSize(await renderPng(spec)).width).toBeGreaterThanOrEqual(1200);
  });

  it('throws a clear error for an empty series', () => {
    expect(() => salesChart({ ...sampleSalesInput(), series: [] })).toThrow(/salesChart: nothing to plot/);
  });
});

describe('holiday impact chart', () => {
  it('bars per holiday and year, error bars, zero line, signed percent labels', () => {
    const input = sampleHolidayImpactInput();
    const spec = holidayImpactChart(input);
    const values = spec.data as { values: Record<string, unknown>[] };
    expect(values.values).toHaveLength(input.rows.length);
    const thanksgiving = values.values.find((r) => r.holiday === 'Thanksgiving' && r.year === '2010')!;
    expect(thanksgiving.label).toMatch(/^\+3\d%$/);
    expect(values.values.find((r) => r.holiday === 'Christmas')!.label).toMatch(/^-\d/);
    const marks = layers(spec).map(markType);
    expect(marks).toContain('bar');
    expect(marks.filter((m) => m === 'rule')).toHaveLength(2); // error bars + zero line
    const bar = layers(spec).find((l) => markType(l) === 'bar')!;
    expect(bar.encoding!.xOffset.field).toBe('year');
    expect(bar.encoding!.y.axis.labelExpr).toContain("'%'");
  });

  it('throws a clear error with no rows', () => {
    expect(() => holidayImpactChart({ title: 't', subtitle: 's', rows: [] })).toThrow(ChartInputError);
  });
});

describe('ranking chart', () => {
  it('sorts descending, labels bar ends, colours negatives apart', () => {
    const input = sampleRankingInput();
    const shuffled = { ...input, rows: [...input.rows].reverse() };
    const spec = rankingChart(shuffled);
    const rows = (spec.data as { values: { label: string; value: number; text: string; negative: boolean }[] }).values;
    expect(rows.map((r) => r.value)).toEqual([...input.rows.map((r) => r.value)].sort((a, b) => b - a));
    expect(rows[0]!.text).toBe('+15.1%');
    expect(rows.at(-1)!.text).toBe('-9.2%');
    expect(rows.filter((r) => r.negative).map((r) => r.label)).toEqual(['Store 12', 'Store 36', 'Store 35']);
    const bar = layers(spec).find((l) => markType(l) === 'bar')!;
    const { domain, range } = bar.encoding!.color.scale;
    expect(range[domain.indexOf(true)]).not.toBe(range[domain.indexOf(false)]);
    // The x domain leaves room for the labels on both sides.
    const xDomain = bar.encoding!.x.scale.domain as number[];
    expect(xDomain[0]).toBeLessThan(-0.092);
    expect(xDomain[1]).toBeGreaterThan(0.151);
  });

  it('adds a decimal when one would make different values look equal', () => {
    const spec = rankingChart({ ...sampleRankingCurrencyInput() });
    const texts = (spec.data as { values: { text: string }[] }).values.map((r) => r.text);
    expect(texts.slice(0, 2)).toEqual(['$2.11M', '$2.09M']);
    const simple = rankingChart({ title: 't', subtitle: 's', valueFormat: 'currency', rows: [{ label: 'a', value: 1_200_000 }, { label: 'b', value: 850_000 }] });
    expect((simple.data as { values: { text: string }[] }).values.map((r) => r.text)).toEqual(['$1.2M', '$850K']);
  });

  it('throws a clear error with no rows or a bad format', () => {
    expect(() => rankingChart({ title: 't', subtitle: 's', valueFormat: 'percent', rows: [] })).toThrow(/nothing to plot/);
    expect(() => rankingChart({ title: 't', subtitle: 's', valueFormat: 'euros' as never, rows: [{ label: 'a', value: 1 }] })).toThrow(
      /valueFormat/,
    );
  });
});

describe('holiday labels', () => {
  it('never overlap within a row, nor sit on a stacked label’s connector', () => {
    const t0 = Date.parse('2010-02-05T00:00:00Z');
    const t1 = Date.parse('2012-10-26T00:00:00Z');
    const placed = pickHolidays(SAMPLE_HOLIDAYS, t0, t1, 680);
    const px = (w: string) => ((Date.parse(`${w}T00:00:00Z`) - t0) / (t1 - t0)) * 680;
    const shown = placed.filter((p) => p.label).map((p) => ({ ...p, cx: px(p.week), half: (p.name.length * 7) / 2 }));
    expect(shown.length).toBeGreaterThan(5);
    for (const a of shown)
      for (const b of shown) {
        if (a === b) continue;
        if (a.row === b.row) expect(Math.abs(a.cx - b.cx)).toBeGreaterThanOrEqual(a.half + b.half);
        if (a.row > b.row) expect(Math.abs(a.cx - b.cx)).toBeGreaterThan(b.half);
      }
    expect(Math.max(...placed.map((p) => p.row))).toBeLessThanOrEqual(1);
  });
});
