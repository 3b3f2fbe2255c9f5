import fc from 'fast-check';
import { describe, expect, expectTypeOf, it } from 'vitest';
import forecastCommand from '../commands/forecast.ts';
import holidayImpactCommand from '../commands/holiday-impact.ts';
import { createRegistry } from '../commands/index.ts';
import type subscribeCommand from '../commands/subscribe.ts';
import topCommand from '../commands/top.ts';
import type { Command, OptionDef, OptionValue, ParsedOptions } from '../src/chat/command.ts';
import { splitCommandLine } from '../src/chat/dispatch.ts';
import { UserError } from '../src/chat/errors.ts';
import { commandLine, formatOptions, parseText, parseTyped } from '../src/chat/parse.ts';

const registry = createRegistry();
const forecast = registry.get('forecast')!;
const top = registry.get('top')!;
const holiday = registry.get('holiday-impact')!;

function refusal(command: Command, text: string): UserError {
  try {
    parseText(command, text);
  } catch (err) {
    if (err instanceof UserError) return err;
    throw err;
  }
  throw new Error(`"${text}" was accepted`);
}

describe('free-text arguments', () => {
  it.each([
    ['store 5 week 12', { store: 5, horizon: 12 }],
    ['store 5 weeks 12', { store: 5, horizon: 12 }],
    ['store=5 dept=7 horizon=12', { store: 5, dept: 7, horizon: 12 }],
    ['STORE 5 Dept 7', { store: 5, dept: 7, horizon: 8 }],
    ['5', { store: 5, horizon: 8 }],
    ['5 12', { store: 5, horizon: 12 }],
    ['store:5 h:3', { store: 5, horizon: 3 }],
  ])('/forecast %s', (text, expected) => {
    expect(parseText(forecast, text)).toEqual(expected);
  });

  it('reads choices, keywords and two-word holidays', () => {
    expect(parseText(top, 'stores by growth 5')).toMatchObject({ of: 'stores', by: 'growth', limit: 5, order: 'top' });
    expect(parseText(top, 'depts bottom 3')).toMatchObject({ of: 'depts', by: 'sales', limit: 3, order: 'bottom' });
    expect(parseText(holiday, 'all super bowl')).toEqual({ holiday: 'super-bowl' });
    expect(parseText(holiday, 'store 5 holiday Labor Day')).toEqual({ store: 5, holiday: 'labor-day' });
  });

  it('takes every store and department number an import takes (5-digit store numbers)', () => {
    expect(parseText(forecast, 'store 12345 dept 1234')).toMatchObject({ store: 12345, dept: 1234 });
    expect(refusal(forecast, 'store 100000').message).toMatch(/store 100000 is out of range: use 1 to 99999/);
  });

  it.each([
    ['store 5 week 0', /horizon 0 is out of range: use 1 to 52/],
    ['store 5 week 500', /horizon 500 is out of range/],
    ['week 12', /Missing store/],
    ['store', /store needs a value/],
    ['store five', /store must be a whole number, got "five"/],
    ['store 5 store 6', /store is given twice/],
    ['store 5 banana', /Unknown word "banana"/],
  ])('refuses /forecast %s with usage and an example', (text, message) => {
    const err = refusal(forecast, text);
    expect(err.message).toMatch(message);
    expect(err.details.usage).toBe('/forecast store N [dept D] [horizon 1-52]');
    expect(err.details.example).toBe('/forecast store 5 week 12');
  });

  it('suggests near misses of keywords and choices', () => {
    expect(refusal(forecast, 'stor 5').details.suggestion).toBe('store 5');
    expect(refusal(forecast, 'store 5 weks 4').details.suggestion).toBe('weeks 4');
    expect(refusal(top, 'stores by grwth').details.suggestion).toBe('by growth');
  });

  it('applies the same validation to typed (Discord) options', () => {
    expect(parseTyped(forecast, { store: 5, horizon: 12 })).toEqual({ store: 5, horizon: 12 });
    expect(() => parseTyped(forecast, { store: 5, horizon: 60 })).toThrow(/out of range/);
    expect(() => parseTyped(forecast, {})).toThrow(/Missing store/);
  });
});

