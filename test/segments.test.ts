import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addGrant } from '../src/access/grants.ts';
import { loadSegments } from '../src/analytics/segments.ts';
import type { Asker, Services } from '../src/services.ts';
import { createTestDatabase, DB_KINDS, importDemoStores, type TestDatabase } from './helpers/db.ts';
import { asker, testServices } from './helpers/services.ts';

/**
 * A segment as a scope (/top stores in segment N) in restricted mode: an unknown segment is a
 * usage error for everyone; only an existing segment with no store the asker may see is refused.
 */
describe.each(DB_KINDS)('segments as a scope, restricted (%s)', (kind) => {
  let t: TestDatabase;
  let services: Services;
  /** Segment -> its stores, as computed from the 9 demo stores. */
  let members: Map<number, number[]>;
  const viewer: Asker = { platform: 'slack', workspace: 'T1', channel: 'C1', user: 'USEG', roles: [] };
  const nobody: Asker = { platform: 'slack', workspace: 'T1', channel: 'C1', user: 'UNONE', roles: [] };
  const top = (text: string, who: Asker) => services.run({ name: 'top', text }, who);
  const mine = [1, 2];

  beforeAll(async () => {
    t = await createTestDatabase(kind);
    await importDemoStores(t.db, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    services = testServices(t.db, { STORECAST_ACCESS: 'restricted' });
    for (const store of mine) await addGrant(t.db, { principal: 'slack:T1/USEG', role: 'viewer', scope: { kind: 'store', store } });
    members = new Map();
    for (const r of await loadSegments(t.db)) members.set(r.segment, [...(members.get(r.segment) ?? []), r.store]);
  }, 120_000);
  afterAll(() => t.cleanup());

  const usableSegments = () => [...members].filter(([, stores]) => stores.some((s) => mine.includes(s))).map(([segment]) => segment);
  const hiddenSegment = () => [...members].find(([, stores]) => !stores.some((s) => mine.includes(s)))![0];

  it('an unknown segment is a usage error for a chain admin, a restricted viewer and someone with no access alike', async () => {
    expect(members.size).toBeGreaterThanOrEqual(3);
    for (const who of [asker, viewer, nobody]) {
      const outcome = await top('stores in segment 9', who);
      expect(outcome.kind, `${who.user ?? who.platform}: ${outcome.reply.summary}`).toBe('user-error');
      if (outcome.kind !== 'user-error') continue;
      expect(outcome.error.message).toMatch(/^There is no segment 9\b/);
      expect(outcome.error.usage).toMatch(/^\/top /);
    }
    // The viewer is told the segments they may use: those holding a store they may see.
    const told = await top('stores in segment 9', viewer);
    expect(told.reply.summary).toContain(`Segments you may use: ${usableSegments().join(', ')} (see /segments).`);
  });

  it('an existing segment is refused only when none of its stores is visible, and narrowed otherwise', async () => {
    const hidden = await top(`stores in segment ${hiddenSegment()}`, viewer);
    expect(hidden.kind).toBe('denied');
    for (const segment of usableSegments()) {
      const ok = await top(`stores in segment ${segment}`, viewer);
      expect(ok.kind).toBe('ok');
      const ranked = (ok.reply.data.rows as { id: number }[]).map((r) => r.id);
      expect(ranked.every((s) => mine.includes(s))).toBe(true);
    }
  });

  it('segments not computed yet (a database imported before them) are computed before access is judged, not read as empty', async () => {
    const segment = hiddenSegment();
    await t.db.exec('DELETE FROM store_segments');
    const outcome = await top(`stores in segment ${segment}`, viewer);
    expect(outcome.kind, outcome.reply.summary).toBe('denied');
    expect(outcome.reply.data.rows).toBeUndefined();
  });
});
