import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/*
 * What a serving replica loads when it starts. TensorFlow.js (tfjs + its wasm backend: ~56 MB
 * of RSS, 20 MB of heap in its sources alone) and PGlite (its WASM module, ~36 MB) are loaded
 * only when a network forecast runs or an embedded database opens; a replica on Postgres that
 * reads stored forecasts needs neither. A static import anywhere on the path from the server's
 * entry would bring them back at start, so this walks the imports that load at start: every
 * static import, `import { type X }` included (it still loads the module), but not
 * `import type` (erased) nor `import()` (loaded when reached).
 */
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const HEAVY = ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-node', '@electric-sql/pglite', 'drizzle-orm/pglite', 'drizzle-orm/pglite/migrator'];

/** The specifiers a file loads when it is loaded. */
function loadedAtImport(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const out: string[] = [];
  for (const s of source.statements) {
    if (ts.isImportDeclaration(s) && !s.importClause?.isTypeOnly && ts.isStringLiteral(s.moduleSpecifier)) out.push(s.moduleSpecifier.text);
    if (ts.isExportDeclaration(s) && !s.isTypeOnly && s.moduleSpecifier && ts.isStringLiteral(s.moduleSpecifier)) out.push(s.moduleSpecifier.text);
  }
  return out;
}

/**
 * Every heavy package reached from `entry` by imports that load at start, with the path that
 * reaches it; `files` counts the modules walked.
 */
function heavyReached(entry: string, files = { count: 0 }): string[] {
  const seen = new Map<string, string[]>([[entry, [entry]]]);
  const queue = [entry];
  const found: string[] = [];
  while (queue.length) {
    const file = queue.shift()!;
    files.count++;
    for (const spec of loadedAtImport(file)) {
      const path = [...seen.get(file)!, spec];
      if (HEAVY.includes(spec)) found.push(path.map((p) => p.replace(`${root}/`, '')).join(' -> '));
      if (!spec.startsWith('.')) continue;
      const next = resolve(dirname(file), spec);
      if (seen.has(next) || !existsSync(next)) continue;
      seen.set(next, path.slice(0, -1).concat(next));
      queue.push(next);
    }
  }
  return found;
}

describe('what a serving replica loads at start', () => {
  it('neither TensorFlow.js nor PGlite: they load when a network forecast runs or an embedded database opens', () => {
    const files = { count: 0 };
    expect(heavyReached(resolve(root, 'src/cli.ts'), files)).toEqual([]);
    // The whole server is walked (cli.ts -> server.ts, services, commands, forecast/...), not a stub.
    expect(files.count).toBeGreaterThan(200);
  });

  it('the walk follows relative imports to a static one, and passes over `import type` and `import()`', () => {
    const dir = mkdtempSync(join(tmpdir(), 'footprint-'));
    try {
      writeFileSync(join(dir, 'entry.ts'), "import type { PGlite } from '@electric-sql/pglite';\nimport { run } from './middle.ts';\nexport const later = () => import('drizzle-orm/pglite');\n");
      writeFileSync(join(dir, 'middle.ts'), "import { type Tensor } from '@tensorflow/tfjs';\nexport * from './leaf.ts';\n");
      writeFileSync(join(dir, 'leaf.ts'), "export const x = 1;\n");
      expect(heavyReached(join(dir, 'entry.ts')).map((p) => p.split(' -> ').map((x) => x.replace(`${dir}/`, '')).join(' -> '))).toEqual(['entry.ts -> middle.ts -> @tensorflow/tfjs']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