describe('parser properties', () => {
  const commands = [...registry.values()];

  it('never throws anything but a UserError, whatever the text', () => {
    fc.assert(
      fc.property(fc.constantFrom(...commands), fc.string({ maxLength: 80 }), (command, text) => {
        try {
          parseText(command, text);
        } catch (err) {
          expect(err).toBeInstanceOf(UserError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws anything but a UserError on word salads of its own vocabulary', () => {
    const words = ['store', 'dept', 'week', 'weeks', 'horizon', 'by', 'growth', 'sales', 'top', 'bottom', 'all', 'super', 'bowl', '5', '0', '999', '-3', '2012-02-10', '=', 'stores', 'depts'];
    fc.assert(
      fc.property(fc.constantFrom(...commands), fc.array(fc.constantFrom(...words), { maxLength: 8 }), (command, tokens) => {
        try {
          parseText(command, tokens.join(' '));
        } catch (err) {
          expect(err).toBeInstanceOf(UserError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('round-trips the canonical form of valid forecast options', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9999 }), fc.option(fc.integer({ min: 1, max: 999 }), { nil: undefined }), fc.integer({ min: 1, max: 52 }), (store, dept, horizon) => {
        const options = { store, dept, horizon };
        const text = formatOptions(forecast, options);
        const parsed = parseText(forecast, text);
        expect(parsed).toEqual(dept === undefined ? { store, horizon } : options);
        // The documented alternative spellings read the same.
        expect(parseText(forecast, text.replace('horizon', 'weeks'))).toEqual(parsed);
        expect(parseText(forecast, text.replace(/ (\d+)/g, '=$1'))).toEqual(parsed);
      }),
    );
  });
});

describe('/subscribe schedule words', () => {
  it('reads the issue\'s form "every monday 08:00" without the "at" keyword', () => {
    const subscribe = createRegistry().get('subscribe')!;
    const withAt = parseText(subscribe, 'weekly-summary store 5 every monday at 08:00 tz America/Chicago');
    const bare = parseText(subscribe, 'weekly-summary store 5 every monday 08:00 tz America/Chicago');
    expect(bare).toEqual(withAt);
    expect(bare).toMatchObject({ store: 5, every: 'monday', at: '08:00', tz: 'America/Chicago' });
  });
});

/** A value free text can carry: one word that is not one of the command's keywords. */
function valueOf(command: Command, o: OptionDef): fc.Arbitrary<OptionValue> {
  switch (o.type) {
    case 'integer':
      return fc.integer({ min: o.min, max: o.max });
    case 'choice':
      return fc.constantFrom(...o.choices);
    case 'date':
      return fc
        .date({ min: new Date('1990-01-01'), max: new Date('2099-12-31'), noInvalidDate: true })
        .map((d) => d.toISOString().slice(0, 10));
    case 'string': {
      const keywords = new Set(command.options.flatMap((x) => [x.name, ...(x.aliases ?? [])]));
      return fc.stringMatching(/^[A-Za-z0-9][\w./+-]{0,15}$/).filter((w) => !keywords.has(w.toLowerCase()));
    }
    case 'principal':
      // Keys: free text without a chat place has no workspace to read a mention in.
      return fc.oneof(
        fc.tuple(fc.constantFrom('slack', 'discord', 'discord-role'), fc.stringMatching(/^[A-Za-z0-9_-]{0,8}$/), fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/)).map(([p, w, id]) => `${p}:${w}/${id}`),
        fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/).map((id) => `token:${id}`),
      );
  }
}

/** Any options of `command`: required ones always, the others sometimes. */
function optionsOf(command: Command): fc.Arbitrary<ParsedOptions> {
  return fc.record(
    Object.fromEntries(command.options.map((o) => [o.name, o.required ? valueOf(command, o) : fc.option(valueOf(command, o), { nil: undefined })])),
  );
}

/** What the parser gives for `options`: the same values, defaults filled in, nothing undefined. */
function withDefaults(command: Command, options: ParsedOptions): ParsedOptions {
  return Object.fromEntries(command.options.flatMap((o) => {
    const value = options[o.name] ?? o.default;
    return value === undefined ? [] : [[o.name, value]];
  }));
}

describe('commandLine: follow-up command lines', () => {
  it('builds canonical lines from the definition, defaults left out', () => {
    expect(commandLine(forecastCommand, { store: 5, horizon: 8 })).toBe('/forecast store 5');
    expect(commandLine(forecastCommand, { store: 5, dept: undefined, horizon: 16 })).toBe('/forecast store 5 horizon 16');
    expect(commandLine(holidayImpactCommand, {})).toBe('/holiday-impact');
    expect(commandLine(topCommand, { of: 'stores', by: 'growth', limit: 5, order: 'bottom' })).toBe('/top by growth limit 5 order bottom');
  });

  it('reads back to the same options, for every command and any options it can carry', () => {
    const commands = [...registry.values()];
    fc.assert(
      fc.property(
        fc.constantFrom(...commands).chain((command) => fc.tuple(fc.constant(command), optionsOf(command))),
        ([command, options]) => {
          const { name, text } = splitCommandLine(commandLine(command, options));
          expect(name).toBe(command.name);
          expect(parseText(command, text ?? '')).toEqual(withDefaults(command, options));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('types options from the definitions, for handlers and for follow-ups', () => {
    expectTypeOf<Parameters<typeof forecastCommand.handler>[0]>().toEqualTypeOf<{ store: number; dept: number | undefined; horizon: number }>();
    expectTypeOf<Parameters<typeof topCommand.handler>[0]>().toEqualTypeOf<{
      of: 'stores' | 'depts';
      by: 'sales' | 'growth';
      limit: number;
      order: 'top' | 'bottom';
      weeks: number;
      segment: number | undefined;
    }>();
    expectTypeOf<Parameters<typeof holidayImpactCommand.handler>[0]>().toEqualTypeOf<{
      store: number | undefined;
      region: string | undefined;
      holiday: 'super-bowl' | 'labor-day' | 'thanksgiving' | 'christmas' | undefined;
    }>();
    expectTypeOf<Parameters<typeof subscribeCommand.handler>[0]>().toMatchTypeOf<{ summary: 'weekly-summary'; store: number | undefined; tz: string | undefined }>();
    // A follow-up must give the target's required options, spelt as it defines them.
    // @ts-expect-error store is required
    commandLine(forecastCommand, { horizon: 4 });
    // @ts-expect-error no option "stor"
    commandLine(forecastCommand, { store: 5, stor: 5 });
    // @ts-expect-error "growht" is not a choice of by
    commandLine(topCommand, { by: 'growht' });
  });
});
