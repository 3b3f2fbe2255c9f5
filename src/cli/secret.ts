import { Command } from 'commander';
import { SecretKeyError } from '../delivery/crypto.ts';
import { planRotation, rotateSecretKey, type RotationPlan, type RotationResult } from '../delivery/rotate.ts';
import { EXIT_USAGE, withCli } from './context.ts';

/**
 * Exits 2 with the message when the webhook key is missing, weak or wrong (the message says
 * what to do; a stack trace would bury it); rethrows anything else.
 */
export function exitIfKeyRefused(err: unknown): never {
  if (!(err instanceof SecretKeyError)) throw err;
  process.stderr.write(`error: ${err.message}\n`);
  process.exit(EXIT_USAGE);
}

function report(plan: RotationPlan, result: RotationResult, json: boolean): string {
  const { destination } = plan;
  if (json) {
    return JSON.stringify({
      ...result,
      ...(destination.kind === 'file' ? { keyFile: destination.path } : {}),
      ...(destination.kind === 'print' ? { key: plan.to.toString('hex') } : {}),
    });
  }
  const n = result.what;
  const lines = [
    destination.kind === 'configured' ? `Re-encrypted ${n} from STORECAST_OLD_SECRET_KEY to the key in force.` : `Re-encrypted ${n} under a new key.`,
  ];
  if (result.dropped) lines.push(`Dropped the encrypted secrets of ${result.dropped} deleted subscription(s) or alert rule(s).`);
  if (destination.kind === 'file') lines.push(`The new key is in ${destination.path}; back it up with the data directory (older backups need the old key).`);
  if (destination.kind === 'print') {
    lines.push(
      `New STORECAST_SECRET_KEY (shown once): ${plan.to.toString('hex')}`,
      'Set it wherever storecast runs (every replica) and restart them; until then their deliveries fail and are retried.',
    );
  }
  if (destination.kind === 'configured') lines.push('Unset STORECAST_OLD_SECRET_KEY and restart the servers.');
  return lines.join('\n');
}

/** `storecast secret rotate`. Wire with program.addCommand(secretCommand()). */
export function secretCommand(): Command {
  const secret = new Command('secret').description('The key encrypting webhook URLs at rest (STORECAST_SECRET_KEY, or <data dir>/secret.key in the embedded mode).');
  secret
    .command('rotate')
    .description(
      'Re-encrypt every webhook subscription under a new key, in one transaction. Embedded mode: the new key replaces <data dir>/secret.key. ' +
        'With STORECAST_SECRET_KEY or DATABASE_URL: the new key is printed once, to set everywhere storecast runs. ' +
        'With STORECAST_OLD_SECRET_KEY: re-encrypts from that key to the key in force (STORECAST_SECRET_KEY).',
    )
    .option('--json', 'print JSON ({reencrypted, dropped, key | keyFile})')
    .action(async (opts: { json?: boolean }) => {
      await withCli(async ({ config, db }) => {
        try {
          const plan = planRotation(config);
          const result = await rotateSecretKey(db, plan);
          process.stdout.write(`${report(plan, result, opts.json === true)}\n`);
        } catch (err) {
          if (!(err instanceof SecretKeyError)) throw err;
          process.stderr.write(`error: ${err.message}\n`);
          process.exitCode = EXIT_USAGE;
        }
      });
    });
  return secret;
}
