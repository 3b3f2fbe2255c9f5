import { describe, expect, it } from 'vitest';
import { ChartInputError, modelAccuracyChart, pngSize, renderPng } from '../charts/index.ts';

describe('the /model live-accuracy chart', () => {
  const weeks = ['2012-09-07', '2012-09-14', '2012-09-21'].map((week, i) => ({ week, wmae: 1100 + 40 * i, naiveWmae: i === 1 ? null : 1650, coverage: 0.75 }));

  it('plots model vs seasonal-naive error per week and the coverage against the 80% target', async () => {
    const spec = modelAccuracyChart({ title: 'v1', subtitle: 'the chain', weeks });
    const json = JSON.stringify(spec);
    expect(json).toContain('Seasonal naive WMAE');
    expect(json).toContain('"target":0.8');
    // A week without a baseline is drawn for the model only, never as zero.
    const errors = (spec.vconcat as { data: { values: { series: string }[] } }[])[0]!.data.values;
    expect(errors.filter((v) => v.series === 'Seasonal naive WMAE')).toHaveLength(2);
    const png = await renderPng(spec);
    expect(pngSize(png).width).toBeGreaterThan(1000);
  });

  it('refuses to draw nothing', () => {
    expect(() => modelAccuracyChart({ title: 'v1', subtitle: '', weeks: [] })).toThrow(ChartInputError);
  });
});
