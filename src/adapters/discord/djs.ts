/**
 * discord.js, loaded safely: import it from here, never from 'discord.js' directly.
 *
 * vega-lite (charts/) installs `Set.prototype.toJSON` when it loads; discord.js's event
 * emitter bundles a copy of Node's `util.inspect` whose primordials call every zero-argument
 * Set method while loading and throw on that one ("string "Set()" is not iterable"). So when
 * the charts load first — as they do in the server — discord.js cannot load at all. The two
 * modules around the re-export hide the method while discord.js loads and restore it after
 * (ES modules evaluate their imports in source order).
 */
import './set-tojson-off.ts';
export * from 'discord.js';
import './set-tojson-on.ts';
