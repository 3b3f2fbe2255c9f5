import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The real data set lives beside the repo, never inside it. */
export const WALMART_DIR = process.env.WALMART_DIR ?? fileURLToPath(new URL('../../shared/data/walmart/', import.meta.url));

export function walmartFile(name: string): string | undefined {
  const path = `${WALMART_DIR.replace(/\/$/, '')}/${name}`;
  return existsSync(path) ? path : undefined;
}

export function requireWalmart(...names: string[]): string[] {
  const paths = names.map(walmartFile);
  if (paths.some((p) => p === undefined)) {
    console.log(`skipped: the Walmart data set is not at ${WALMART_DIR} (set WALMART_DIR)`);
    process.exit(0);
  }
  return paths as string[];
}
