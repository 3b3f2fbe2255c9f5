// See djs.ts. Puts vega-lite's Set.prototype.toJSON back once discord.js has loaded.
const key = Symbol.for('storecast.discord.setToJSON');
const descriptor = (globalThis as Record<symbol, PropertyDescriptor | undefined>)[key];
if (descriptor) {
  Object.defineProperty(Set.prototype, 'toJSON', descriptor);
  delete (globalThis as Record<symbol, unknown>)[key];
}
export {};
