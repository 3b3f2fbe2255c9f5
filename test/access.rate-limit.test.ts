import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/server/app.ts';
import { createTestDatabase, type TestDatabase } from './helpers/db.ts';
import { testServices } from './helpers/services.ts';

describe('commands per minute per principal (STORECAST_RATE_LIMIT)', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase('pglite');
  });
  afterAll(() => t.cleanup());

  it('answers chat askers past the limit with a friendly private note, per principal, and never limits the operator', async () => {
    const services = testServices(t.db, { STORECAST_RATE_LIMIT: '3' });
    const ann = { platform: 'slack' as const, workspace: 'T1', channel: 'C1', user: 'U1', roles: [] };
    const bob = { ...ann, user: 'U2' };
    const kinds = [];
    for (let i = 0; i < 4; i++) kinds.push((await services.run({ name: 'help' }, ann)).kind);
    expect(kinds).toEqual(['ok', 'ok', 'ok', 'limited']);
    const limited = await services.run({ name: 'help' }, ann);
    expect(limited.reply.visibility).toBe('ephemeral');
    expect(limited.reply.summary).toMatch(/more than 3 questions in the last minute.*try again in \d+ s/);
    expect((await services.run({ name: 'help' }, bob)).kind).toBe('ok');
    for (let i = 0; i < 5; i++) expect((await services.run({ name: 'help' }, { platform: 'cli', roles: [] })).kind).toBe('ok');
    expect((await services.metrics.errors.get()).values).toContainEqual(expect.objectContaining({ labels: { kind: 'limited' }, value: 2 }));
  });

  it('answers the API with 429 and Retry-After', async () => {
    const { app } = createApp(testServices(t.db, { STORECAST_RATE_LIMIT: '2' }));
    const post = () => app.request('/api/v1/commands', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ command: '/help' }) });
    expect([(await post()).status, (await post()).status]).toEqual([200, 200]);
    const res = await post();
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await res.json()).toMatchObject({ kind: 'limited' });
  });
});
