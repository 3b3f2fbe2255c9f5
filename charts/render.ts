/**
 * Spec -> image. Vega-Lite is compiled to Vega, parsed, run headless (`renderer: 'none'`) and
 * drawn on a node-canvas canvas, in DejaVu Sans (registerFonts) when its files are present.
 * A spec carries its data inline: one naming a URL (data, image, lookup) is refused before it
 * is parsed, and the view's loader refuses every load, so a spec from a backup or a stale row
 * can never make the server read a file or fetch a URL (issue 19).
 */
import { existsSync } from 'node:fs';
import { registerFont } from 'canvas';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { ChartRefused, externalLoads } from './inline.ts';
import { encodePng, type NodeCanvasLike } from './png.ts';
import { FONT } from './theme.ts';

export { ChartRefused, externalLoads };

export interface RenderOptions {
  /** Pixel ratio: 2 (the default) gives a sharp image on high-DPI screens (~1500 px wide). */
  scale?: number;
}

// --- fonts -----------------------------------------------------------------------------------

const FONT_DIRS = ['/usr/share/fonts/truetype/dejavu', '/usr/share/fonts/TTF', '/usr/share/fonts/dejavu'];
const FONT_FILES: { file: string; weight: string; style: string }[] = [
  { file: 'DejaVuSans.ttf', weight: 'normal', style: 'normal' },
  { file: 'DejaVuSans-Bold.ttf', weight: 'bold', style: 'normal' },
  { file: 'DejaVuSans-Oblique.ttf', weight: 'normal', style: 'italic' },
];

/** Which font files were registered with node-canvas (empty: fontconfig decides, or no render yet). */
export const registeredFonts: string[] = [];
let fontsRegistered = false;

/**
 * Registers the DejaVu Sans files with node-canvas, looking in `dir` (config.fontDir) before the
 * system font directories, so text never depends on what fontconfig happens to pick. A
 * registration lasts as long as the process, so the first call decides: createServices makes it
 * with the configured directory, and every render makes sure it happened.
 */
export function registerFonts(dir?: string): readonly string[] {
  if (fontsRegistered) return registeredFonts;
  fontsRegistered = true;
  const dirs = dir ? [dir, ...FONT_DIRS] : FONT_DIRS;
  for (const { file, weight, style } of FONT_FILES) {
    const found = dirs.map((d) => `${d}/${file}`).find((path) => existsSync(path));
    if (!found) continue;
    registerFont(found, { family: FONT, weight, style });
    registeredFonts.push(found);
  }
  return registeredFonts;
}

// --- inline data only -------------------------------------------------------------------------

const refuse = (what: string) => () => Promise.reject(new ChartRefused([what]));

/** A Vega loader that loads nothing: no file, no URL (the second lock, behind externalLoads). */
const NO_LOADS = { load: refuse('load'), sanitize: refuse('sanitize'), http: refuse('http'), file: refuse('file') } as unknown as vega.Loader;

// --- compile + parse cache ---------------------------------------------------------------------

const CACHE_SIZE = 32;
/** JSON of the input spec -> parsed Vega runtime spec (what `new vega.View` takes). LRU. */
const parsedCache = new Map<string, vega.Runtime>();

function isVegaSpec(spec: Record<string, unknown>): boolean {
  const schema = spec.$schema;
  return typeof schema === 'string' && /\/schema\/vega\/v\d/.test(schema);
}

/** Vega-Lite (or an already-compiled Vega spec) -> Vega spec. */
export function toVega(spec: Record<string, unknown> | TopLevelSpec): vega.Spec {
  const s = spec as Record<string, unknown>;
  if (isVegaSpec(s)) return s as vega.Spec;
  return compile(spec as TopLevelSpec).spec as vega.Spec;
}

function parsed(spec: Record<string, unknown> | TopLevelSpec): vega.Runtime {
  const key = JSON.stringify(spec);
  const hit = parsedCache.get(key);
  if (hit) {
    parsedCache.delete(key);
    parsedCache.set(key, hit);
    return hit;
  }
  const runtime = vega.parse(toVega(spec));
  parsedCache.set(key, runtime);
  if (parsedCache.size > CACHE_SIZE) {
    const oldest = parsedCache.keys().next().value;
    if (oldest !== undefined) parsedCache.delete(oldest);
  }
  return runtime;
}

/** Empties the compile/parse cache (tests, memory pressure). */
export function clearRenderCache(): void {
  parsedCache.clear();
}

/** A Vega logger that keeps errors (to be thrown) and drops warnings (no console noise). */
function captureLogger(errors: unknown[]): vega.LoggerInterface {
  const base = vega.logger(vega.Error);
  const logger = {
    level(...args: unknown[]) {
      if (args.length) return logger;
      return base.level();
    },
    error(...args: unknown[]) {
      errors.push(args.length === 1 ? args[0] : args.map(String).join(' '));
      return logger;
    },
    warn: () => logger,
    info: () => logger,
    debug: () => logger,
  };
  return logger as unknown as vega.LoggerInterface;
}

async function withView<T>(spec: Record<string, unknown> | TopLevelSpec, fn: (view: vega.View) => Promise<T>): Promise<T> {
  const loads = externalLoads(spec);
  if (loads.length) throw new ChartRefused(loads);
  registerFonts();
  const errors: unknown[] = [];
  const view = new vega.View(parsed(spec), { renderer: 'none', logger: captureLogger(errors), loader: NO_LOADS });
  try {
    await view.runAsync();
    if (errors.length) throw renderError(errors);
    const out = await fn(view);
    if (errors.length) throw renderError(errors);
    return out;
  } finally {
    view.finalize();
  }
}

function renderError(errors: unknown[]): Error {
  const first = errors[0];
  const err = new Error(`chart render failed: ${first instanceof Error ? first.message : String(first)}`);
  if (first instanceof Error) (err as Error & { cause?: unknown }).cause = first;
  return err;
}

// --- public API ------------------------------------------------------------------------------

/** Renders a Vega-Lite spec (or a Vega spec) to a PNG. Default scale 2. */
export async function renderPng(
  spec: Record<string, unknown> | TopLevelSpec,
  { scale = 2 }: RenderOptions = {},
): Promise<Buffer> {
  if (!(scale > 0 && scale <= 8)) throw new RangeError(`renderPng: scale must be in (0, 8], got ${scale}`);
  return withView(spec, async (view) => {
    const canvas = (await view.toCanvas(scale)) as unknown as NodeCanvasLike;
    return encodePng(canvas);
  });
}

/** Renders a Vega-Lite spec (or a Vega spec) to an SVG document string. */
export async function renderSvg(spec: Record<string, unknown> | TopLevelSpec): Promise<string> {
  return withView(spec, (view) => view.toSVG());
}

/** Width and height of a PNG, read from its IHDR chunk; throws if `png` is not a PNG. */
export function pngSize(png: Uint8Array): { width: number; height: number } {
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (png.length < 24 || sig.some((b, i) => png[i] !== b)) throw new Error('not a PNG (bad signature)');
  const dv = new DataView(png.buffer, png.byteOffset, png.byteLength);
  if (String.fromCharCode(png[12]!, png[13]!, png[14]!, png[15]!) !== 'IHDR') throw new Error('not a PNG (no IHDR)');
  return { width: dv.getUint32(16), height: dv.getUint32(20) };
}
