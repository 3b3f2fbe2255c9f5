import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AuthVariables } from '../auth/middleware.ts';
import type { ConsoleVariables } from '../server/console-session.ts';
import type { Services } from '../services.ts';

/** What the /api/v1 routes need; wired once in createApiApp. */
export interface ApiDeps {
  services: Services;
  /** The key that encrypts stored webhook URLs (undefined: none configured yet). */
  secretKey: Buffer | undefined;
  /** Largest accepted body of POST /sales, bytes. */
  maxIngestBytes: number;
}

export type ApiApp = OpenAPIHono<{ Variables: Partial<AuthVariables & ConsoleVariables> }>;

/** One file per route group registers its routes on the app: the one route table is their list. */
export type RegisterRoutes = (app: ApiApp, deps: ApiDeps) => void;
