/**
 * The raw body, or undefined past `max` bytes. Slack's and Discord's payloads are a few KB and
 * carry Content-Length (checked before reading); a chunked body is read with a running cap.
 * Shared by both adapters, so neither imports the other.
 */
export async function readBody(request: Request, max: number): Promise<Buffer | undefined> {
  const declared = request.headers.get('content-length');
  if (declared !== null) return Number(declared) > max ? undefined : Buffer.from(await request.arrayBuffer());
  if (!request.body) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of request.body) {
    size += chunk.length;
    if (size > max) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
