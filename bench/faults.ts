/**
 * Faults survived, measured (issue 21): a Postgres cluster of its own, two `storecast serve`
 * replicas with ingest calls running.
 *   npx tsx bench/faults.ts [repetitions=10]
 * Needs root (the cluster runs as the postgres user) and /usr/lib/postgresql/15/bin (PG_BIN).
 */
import { createRig, killMidDelivery, restartAndStop, rollingRestart, type OutageFigures } from '../test/helpers/fault-scenarios.ts';

const reps = Number(process.argv[2] ?? 10);
const rig = await createRig(2);
const runs: OutageFigures[] = [];
try {
  console.log('database restarted (fast), then stopped for 12 s, ingest on two replicas:');
  console.log('run  acked  lost  calls  failed-fast  failed-other  max-fail-ms  readyz-not-503  readyz-max-ms  recover-ms  exits');
  for (let i = 0; i < reps; i++) {
    const f = await restartAndStop(rig, i);
    runs.push(f);
    console.log(
      [i + 1, f.acknowledged, f.lost, f.calls, f.failedFast, f.failedOther, f.maxFailureMs, f.readyNot503, f.readyMaxMs, f.recoverMs, f.exits].map((v, k) => String(v).padStart(k ? [0, 5, 4, 5, 11, 12, 11, 14, 13, 10, 5][k]! : 3)).join('  '),
    );
    for (const o of f.others) console.log(`     other failure ${o.fromStopMs} ms after the stop: ${JSON.stringify(o)}`);
    for (const o of f.readyOthers) console.log(`     /readyz other than 503 ${o.fromStopMs} ms after the stop: ${JSON.stringify(o)}`);
  }
  type Figure = Exclude<keyof OutageFigures, 'others' | 'readyOthers'>;
  const sum = (k: Figure) => runs.reduce((s, f) => s + f[k], 0);
  const max = (k: Figure) => Math.max(...runs.map((f) => f[k]));
  console.log(
    `total: ${sum('acknowledged')} rows acknowledged, ${sum('lost')} lost; ${sum('calls')} calls, ${sum('failedFast')} failed fast (503 + Retry-After <= 5 s), ${sum('failedOther')} otherwise; ` +
      `slowest failure ${max('maxFailureMs')} ms; /readyz: ${sum('readyNot503')} answers other than 503 while stopped, slowest ${max('readyMaxMs')} ms; ` +
      `ready again after ${max('recoverMs')} ms at most; replica exits ${max('exits')}; crash lines ${rig.replicas.flatMap((r) => r.crashes()).length}`,
  );

  const kill = await killMidDelivery(rig);
  console.log(
    `replica ${kill.killed} SIGKILLed mid-delivery: ${kill.receipts} requests at the receiver, ${kill.keys.length} Idempotency-Key(s), ${kill.successes} answered 2xx, ` +
      `redelivered ${kill.redeliveredMs} ms after the kill (lease expired in the database), deliveries ${JSON.stringify([...kill.deliveries])}`,
  );

  const rolling = await rollingRestart(rig, 20);
  console.log(`rolling restart behind a readiness-routing proxy: ${rolling.requests} requests, ${rolling.failed} failed ${JSON.stringify(rolling.failures)}; exit codes ${rolling.exitCodes.join(', ')}; slowest stop ${rolling.maxStopMs} ms`);
} finally {
  await rig.close();
}
