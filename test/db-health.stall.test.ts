import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatabaseHealth, LATE, withinDeadline } from '../src/db/health.ts';
import { createTestDatabase, type TestDatabase } from './helpers/db.ts';

/** Blocks this thread, as a training step or a panel build on the serving thread does. */
function stall(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until);
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('the deadline of a probe after an event-loop stall', () => {
  it('an answer that arrived during the stall wins over the timer that fired after it', async () => {
    let answer!: () => void;
    const work = new Promise<string>((resolve) => (answer = () => resolve('answered')));
    const outcome = withinDeadline(work, 50);
    // The answer arrives as I/O does: in the poll phase of the turn after the stall.
    setTimeout(() => setImmediate(() => answer()), 10);
    stall(200);
    // The timer fired 150 ms late: that was the stall, not the work.
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(await outcome).toBe('answered');
  });

  it('work that is really late is LATE, stall or not', async () => {
    expect(await withinDeadline(new Promise(() => {}), 20)).toBe(LATE);
    const waiting = withinDeadline(new Promise(() => {}), 20);
    stall(100);
    expect(await waiting).toBe(LATE);
  });
});

// Postgres only: PGlite has no connection and its health is always up.
describe('a replica whose event loop stalls longer than the probe timeout (Postgres)', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase('postgres');
  });
  afterAll(async () => t?.cleanup());

  it('still reads the database as up when the probe answer came during the stall', async () => {
    const { health } = t.db;
    await health.check();
    expect(health.up).toBe(true);
    for (let round = 0; round < 3; round++) {
      const probing = health.check();
      // Round 0: the stall comes before the probe's query is even written; later rounds after.
      for (let turn = 0; turn < round; turn++) await nextTurn();
      stall(1_500);
      await probing;
      expect({ round, up: health.up }).toEqual({ round, up: true });
    }
  });
});

describe('probes that are slow, not refused', () => {
  const neverAnswers = () => new Promise<undefined>(() => {});

  it('a replica busy enough to miss one probe deadline stays up; three in a row name the database away', async () => {
    const health = new DatabaseHealth({ probe: neverAnswers, timeoutMs: 20 });
    const seen: boolean[] = [];
    health.onChange((up) => seen.push(up));
    await health.check();
    await health.check();
    expect(health.up).toBe(true);
    await health.check();
    expect(health.up).toBe(false);
    expect(seen).toEqual([false]);
  });

  it('a refused connection names it away at once, and one answer resets the count', async () => {
    let answer = false;
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const health = new DatabaseHealth({ probe: async () => (answer ? undefined : Promise.reject(refused)), timeoutMs: 20 });
    await health.check();
    expect(health.up).toBe(false);
    answer = true;
    await health.check();
    expect(health.up).toBe(true);
  });
});
