#!/usr/bin/env node
// The package ships TypeScript sources; tsx compiles them on load so `npx storecast`
// and `npm start` work straight after `npm ci`, with no build step to forget.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
