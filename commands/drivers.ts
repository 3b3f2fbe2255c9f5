import { driversChart } from '../charts/index.ts';
import { defineCommand } from '../src/chat/command.ts';
import { areaOptions, markdownImpactLine } from './follow-ups.ts';
import type { Reply } from '../src/chat/reply.ts';
import { UserError } from '../src/chat/errors.ts';
import { answerScope } from '../src/chat/access.ts';
import { areaReach, areaScope } from '../src/chat/area.ts';
import type { DriverEffect } from '../src/analytics/drivers.ts';
import { areaDrivers } from '../src/analytics/area-answers.ts';
import { dataWindow } from '../src/analytics/series.ts';
import { describeScope, scopeSlug } from '../src/scope.ts';

const signed = (v: number) => `${v >= 0 ? '+' : '-'}${Math.abs(v).toFixed(2)}`;
const describe = (e: DriverEffect) => `${signed(e.estimate.beta)} SD per SD (95%: ${signed(e.estimate.lower)} to ${signed(e.estimate.upper)}) · ${e.strength}`;

/** The plain reading: which effects are clear, and that the rest are weak. */
function reading(effects: readonly DriverEffect[]): string {
  const clear = effects.filter((e) => e.strength !== 'weak');
  const named = (e: DriverEffect) => (e.driver === 'CPI' ? e.driver : e.driver.toLowerCase());
  const weak = effects.filter((e) => e.strength === 'weak').map(named);
  if (clear.length === 0) return `No outside factor has a clear effect on de-seasonalised sales: ${weak.join(', ')} are all weak (small, or their 95% intervals include zero).`;
  const said = clear.map((e, i) => `${i === 0 ? e.driver : named(e)} ${e.estimate.beta > 0 ? 'raises' : 'lowers'} sales (${signed(e.estimate.beta)} SD per SD, ${e.strength})`);
  return `${said.join('; ')}.${weak.length ? ` Weak: ${weak.join(', ')}.` : ''}`;
}

const driversCommand = defineCommand({
  name: 'drivers',
  description: 'What moves de-seasonalised sales: temperature, fuel price, CPI, unemployment, markdowns (standardised effects, 95% intervals).',
  options: areaOptions,
  keywords: ['all', 'chain'],
  examples: ['/drivers store 5', '/drivers region West', '/drivers chain'],
  reach: areaReach,
  async handler(options, ctx): Promise<Reply> {
    const scope = answerScope(ctx, await areaScope(ctx.db, options, '/drivers store 5'));
    const label = describeScope(scope);
    const [window, d] = await Promise.all([dataWindow(ctx.db), areaDrivers(ctx.db, scope)]);
    if (!window || !d) throw new UserError(`Not enough weeks with both sales and features (temperature, fuel price, CPI, unemployment) for ${label}. Import features.csv.`);
    return {
      title: `${label}: what drives sales`,
      summary: reading(d.effects),
      facts: d.effects.map((e) => ({ label: e.driver, value: describe(e) })),
      chart: {
        spec: driversChart({
          title: `${label} · what drives de-seasonalised sales`,
          subtitle: `Standardised effects with 95% intervals · ${d.storeWeeks} store-weeks · data through ${window.lastWeek}`,
          rows: d.effects.map((e) => ({ driver: e.driver, estimate: e.estimate.beta, lower: e.estimate.lower, upper: e.estimate.upper, strength: e.strength })),
        }),
        alt: `Coefficient plot for ${label}: ${d.effects.map((e) => `${e.driver} ${signed(e.estimate.beta)} (${e.strength})`).join(', ')}.`,
      },
      table: {
        columns: ['driver', 'effect_sd_per_sd', 'lower_95', 'upper_95', 'strength'],
        rows: d.effects.map((e) => [e.driver, round4(e.estimate.beta), round4(e.estimate.lower), round4(e.estimate.upper), e.strength]),
        filename: `drivers-${scopeSlug(scope)}.csv`,
      },
      actions: [{ label: 'Markdown impact', command: markdownImpactLine( { store: scope.kind === 'store' ? scope.store : undefined, region: scope.kind === 'region' ? scope.region : undefined }) }],
      visibility: 'channel',
      context: {
        dataThrough: window.lastWeek,
        notes: [
          'sales and drivers net of each store\'s level, trend and season; weak = under 0.1 SD or an interval that includes zero',
          `together the drivers explain ${(100 * d.explained).toFixed(1)}% of what is left`,
        ],
      },
      data: { scope, ...d },
    };
  },
});

export default driversCommand;

const round4 = (v: number) => Math.round(v * 10_000) / 10_000;
