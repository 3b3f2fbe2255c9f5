import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runStorecast } from './helpers/cli.ts';
import { createTestDatabase, type TestDatabase } from './helpers/db.ts';

const storecast = (args: string[], env: Record<string, string>) => runStorecast(args, env);

describe('the operator’s CLI actions are audited', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase('postgres');
  });
  afterAll(() => t.cleanup());

  it('records each admin action as principal cli, with its outcome and no secret', async () => {
    const env = { DATABASE_URL: t.url! };
    const created = await storecast(['tokens', 'create', '--name', 'bi', '--scope', 'query'], env);
    expect(created.code).toBe(0);
    const secret = /sc_[A-Za-z0-9_-]+/.exec(created.stdout)![0];
    expect((await storecast(['access', 'grant', 'slack:T1/U1', '--store', '5'], env)).code).toBe(0);
    expect((await storecast(['tokens', 'revoke', 'sc_nothere'], env)).code).not.toBe(0);
    const rows = await t.db.query<{ principal: string; platform: string; command: string; outcome: string }>("SELECT principal, platform, command, outcome FROM audit_log WHERE platform = 'cli' ORDER BY id");
    expect(rows.map((r) => [r.command.split(' ').slice(0, 3).join(' '), r.outcome])).toEqual([
      ['storecast tokens create', 'ok'],
      ['storecast access grant', 'ok'],
      ['storecast tokens revoke', 'user-error'],
    ]);
    expect(rows.every((r) => r.principal === 'cli')).toBe(true);
    expect(JSON.stringify(rows)).not.toContain(secret);
  });
});
