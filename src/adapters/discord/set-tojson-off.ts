// See djs.ts. Takes vega-lite's Set.prototype.toJSON away while discord.js loads.
const key = Symbol.for('storecast.discord.setToJSON');
const descriptor = Object.getOwnPropertyDescriptor(Set.prototype, 'toJSON');
if (descriptor) {
  (globalThis as Record<symbol, unknown>)[key] = descriptor;
  delete (Set.prototype as unknown as Record<string, unknown>).toJSON;
}
export {};
