import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importFiles } from '../src/data/import.ts';
import type { Services } from '../src/services.ts';
import { createTestDatabase, DB_KINDS, type TestDatabase } from './helpers/db.ts';
import { asker, testServices } from './helpers/services.ts';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

describe.each(DB_KINDS)('command errors (%s)', (kind) => {
  let t: TestDatabase;
  let services: Services;
  const refuse = async (name: string, text: string) => {
    const outcome = await services.run({ name, text }, asker);
    if (outcome.kind !== 'user-error') throw new Error(`expected a user error for /${name} ${text}, got ${outcome.kind}`);
    expect(outcome.reply.visibility).toBe('ephemeral');
    return outcome.error;
  };

  beforeAll(async () => {
    t = await createTestDatabase(kind);
    services = testServices(t.db);
  });
  afterAll(() => t.cleanup());

  it('says there is no data yet before any import', async () => {
    expect((await refuse('forecast', 'store 1')).message).toMatch(/No sales data is loaded yet/);
    expect((await refuse('top', 'stores')).message).toMatch(/No sales data is loaded yet/);
  });

  it('names the stores that exist when a store has no data', async () => {
    await importFiles(t.db, [fixture('stores-cr.csv'), fixture('train-mixed.csv')]);
    const error = await refuse('forecast', 'store 99');
    expect(error.message).toBe('Store 99 has no sales data. Stores with data: 1-3 (3 stores).');
    expect(error.usage).toBe('/forecast store N [dept D] [horizon 1-52]');
    expect(error.example).toBe('/forecast store 5 week 12');
  });

  it('names the departments a store has', async () => {
    const error = await refuse('sales', 'store 1 dept 50');
    expect(error.message).toMatch(/Store 1 has no sales in department 50. It has 2 departments: 1, 2./);
    expect(error.suggestion).toBe('store 1 dept 2');
  });

  it('suggests the command for a misspelt name, keeping the arguments', async () => {
    const error = await refuse('forcast', 'store 5');
    expect(error).toMatchObject({ message: 'There is no /forcast command.', suggestion: '/forecast store 5' });
  });

  it('refuses out-of-range and malformed options', async () => {
    expect((await refuse('forecast', 'store 1 week 0')).message).toMatch(/horizon 0 is out of range/);
    expect((await refuse('sales', 'store 1 from 2012-02-30')).message).toMatch(/from must be a date like 2012-02-10/);
    expect((await refuse('sales', 'store 1 from 2012-03-02 to 2012-01-06')).message).toMatch(/"from" \(2012-03-02\) is after "to"/);
    expect((await refuse('holiday-impact', 'region atlantis')).message).toMatch(/No store has a region yet|There is no region "atlantis"/);
    expect((await refuse('holiday-impact', 'store 1 region south')).message).toBe('Give a store or a region, not both.');
    expect((await refuse('help', 'command forcast')).suggestion).toBe('/help forecast');
  });

  it('answers an internal failure with a reference, not the error', async () => {
    const broken = testServices(t.db);
    (broken as { forecaster: unknown }).forecaster = {
      name: 'broken',
      forecast: () => Promise.reject(new Error('secret connection string postgres://x')),
    };
    const { createServices } = await import('../src/services.ts');
    const s = createServices({ ...broken, forecaster: broken.forecaster });
    const outcome = await s.run({ name: 'forecast', text: 'store 1' }, asker, 'deadbeefcafe');
    expect(outcome.kind).toBe('internal-error');
    expect(outcome.reply.summary).toMatch(/Something went wrong on our side \(ref deadbeef\)/);
    expect(JSON.stringify(outcome.reply)).not.toMatch(/secret/);
  });
});
