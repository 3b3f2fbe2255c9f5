/**
 * Webhook integrations: weekly summaries out (subscriptions, scheduler, delivery with retries)
 * and sales data in (the ingest API). See docs/webhooks.md.
 *
 * Wiring (src/server.ts, src/cli.ts, commands/index.ts):
 *   const scheduler = await startScheduler(services)   // in `storecast serve`; await scheduler.stop() on shutdown
 */
export { startScheduler, createScheduler, type SchedulerOptions, type Scheduler, type WebhookDeps } from './summaries/scheduler.ts';
export { buildWeeklySummary } from './summaries/summary.ts';
export { resolveSecretKey, signPayload, verifySignature, MISSING_KEY_MESSAGE } from './crypto.ts';
export { createSubscription, listSubscriptions, deleteSubscription, type Subscription } from './summaries/subscriptions.ts';
export { listDeliveries, retryDelivery, type Delivery } from './summaries/deliveries.ts';
