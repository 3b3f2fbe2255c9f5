import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/db/client.ts';
import type { Services } from '../src/services.ts';
import { openTestDatabase } from './helpers/db.ts';
import { asker, testServices } from './helpers/services.ts';

/** Wrong arguments to the analytics commands: what was wrong, the usage and an example, nothing run. */
describe('markdowns, campaigns, drivers, segments: wrong arguments', () => {
  let db: Database;
  let services: Services;
  const refusal = async (name: string, text: string) => {
    const outcome = await services.run({ name, text }, asker);
    expect(outcome.kind).toBe('user-error');
    if (outcome.kind !== 'user-error') throw new Error('not refused');
    return outcome.error;
  };

  beforeAll(async () => {
    db = await openTestDatabase([1, 2, 3, 4, 5, 6, 7, 8]);
    services = testServices(db);
  }, 120_000);
  afterAll(() => db.close());

  it('/campaign create without stores, dates or a name says which is missing, with usage and an example', async () => {
    const noStores = await refusal('campaign', 'create spring-push from 2012-03-02 to 2012-04-27');
    expect(noStores.message).toBe('Say which stores ran the campaign, e.g. "stores 1,5,7".');
    expect(noStores.usage).toMatch(/^\/campaign action create\|delete/);
    expect(noStores.example).toBe('/campaign create spring-push stores 1,5,7 from 2012-03-02 to 2012-04-27');
    expect((await refusal('campaign', 'create spring-push stores 1,5')).message).toContain('Say when it ran');
    expect((await refusal('campaign', 'create stores 1,5 from 2012-03-02 to 2012-04-27')).message).toContain('Name the campaign');
    expect((await refusal('campaign', 'create p stores 1,x from 2012-03-02 to 2012-04-27')).message).toContain('"x" is not a store number');
    expect((await refusal('campaign', 'create p stores 1,99 from 2012-03-02 to 2012-04-27')).message).toBe('Unknown store: 99.');
    expect((await refusal('campaign', 'create p stores 1 from 2012-04-27 to 2012-03-02')).message).toContain('ends (2012-03-02) before it starts');
    expect((await refusal('campaign', 'create p stores 1,2 controls 2,3 from 2012-03-02 to 2012-04-27')).message).toContain('both in the campaign and a control');
  });

  it('/campaign-impact and /compare: unknown campaign, stores on both sides, a window after the data', async () => {
    expect((await refusal('campaign-impact', 'nope')).message).toMatch(/^There is no campaign called nope\./);
    expect((await refusal('compare', 'stores 1,2 vs 2,3 from 2012-03-02 to 2012-04-27')).message).toBe('Store 2 is on both sides.');
    expect((await refusal('compare', 'stores 1,2 vs 3,4 from 2013-03-01 to 2013-04-26')).message).toContain('starts after the data ends (2012-10-26)');
    expect((await refusal('compare', 'stores 1,2 vs 3,4 from 2010-02-05 to 2010-03-05')).message).toContain('at least 8 weeks of data before it');
    const missing = await refusal('compare', 'stores 1,2 from 2012-03-02');
    expect(missing.message).toContain('Missing to');
  });

  it('/markdown-impact, /drivers and /top name what exists', async () => {
    const store = await refusal('markdown-impact', 'store 99');
    expect(store.message).toBe('Store 99 has no sales data. Stores with data: 1-8 (8 stores).');
    expect((await refusal('drivers', 'store 1 region South')).message).toBe('Give a store or a region, not both.');
    const segment = await refusal('top', 'stores in segment 9');
    expect(segment.message).toMatch(/^There is no segment 9\. Segments: 1, 2/);
  });
});
