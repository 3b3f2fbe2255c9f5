import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/*
 * The import graph keeps the layers of the house (README "How it is built"): an import points
 * down, never up, and never in a circle. Every import counts, `import type` included: a type
 * that lives in a higher layer ties the lower one to it all the same. Written by directory, so
 * moving a file between rooms of one layer (src/webhooks -> src/delivery) keeps it valid.
 */
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ROOTS = ['src', 'commands', 'charts'];

/** The ground and the core: what every feature stands on. */
const LOWER = ['src/db/', 'src/config.ts', 'src/access/', 'src/chat/'];
/** The domain, delivery and the edges. */
const HIGHER = ['src/analytics/', 'src/forecast/', 'src/data/', 'src/delivery/', 'src/webhooks/', 'src/alerts/', 'src/services.ts', 'src/server/', 'src/server.ts', 'src/api/', 'src/adapters/', 'src/cli/', 'src/cli.ts', 'commands/'];
/**
 * Within the higher layer: the analytics and model rooms know nothing of how answers travel or
 * who asked. (The data-changed pipeline, src/data/changed.ts, ends in alert evaluation: alerts are
 * not an edge.)
 */
const DOMAIN = ['src/analytics/', 'src/forecast/', 'src/data/', 'src/stock/'];
const EDGES = ['src/delivery/', 'src/services.ts', 'src/server/', 'src/server.ts', 'src/api/', 'src/adapters/', 'src/cli/', 'src/cli.ts', 'commands/'];

/**
 * The imports from a lower layer up to a higher one that remain, each with its reason. An entry
 * that no longer matches an import fails the test, so the list only shrinks.
 */
const ALLOWED_UP: Record<string, string> = {
  // The context every handler receives carries the forecaster; its interface is forecasting's own
  // (ForecastResult, NoDataError) and a type import only: no code of forecast/ loads with chat/.
  'src/chat/command.ts -> src/forecast/forecaster.ts': 'type only: CommandContext carries the forecaster service',
};

/**
 * Cycles still open on this branch, each with who closes it. Stale entries fail the test too:
 * when the cycle is gone, its entry goes.
 */
const OPEN_CYCLES: Record<string, string> = {
  // Issue 20's delivery half (branch delivery-core) moves sending into src/delivery/ with one
  // Retry-After parser and one list of permanent failures, which ends this pair.
};

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) => {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory()) return sourceFiles(path);
    return /\.(ts|mts)$/.test(e.name) && !e.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Every relative import of a file (static, type-only, re-exports, dynamic), as repository paths. */
function importsOf(file: string, known: Set<string>): string[] {
  const info = ts.preProcessFile(readFileSync(join(root, file), 'utf8'), true, true);
  const out: string[] = [];
  for (const { fileName } of info.importedFiles) {
    if (!fileName.startsWith('.')) continue;
    const target = relative(root, resolve(root, dirname(file), fileName)).split('\\').join('/');
    const found = [target, `${target}.ts`, `${target}/index.ts`].find((c) => known.has(c));
    if (found) out.push(found);
  }
  return out;
}

const files = ROOTS.flatMap(sourceFiles);
const known = new Set(files);
const graph = new Map(files.map((f) => [f, importsOf(f, known)]));

/** Strongly connected components with more than one file (or a file importing itself): Tarjan. */
function cycles(): string[][] {
  let index = 0;
  const stack: string[] = [];
  const state = new Map<string, { index: number; low: number; onStack: boolean }>();
  const found: string[][] = [];
  const visit = (v: string) => {
    const s = { index, low: index, onStack: true };
    index++;
    state.set(v, s);
    stack.push(v);
    for (const w of graph.get(v) ?? []) {
      const t = state.get(w);
      if (!t) {
        visit(w);
        s.low = Math.min(s.low, state.get(w)!.low);
      } else if (t.onStack) s.low = Math.min(s.low, t.index);
    }
    if (s.low !== s.index) return;
    const component: string[] = [];
    for (let w = stack.pop()!; ; w = stack.pop()!) {
      state.get(w)!.onStack = false;
      component.push(w);
      if (w === v) break;
    }
    if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
  };
  for (const f of files) if (!state.has(f)) visit(f);
  return found;
}

const within = (file: string, layer: readonly string[]) => layer.some((p) => (p.endsWith('/') ? file.startsWith(p) : file === p));

describe('the import graph', () => {
  it('reads the whole tree (a broken scan would pass everything)', () => {
    expect(files.length).toBeGreaterThan(150);
    expect(graph.get('src/data/import.ts')).toContain('src/data/formats.ts');
  });

  it('has no import cycles', () => {
    const found = cycles().map((c) => c.join(' <-> '));
    expect(found.filter((c) => !(c in OPEN_CYCLES))).toEqual([]);
    expect(Object.keys(OPEN_CYCLES).filter((c) => !found.includes(c))).toEqual([]);
  });

  it('lower layers (db, config, access, chat) import nothing from higher ones, but the listed exceptions', () => {
    const up: string[] = [];
    for (const [file, imports] of graph) {
      if (!within(file, LOWER)) continue;
      for (const target of imports) if (within(target, HIGHER)) up.push(`${file} -> ${target}`);
    }
    expect(up.filter((edge) => !(edge in ALLOWED_UP))).toEqual([]);
    // Stale exceptions are removed, not kept "just in case".
    expect(Object.keys(ALLOWED_UP).filter((edge) => !up.includes(edge))).toEqual([]);
  });

  it('analytics, forecasting, data and stock import nothing from delivery, commands or the edges (they are handed callbacks)', () => {
    const up: string[] = [];
    for (const [file, imports] of graph) {
      if (!within(file, DOMAIN)) continue;
      for (const target of imports) if (within(target, EDGES)) up.push(`${file} -> ${target}`);
    }
    expect(up).toEqual([]);
  });
});
