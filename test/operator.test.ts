import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { listGrants } from '../src/access/grants.ts';
import { openPglite } from '../src/db/client.ts';
import { OPERATOR_FILE } from '../src/server/operator.ts';
import { runStorecast } from './helpers/cli.ts';

const bin = fileURLToPath(new URL('../bin/storecast.js', import.meta.url));
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function waitForLog(child: ChildProcess, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no "${text}" within 2 minutes:\n${out}`)), 120_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes(text)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
  });
}

describe('the shell’s admin commands go through a running embedded server', () => {
  it('grants, lists and revokes through the server; nothing is lost; the endpoint goes with the server', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'storecast-operator-'));
    dirs.push(dataDir);
    const env = { STORECAST_DATA_DIR: dataDir, DATABASE_URL: '', PORT: '0', HOST: '127.0.0.1', STORECAST_DEMO: 'never', STORECAST_TRAIN_ON_START: 'false', LOG_FORMAT: 'json' };
    const server = spawn(process.execPath, [bin, 'serve'], { env: { ...process.env, ...env, LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      await waitForLog(server, 'go through this server');
      const granted = await runStorecast(['access', 'grant', 'slack:T1/U9', '--store', '5', '--role', 'manager'], env);
      expect(granted.code, granted.stderr).toBe(0);
      expect(granted.stdout).toMatch(/Slack user U9 \(T1\) is manager of Store 5/);
      await runStorecast(['access', 'grant', 'slack:T1/U8', '--region', 'West'], env);
      const listed = await runStorecast(['access', 'list'], env);
      expect(listed.stdout).toContain('slack:T1/U9');
      expect(listed.stdout).toContain('through the running server');
      const revoked = await runStorecast(['access', 'revoke', 'slack:T1/U8'], env);
      expect(revoked.stdout).toContain('Revoked 1 grant');
      const token = await runStorecast(['tokens', 'create', '--name', 'pos', '--scope', 'ingest', '--json'], env);
      expect(token.code, token.stderr).toBe(0);
      expect(JSON.parse(token.stdout)).toMatchObject({ name: 'pos', scopes: ['ingest'], token: expect.stringMatching(/^sc_/) });
      // Commands without an API equivalent still refuse, naming the server's pid.
      const deliveries = await runStorecast(['deliveries'], env);
      expect(deliveries.code).toBe(3);
      expect(deliveries.stderr).toContain(String(server.pid));
    } finally {
      server.kill('SIGTERM');
      await new Promise((resolve) => server.once('exit', resolve));
    }
    expect(existsSync(join(dataDir, OPERATOR_FILE))).toBe(false);
    const db = await openPglite(dataDir);
    try {
      expect((await listGrants(db)).map((g) => `${g.principal} ${g.role} ${g.scope.kind}`)).toEqual(['slack:T1/U9 manager store']);
      const tokens = await db.query<{ name: string; revoked: boolean }>('SELECT name, revoked_at IS NOT NULL AS revoked FROM api_tokens ORDER BY created_at');
      expect(tokens).toEqual([expect.objectContaining({ name: expect.stringMatching(/^operator/), revoked: true }), { name: 'pos', revoked: false }]);
    } finally {
      await db.close();
    }
  }, 180_000);
});
