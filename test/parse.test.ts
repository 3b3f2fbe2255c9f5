import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRegistry } from '../commands/index.ts';
import type { Command } from '../src/chat/command.ts';
import { UserError } from '../src/chat/errors.ts';
import { formatOptions, parseText, parseTyped } from '../src/chat/parse.ts';

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
