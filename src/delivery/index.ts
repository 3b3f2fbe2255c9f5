/**
 * Outbound delivery: the one leased queue (queue.ts), one sender per target kind (send.ts, the
 * platforms' posting in src/adapters/*), the one target check (targets.ts), secret keys and
 * rotation; weekly summaries in summaries/, alert notices in src/alerts/ on the same queue.
 * See docs/webhooks.md and docs/alerts.md.
 *
 * Wiring (src/server.ts, src/cli.ts, commands/index.ts):
 *   const scheduler = await startScheduler(services)   // in `storecast serve`; await scheduler.stop() on shutdown
 */
export { startScheduler, createScheduler, type SchedulerOptions, type Scheduler, type WebhookDeps } from './summaries/scheduler.ts';
export { buildWeeklySummary } from './summaries/summary.ts';
export { resolveSecretKey, signPayload, verifySignature, MISSING_KEY_MESSAGE } from './crypto.ts';
export { createSubscription, listSubscriptions, deleteSubscription, type Subscription } from './summaries/subscriptions.ts';
export { listDeliveries, retryDelivery, type Delivery } from './summaries/deliveries.ts';
