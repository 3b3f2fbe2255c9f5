/**
 * Whether a 32-byte key looks random, by three rules simple enough to explain in an error:
 *
 *   1. at least 16 distinct byte values (a random key has ~30): refuses repeated characters
 *      (`aaaa…`, `0000…`) and short blocks repeated;
 *   2. at least 16 distinct steps between neighbouring bytes (a random key has ~29): refuses
 *      counting and other arithmetic sequences (00 01 02 …);
 *   3. not every byte a printable character: refuses a password or phrase encoded as a key.
 *
 * A key from `openssl rand -hex 32` breaks one of them with a probability below 10^-13; a key a
 * person typed breaks one almost always. This is no proof of entropy (nothing short of knowing
 * how the key was made is), only a guard against the keys people actually paste by mistake.
 */
const MIN_DISTINCT = 16;

/** Why `key` is too regular to be a random key, or undefined if it passes the rules above. */
export function keyWeakness(key: Uint8Array): string | undefined {
  const distinct = new Set(key).size;
  if (distinct < MIN_DISTINCT) {
    return `it has only ${distinct} distinct byte value${distinct === 1 ? '' : 's'} (a random key has about 30 of 32; at least ${MIN_DISTINCT} are required)`;
  }
  const steps = new Set<number>();
  for (let i = 1; i < key.length; i++) steps.add(((key[i] as number) - (key[i - 1] as number) + 256) % 256);
  if (steps.size < MIN_DISTINCT) return `its bytes follow a pattern (only ${steps.size} distinct steps between neighbouring bytes; at least ${MIN_DISTINCT} are required)`;
  if (key.every((b) => b >= 0x20 && b <= 0x7e)) return 'it is text (every byte is a printable character), not random bytes';
  return undefined;
}
