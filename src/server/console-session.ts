import { Hono, type MiddlewareHandler } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { HTTPException } from 'hono/http-exception';
import type { AccessMode } from '../access/access.ts';
import { endSession, findSession, signIn, workspaceOf, type ConsoleSession } from '../auth/console-sessions.ts';
import type { Database } from '../db/client.ts';
import type { Asker, Services } from '../services.ts';
import { linkPreviewPage, linkProblemPage } from './console-pages.ts';
import { sameOrigin } from './same-origin.ts';

/**
 * The console's sign-in over HTTP: GET /console/login?token= turns a one-time link into a
 * session cookie, POST /console/logout ends it, and a middleware names the session's principal
 * for console requests (the page, POST /api/v1/commands, GET /api/v1/session). Storage and
 * single use are in src/auth/console-sessions.ts.
 */
export const SESSION_COOKIE = 'storecast_session';

export type ConsoleVariables = { consoleSession: ConsoleSession };

/** Sets `consoleSession` when the request carries the cookie of a live session; refuses nothing. */
export function consoleSession(db: Database): MiddlewareHandler<{ Variables: Partial<ConsoleVariables> }> {
  return async (c, next) => {
    const id = getCookie(c, SESSION_COOKIE);
    if (id && !c.get('consoleSession')) {
      const session = await findSession(db, id);
      if (session) c.set('consoleSession', session);
    }
    await next();
  };
}

export const SIGN_IN_NEEDED = 'Sign in to the console first: run /console in Slack or Discord and open the link it sends you.';

/** In restricted mode, refuses (401) a console request without a session; open mode lets it through anonymous. */
export function requireConsoleSignIn(mode: AccessMode): MiddlewareHandler<{ Variables: Partial<ConsoleVariables> }> {
  return async (c, next) => {
    if (mode === 'restricted' && !c.get('consoleSession')) throw new HTTPException(401, { message: SIGN_IN_NEEDED });
    await next();
  };
}

/** Who a console request asks as: the signed-in principal (and Discord roles), or anonymous. */
export function consoleAsker(session: ConsoleSession | undefined): Asker {
  if (!session) return { platform: 'web', roles: [] };
  return { platform: 'web', user: session.principal, roles: session.roles, workspace: workspaceOf(session.principal) };
}

/**
 * Link previews (Slack, Discord, chat apps) fetch a URL before anyone clicks it: they must not
 * use up a single-use link. HEAD never does either.
 */
const PREVIEW_AGENTS = /Slackbot|Slack-ImgProxy|Discordbot|facebookexternalhit|Twitterbot|TelegramBot|WhatsApp|LinkedInBot|SkypeUriPreview|Iframely|Embedly/i;

/** /console/login and /console/logout, mounted at /console by the composed app. */
export function consoleSessionRoutes(services: Services): Hono {
  const { db, config } = services;
  const routes = new Hono();
  const secure = config.publicUrl?.startsWith('https:') === true;

  routes.use('*', async (c, next) => {
    // The token is in the URL: keep it out of caches and of the Referer of anything linked.
    c.header('Cache-Control', 'no-store');
    c.header('Referrer-Policy', 'no-referrer');
    await next();
  });

  routes.get('/login', async (c) => {
    if (c.req.method === 'HEAD' || PREVIEW_AGENTS.test(c.req.header('user-agent') ?? '')) return c.html(linkPreviewPage());
    const result = await signIn(db, c.req.query('token') ?? '', config.consoleSessionHours);
    if (!result.ok) {
      services.logger.info({ reason: result.reason }, 'console sign-in refused');
      return c.html(linkProblemPage(result.reason), result.reason === 'unknown' ? 400 : 410);
    }
    setCookie(c, SESSION_COOKIE, result.sessionId, {
      httpOnly: true,
      sameSite: 'Lax',
      secure,
      path: '/',
      maxAge: Math.round(config.consoleSessionHours * 3600),
    });
    services.logger.info({ principal: result.session.principal }, 'console sign-in');
    return c.redirect('/', 303);
  });

  // Another site cannot sign the user out (SameSite=Lax keeps the cookie off its POSTs anyway).
  routes.post('/logout', sameOrigin({ publicUrl: config.publicUrl }), async (c) => {
    const id = getCookie(c, SESSION_COOKIE);
    if (id) await endSession(db, id);
    deleteCookie(c, SESSION_COOKIE, { path: '/', secure, httpOnly: true, sameSite: 'Lax' });
    return c.redirect('/', 303);
  });
  return routes;
}
