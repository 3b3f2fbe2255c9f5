// Worker entry: the sources are TypeScript, compiled on load by tsx (as train-worker.mjs does),
// and module hooks registered in the main thread do not reach a worker.
import { register } from 'tsx/esm/api';

register();
await import('./precompute-worker.ts');
