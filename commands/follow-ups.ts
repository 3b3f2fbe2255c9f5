import type { ArgsOf, OptionDef } from '../src/chat/command.ts';
import { commandLine } from '../src/chat/parse.ts';
import { FIELD_RANGES } from '../src/data/limits.ts';

/**
 * The options of the commands whose answers point at one another (forecast, sales,
 * holiday-impact, drivers, markdown-impact), defined apart from their handlers: a follow-up
 * button is a command line built from these, typed, so the command files (and the weekly
 * summary) need not import each other to offer "Forecast" or "Sales history".
 */
export const forecastOptions = [
  { name: 'store', type: 'integer', ...FIELD_RANGES.store, required: true, positional: true, autocomplete: 'store', description: 'Store number' },
  { name: 'dept', type: 'integer', ...FIELD_RANGES.dept, aliases: ['department'], autocomplete: 'dept', description: 'Department number (default: the whole store)' },
  { name: 'horizon', type: 'integer', ...FIELD_RANGES.horizon, default: 8, positional: true, aliases: ['week', 'weeks', 'h'], description: 'Weeks ahead, 1-52 (default 8)' },
] as const satisfies readonly OptionDef[];

export const salesOptions = [
  { name: 'store', type: 'integer', ...FIELD_RANGES.store, required: true, positional: true, autocomplete: 'store', description: 'Store number' },
  { name: 'dept', type: 'integer', ...FIELD_RANGES.dept, aliases: ['department'], autocomplete: 'dept', description: 'Department number' },
  { name: 'from', type: 'date', aliases: ['since'], description: 'First week, YYYY-MM-DD (default: a year before the last)' },
  { name: 'to', type: 'date', aliases: ['until'], description: 'Last week, YYYY-MM-DD (default: latest)' },
] as const satisfies readonly OptionDef[];

export const HOLIDAY_CHOICES = ['super-bowl', 'labor-day', 'thanksgiving', 'christmas'] as const;

export const holidayImpactOptions = [
  { name: 'store', type: 'integer', ...FIELD_RANGES.store, positional: true, autocomplete: 'store', description: 'Store number (default: all stores)' },
  { name: 'region', type: 'string', description: 'Region name, e.g. South' },
  { name: 'holiday', type: 'choice', choices: HOLIDAY_CHOICES, description: 'Only this holiday' },
] as const satisfies readonly OptionDef[];

/** drivers and markdown-impact take the same area. */
export const areaOptions = [
  { name: 'store', type: 'integer', ...FIELD_RANGES.store, positional: true, autocomplete: 'store', description: 'Store number (default: all stores)' },
  { name: 'region', type: 'string', description: 'Region name, e.g. South' },
] as const satisfies readonly OptionDef[];

export const forecastLine = (args: ArgsOf<typeof forecastOptions>) => commandLine({ name: 'forecast', options: forecastOptions }, args);
export const salesLine = (args: ArgsOf<typeof salesOptions>) => commandLine({ name: 'sales', options: salesOptions }, args);
export const holidayImpactLine = (args: ArgsOf<typeof holidayImpactOptions>) => commandLine({ name: 'holiday-impact', options: holidayImpactOptions }, args);
export const driversLine = (args: ArgsOf<typeof areaOptions>) => commandLine({ name: 'drivers', options: areaOptions }, args);
export const markdownImpactLine = (args: ArgsOf<typeof areaOptions>) => commandLine({ name: 'markdown-impact', options: areaOptions }, args);
