import type { RouteAccess } from '../api/access.ts';

/**
 * How a route outside /api/v1 is locked: an access of the API table, or a platform signature
 * (Slack's v0 HMAC, Discord's Ed25519) checked by the adapter before anything runs.
 */
export type ServerRouteAccess = RouteAccess | { kind: 'signed'; by: 'slack' | 'discord' };

export interface ServerRoute {
  method: 'GET' | 'POST';
  path: string;
  access: ServerRouteAccess;
}

/**
 * Every route outside /api/v1 (whose routes are the OpenAPI table, src/api/app.ts), with the
 * lock on its door. test/routes.matrix.test.ts checks the composed app mounts exactly these
 * plus the API's, and that each refuses whoever its access does not admit: a route added
 * without a line here fails that test.
 */
export const SERVER_ROUTES: readonly ServerRoute[] = [
  { method: 'GET', path: '/healthz', access: { kind: 'public', why: 'liveness for load balancers: no data, adapter states only' } },
  { method: 'GET', path: '/readyz', access: { kind: 'public', why: 'readiness: counts of stores and rows, no sales' } },
  { method: 'GET', path: '/metrics', access: { kind: 'token', scope: 'metrics' } },
  { method: 'GET', path: '/', access: { kind: 'public', why: 'the console page holds no data (its API calls are checked); restricted mode without a session shows how to sign in' } },
  { method: 'GET', path: '/console/login', access: { kind: 'public', why: 'the single-use, 10-minute link token is the credential' } },
  { method: 'POST', path: '/console/logout', access: { kind: 'public', why: 'ends only the session in its own cookie; refused from other sites' } },
  { method: 'POST', path: '/slack/events', access: { kind: 'signed', by: 'slack' } },
  { method: 'POST', path: '/discord/interactions', access: { kind: 'signed', by: 'discord' } },
];
