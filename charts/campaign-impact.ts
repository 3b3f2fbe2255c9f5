/**
 * Campaign impact chart: the treated stores and their controls, each indexed to its pre-period
 * mean (= 100), week by week, with the campaign's weeks shaded.
 */
import type { TopLevelSpec } from 'vega-lite';
import { CHART_HEIGHT, COLORS, ChartInputError, type ChartSpec, OKABE_ITO, finite, frame, isoWeek, weekAxis, weekTime } from './theme.ts';

export interface CampaignWeek {
  week: string;
  treated: number;
  control: number;
  phase: 'pre' | 'campaign' | 'after';
}

export interface CampaignImpactChartInput {
  title: string;
  subtitle: string;
  weeks: CampaignWeek[];
  /** Legend labels, e.g. "Campaign stores (5)" and "Control stores (10)". */
  treatedLabel: string;
  controlLabel: string;
  /** The shaded weeks' label (default "Campaign"; /compare says "Test window"). */
  bandLabel?: string;
}

const DAY = 86_400_000;

/** Builds the spec; throws ChartInputError when there are no weeks, no campaign week or a value is not a number. */
export function campaignImpactChart(input: CampaignImpactChartInput): ChartSpec {
  const weeks = (input.weeks ?? [])
    .map((w, i) => ({ t: weekTime(w.week, `weeks[${i}]`), treated: finite(w.treated, `weeks[${i}].treated`), control: finite(w.control, `weeks[${i}].control`), phase: w.phase }))
    .sort((a, b) => a.t - b.t);
  const campaign = weeks.filter((w) => w.phase === 'campaign');
  if (weeks.length === 0 || campaign.length === 0) throw new ChartInputError('campaignImpactChart: nothing to plot (no campaign weeks)');
  const t0 = weeks[0]!.t;
  const t1 = weeks.at(-1)!.t;
  const x = { field: 'week', type: 'temporal' as const, scale: { type: 'utc' as const, domain: [isoWeek(t0), isoWeek(t1)] }, axis: weekAxis(t0, t1) };
  const domain = [input.treatedLabel, input.controlLabel];
  const values = weeks.flatMap((w) => [
    { week: isoWeek(w.t), value: w.treated, series: input.treatedLabel },
    { week: isoWeek(w.t), value: w.control, series: input.controlLabel },
  ]);
  const legend = { title: null, symbolType: 'stroke', symbolStrokeWidth: 3 };
  const y = { field: 'value', type: 'quantitative' as const, title: 'Sales index (pre-period = 100)', scale: { zero: false, nice: true }, axis: { tickCount: 6 } };
  // The shaded band covers each campaign week's whole sales week (Saturday to Friday).
  const band = { start: isoWeek(campaign[0]!.t - 6 * DAY), end: isoWeek(campaign.at(-1)!.t), label: input.bandLabel ?? 'Campaign' };
  const spec = {
    ...frame(input),
    height: CHART_HEIGHT,
    layer: [
      {
        data: { values: [band] },
        mark: { type: 'rect', color: '#FBE7C6', opacity: 0.8 },
        encoding: { x: { field: 'start', type: 'temporal' }, x2: { field: 'end' } },
      },
      {
        data: { values: [band] },
        mark: { type: 'text', align: 'left', baseline: 'top', dx: 4, dy: 4, fontSize: 11, color: COLORS.subtleText },
        encoding: { x: { field: 'start', type: 'temporal' }, y: { value: 0 }, text: { field: 'label' } },
      },
      {
        data: { values: [{ base: 100 }] },
        mark: { type: 'rule', color: COLORS.zero, strokeDash: [2, 3] },
        encoding: { y: { field: 'base', type: 'quantitative' } },
      },
      {
        data: { values },
        mark: { type: 'line' },
        encoding: {
          x,
          y,
          color: { field: 'series', type: 'nominal', scale: { domain, range: [COLORS.actual, OKABE_ITO.orange] }, legend },
          strokeDash: { field: 'series', type: 'nominal', scale: { domain, range: [[1, 0], [6, 4]] }, legend },
        },
      },
    ],
  } as unknown as TopLevelSpec;
  return spec as unknown as ChartSpec;
}
