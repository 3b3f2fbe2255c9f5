/**
 * Renews a lease every `everyMs` until the returned function is called: the one heartbeat of
 * every leased job (queued deliveries, training claims, retrains). A failed renewal is left to
 * the next one, as the lease is several beats long; a process that died stops renewing, and its
 * lease runs out so another replica takes the job over.
 */
export function heartbeat(renew: () => Promise<unknown>, everyMs: number): () => void {
  const timer = setInterval(() => void renew().catch(() => {}), everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
