/**
 * Charts carry their data inline (issue 19): what in a spec would make the renderer load
 * something. Apart from render.ts so the CLI's restore checks specs without loading vega.
 */

/** A spec that names data or images outside itself; it is never rendered. */
export class ChartRefused extends Error {
  constructor(readonly paths: string[]) {
    super(`chart refused: it loads from outside the spec (${paths.slice(0, 3).join(', ')}${paths.length > 3 ? ', …' : ''}); charts carry their data inline`);
    this.name = 'ChartRefused';
  }
}

/**
 * Where `spec` names something to load: every `url` key (Vega-Lite and Vega data, lookups,
 * image marks and their encodings) at any depth. Empty for a chart built by charts/.
 */
export function externalLoads(spec: unknown, path = '$', out: string[] = []): string[] {
  if (Array.isArray(spec)) spec.forEach((v, i) => externalLoads(v, `${path}[${i}]`, out));
  else if (spec && typeof spec === 'object') {
    for (const [k, v] of Object.entries(spec)) {
      // Rows of inline data may have a field named url: nothing loads them.
      if (k === 'url') out.push(`${path}.url`);
      else if (k !== 'values') externalLoads(v, `${path}.${k}`, out);
    }
  }
  return out;
}
