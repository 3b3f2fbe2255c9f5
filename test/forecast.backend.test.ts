import { describe, expect, it } from 'vitest';
import { chooseBackend, type BackendName } from '../src/forecast/tf.ts';

const missingNode = async () => {
  throw new Error("Cannot find package '@tensorflow/tfjs-node' imported from /app/src/forecast/tf.ts");
};

describe('tfjs backend choice', () => {
  it('falls back to wasm when @tensorflow/tfjs-node is absent (the real packages here)', async () => {
    let nodeInstalled = true;
    try {
      const name: string = '@tensorflow/tfjs-node';
      await import(name);
    } catch {
      nodeInstalled = false;
    }
    const choice = await chooseBackend('auto');
    if (nodeInstalled) {
      expect(choice.backend).toBe('tensorflow');
    } else {
      expect(choice.backend).toBe('wasm');
      expect(choice.skipped).toEqual([{ backend: 'tensorflow', reason: '@tensorflow/tfjs-node is not installed' }]);
    }
  }, 30_000);

  it('tries tensorflow, then wasm, then cpu, and honours an explicit preference first', async () => {
    const tried: BackendName[] = [];
    const okOnly = (ok: BackendName[]) => async (name: BackendName) => {
      tried.push(name);
      return ok.includes(name);
    };
    expect((await chooseBackend('auto', { importNode: missingNode, setBackend: okOnly(['wasm', 'cpu']) })).backend).toBe('wasm');
    expect(tried).toEqual(['wasm']); // tfjs-node never got to setBackend: its import failed

    tried.length = 0;
    const cpuOnly = await chooseBackend('auto', { importNode: missingNode, setBackend: okOnly(['cpu']) });
    expect(cpuOnly.backend).toBe('cpu');
    expect(cpuOnly.skipped.map((s) => s.backend)).toEqual(['tensorflow', 'wasm']);

    tried.length = 0;
    const present = await chooseBackend('auto', { importNode: async () => ({}), setBackend: okOnly(['tensorflow', 'wasm', 'cpu']) });
    expect(present.backend).toBe('tensorflow');

    tried.length = 0;
    const explicit = await chooseBackend('cpu', { importNode: async () => ({}), setBackend: okOnly(['tensorflow', 'wasm', 'cpu']) });
    expect(explicit.backend).toBe('cpu');
    expect(tried).toEqual(['cpu']);

    const wantedNode = await chooseBackend('tensorflow', { importNode: missingNode, setBackend: okOnly(['wasm', 'cpu']) });
    expect(wantedNode.backend).toBe('wasm');
    expect(wantedNode.skipped[0]).toEqual({ backend: 'tensorflow', reason: '@tensorflow/tfjs-node is not installed' });
  });

  it('fails with every reason when nothing starts', async () => {
    await expect(chooseBackend('auto', { importNode: missingNode, setBackend: async () => false })).rejects.toThrow(/no TensorFlow.js backend could start.*tensorflow.*wasm.*cpu/);
  });
});
