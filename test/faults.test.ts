import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRig, killMidDelivery, restartAndStop, rollingRestart, type Rig } from './helpers/fault-scenarios.ts';

// Faults survived (issue 21), on a Postgres cluster of the suite's own (initdb in a temp dir,
// random port) with two `storecast serve` replicas. bench/faults.ts runs the outage ten times
// and prints the figures; this runs it twice and asserts the properties.
describe('faults: database restarted and stopped, a replica killed mid-delivery, a rolling restart', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await createRig(2);
  }, 120_000);
  afterAll(async () => rig?.close(), 60_000);

  it.each([0, 1])('database restarted, then stopped for 12 s (run %i): nothing acknowledged lost, failures fast 503s, ready again within 15 s, no replica exits', async (run) => {
    const f = await restartAndStop(rig, run);
    expect(f.acknowledged).toBeGreaterThan(0);
    expect(f.lost).toBe(0);
    expect(f.failedFast).toBeGreaterThan(0); // the outage was seen
    expect(f.failedOther).toBe(0); // no 500, no hang, no call without an answer
    expect(f.maxFailureMs).toBeLessThanOrEqual(5_000);
    expect(f.readyNot503).toBe(0);
    expect(f.readyMaxMs).toBeLessThan(1_500);
    expect(f.recoverMs).toBeLessThan(15_000);
    expect(f.okAfter).toBeGreaterThan(0);
    expect(f.exits).toBe(0);
    for (const r of rig.replicas) expect(r.crashes()).toEqual([]);
  }, 90_000);

  it('a replica killed mid-delivery: the other delivers after the lease, with the same Idempotency-Key, once', async () => {
    const f = await killMidDelivery(rig);
    expect(f.receipts).toBe(2);
    expect(f.keys).toHaveLength(1);
    expect(f.successes).toBe(1);
    expect(f.deliveries).toEqual([{ status: 'succeeded', attempts: 2 }]);
  }, 120_000);

  it('a rolling restart behind a readiness-routing proxy fails no request', async () => {
    const f = await rollingRestart(rig, 20);
    expect(f.requests).toBeGreaterThan(50);
    expect(f.failed).toBe(0);
    expect(f.exitCodes).toEqual([0, 0]);
  }, 120_000);
});
