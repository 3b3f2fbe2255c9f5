import type * as tf from '@tensorflow/tfjs';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';

/**
 * The one place that chooses the TensorFlow.js backend:
 *   1. `tensorflow` — @tensorflow/tfjs-node (native libtensorflow), an optionalDependency used
 *      when it installed;
 *   2. `wasm` — @tensorflow/tfjs-backend-wasm (SIMD, single thread in Node; ~4x the cpu
 *      backend for training here);
 *   3. `cpu` — pure JavaScript, always available.
 * TF_BACKEND=auto tries them in that order; naming one makes it the first choice, and a
 * missing one falls back down the list with a warning rather than failing the server.
 */

export type Tf = typeof tf;

let loaded: Tf | undefined;

/**
 * Loads TensorFlow.js and its wasm backend on first use. Not imported with the module: a
 * serving replica that reads stored forecasts never runs the network, and tfjs's sources alone
 * are ~20 MB of its heap (56 MB of RSS).
 */
export async function loadTf(): Promise<Tf> {
  if (!loaded) {
    const restore = snapshotProcessHandlers();
    try {
      const [mod] = await Promise.all([import('@tensorflow/tfjs'), import('@tensorflow/tfjs-backend-wasm')]);
      loaded = mod;
    } finally {
      restore();
    }
  }
  return loaded;
}

/** TensorFlow.js, for code that runs after ensureBackend (which loads it) chose a backend. */
export function tfjs(): Tf {
  if (!loaded) throw new Error('TensorFlow.js is not loaded yet: call ensureBackend (or loadTf) first');
  return loaded;
}
export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export type BackendPreference = Config['tfBackend'];

export interface BackendChoice {
  backend: BackendName;
  /** Backends tried before it, and why they were passed over. */
  skipped: { backend: BackendName; reason: string }[];
}

export interface BackendDeps {
  /** Loads @tensorflow/tfjs-node (registers the 'tensorflow' backend); injectable for tests. */
  importNode?: () => Promise<unknown>;
  setBackend?: (name: BackendName) => Promise<boolean>;
}

const NODE_PACKAGE = '@tensorflow/tfjs-node';

async function defaultImportNode(): Promise<unknown> {
  // A variable specifier: the package is optional and has no types when absent.
  const name: string = NODE_PACKAGE;
  return import(name);
}

/**
 * The wasm backend's Emscripten runtime installs process-wide 'uncaughtException' and
 * 'unhandledRejection' handlers that rethrow (printing its whole minified source). Those
 * are the application's business: remove whatever it added while it initialised.
 */
function snapshotProcessHandlers(): () => void {
  type Listener = (...args: unknown[]) => void;
  const events = ['uncaughtException', 'unhandledRejection'];
  const listeners = (e: string) => process.listeners(e as 'uncaughtException') as unknown as Listener[];
  const before = new Map(events.map((e) => [e, new Set(listeners(e))]));
  return () => {
    for (const e of events) {
      for (const l of listeners(e)) {
        if (!before.get(e)?.has(l)) process.removeListener(e, l);
      }
    }
  };
}

function order(preference: BackendPreference): BackendName[] {
  const all: BackendName[] = ['tensorflow', 'wasm', 'cpu'];
  if (preference === 'auto') return all;
  return [preference, ...all.filter((b) => b !== preference)];
}

/** Tries the backends in preference order; returns the one that is now active. */
export async function chooseBackend(preference: BackendPreference, deps: BackendDeps = {}): Promise<BackendChoice> {
  const tf = await loadTf();
  const importNode = deps.importNode ?? defaultImportNode;
  const setBackend = deps.setBackend ?? ((name: BackendName) => tf.setBackend(name));
  const skipped: BackendChoice['skipped'] = [];
  for (const backend of order(preference)) {
    try {
      if (backend === 'tensorflow') {
        await importNode();
        if (!tf.findBackendFactory('tensorflow') && !deps.setBackend) throw new Error(`${NODE_PACKAGE} loaded but registered no backend`);
      }
      const restore = backend === 'wasm' && !deps.setBackend ? snapshotProcessHandlers() : undefined;
      try {
        if (await setBackend(backend)) {
          if (!deps.setBackend) await tf.ready();
          return { backend, skipped };
        }
      } finally {
        restore?.();
      }
      skipped.push({ backend, reason: 'failed to initialise' });
    } catch (err) {
      const message = err instanceof Error ? err.message.split('\n')[0] ?? String(err) : String(err);
      skipped.push({ backend, reason: /Cannot find (package|module)/.test(message) ? `${NODE_PACKAGE} is not installed` : message });
    }
  }
  throw new Error(`no TensorFlow.js backend could start: ${skipped.map((s) => `${s.backend}: ${s.reason}`).join('; ')}`);
}

let active: Promise<BackendChoice> | undefined;

/** Chooses the backend once per process and logs the choice; later calls return the same one. */
export function ensureBackend(preference: BackendPreference, logger?: Logger): Promise<BackendChoice> {
  if (!active) {
    active = chooseBackend(preference).then((choice) => {
      const skippedText = choice.skipped.map((s) => `${s.backend} (${s.reason})`).join(', ');
      const explicitMiss = preference !== 'auto' && choice.backend !== preference;
      const msg = { backend: choice.backend, preference, skipped: choice.skipped };
      if (explicitMiss) logger?.warn(msg, `TF_BACKEND=${preference} unavailable; using ${choice.backend}`);
      else logger?.info(msg, `tfjs backend: ${choice.backend}${skippedText ? ` (skipped ${skippedText})` : ''}`);
      return choice;
    });
    active.catch(() => {
      active = undefined;
    });
  }
  return active;
}

