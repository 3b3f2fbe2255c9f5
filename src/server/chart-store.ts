import { createHash } from 'node:crypto';

/**
 * Charts of recent replies, addressed by a content hash so the same answer reuses its PNG.
 * Specs are kept and rendered on first request; a bounded LRU keeps memory flat.
 */
export class ChartStore {
  private readonly entries = new Map<string, { spec: Record<string, unknown>; png?: Promise<Buffer> }>();

  constructor(
    private readonly render: (spec: Record<string, unknown>) => Promise<Buffer>,
    private readonly capacity = 200,
  ) {}

  put(spec: Record<string, unknown>): string {
    const id = createHash('sha256').update(JSON.stringify(spec)).digest('base64url').slice(0, 22);
    const existing = this.entries.get(id);
    this.entries.delete(id);
    this.entries.set(id, existing ?? { spec });
    while (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
    return id;
  }

  async png(id: string): Promise<Buffer | undefined> {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    entry.png ??= this.render(entry.spec).catch((err: unknown) => {
      entry.png = undefined;
      throw err;
    });
    return entry.png;
  }
}
