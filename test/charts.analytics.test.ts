import { describe, expect, it } from 'vitest';
import { ChartInputError, campaignImpactChart, driversChart, markdownImpactChart, pngSize, renderPng } from '../charts/index.ts';

const weeks = Array.from({ length: 20 }, (_, i) => new Date(Date.UTC(2012, 0, 6 + 7 * i)).toISOString().slice(0, 10));

describe('analytics chart builders', () => {
  it('markdown impact: actual vs baseline above, markdown bars beneath, one time axis', async () => {
    const spec = markdownImpactChart({ title: 'Store 5', subtitle: 's', weeks: weeks.map((week, i) => ({ week, actual: 1e6 + i * 1e4, baseline: 1e6, markdowns: i > 5 ? 2e4 : 0 })) });
    const [top, bottom] = spec.vconcat as { encoding: { x: { scale: { domain: string[] } } } }[];
    expect(top!.encoding.x.scale.domain).toEqual(bottom!.encoding.x.scale.domain);
    expect(pngSize(await renderPng(spec)).width).toBeGreaterThanOrEqual(1200);
    expect(() => markdownImpactChart({ title: 't', subtitle: 's', weeks: [] })).toThrow(ChartInputError);
    expect(() => markdownImpactChart({ title: 't', subtitle: 's', weeks: [{ week: '2012-01-06', actual: Number.NaN, baseline: 1, markdowns: 0 }] })).toThrow(/actual is not a finite number/);
  });

  it('campaign impact: needs campaign weeks; shades them', async () => {
    const spec = campaignImpactChart({
      title: 't',
      subtitle: 's',
      treatedLabel: 'Campaign stores (5)',
      controlLabel: 'Control stores (10)',
      weeks: weeks.map((week, i) => ({ week, treated: 100 + (i >= 10 ? 8 : 0), control: 100, phase: i < 10 ? 'pre' : i < 18 ? 'campaign' : 'after' })),
    });
    const band = (spec.layer as { data?: { values: { start: string; end: string }[] } }[])[0]!.data!.values[0]!;
    expect(band).toMatchObject({ start: '2012-03-10', end: weeks[17] });
    expect(pngSize(await renderPng(spec)).width).toBeGreaterThanOrEqual(1200);
    expect(() => campaignImpactChart({ title: 't', subtitle: 's', treatedLabel: 'a', controlLabel: 'b', weeks: [{ week: weeks[0]!, treated: 1, control: 1, phase: 'pre' }] })).toThrow(ChartInputError);
  });

  it('drivers: a row per driver, symmetric axis around zero', async () => {
    const spec = driversChart({ title: 't', subtitle: 's', rows: [{ driver: 'CPI', estimate: 0.4, lower: 0.1, upper: 0.7, strength: 'strong' }, { driver: 'Temperature', estimate: -0.05, lower: -0.2, upper: 0.1, strength: 'weak' }] });
    expect(spec.height).toBe(88);
    expect(pngSize(await renderPng(spec)).width).toBeGreaterThanOrEqual(1000);
    expect(() => driversChart({ title: 't', subtitle: 's', rows: [] })).toThrow(ChartInputError);
  });
});
