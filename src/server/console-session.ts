import { Hono, type MiddlewareHandler } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { HTTPException } from 'hono/http-exception';
import type { AccessMode } from '../access/access.ts';
import { consoleEntitled } from '../access/access.ts';
import { DiscordAPIError, Routes } from '../adapters/discord/djs.ts';
import { createRest } from '../adapters/discord/rest.ts';
import { endSession, findSession, recheckSessions, signIn, workspaceOf, type ConsoleSession, type SessionRecheck } from '../auth/console-sessions.ts';
import { pollLoop, type PollLoop } from '../util/poll-loop.ts';
import { DEFAULT_RETRY } from '../util/retry.ts';
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

/** Discord's "Unknown Member": the user left the guild (or was removed). */
const UNKNOWN_MEMBER = 10007;

/**
 * What a console session re-check needs: the member's Discord roles now, read with the bot's
 * REST client (as alert DMs are; without a bot token roles stay as they were at sign-in), and
 * whether the principal still holds any access.
 */
export function sessionRecheck(services: Pick<Services, 'config' | 'db'>): SessionRecheck {
  const { apiUrl, botToken } = services.config.discord;
  const rest = botToken ? createRest(apiUrl, botToken, DEFAULT_RETRY, 10_000) : undefined;
  return {
    ...(rest
      ? {
          discordRoles: async (guild: string, user: string) => {
            try {
              return ((await rest.get(Routes.guildMember(guild, user))) as { roles: string[] }).roles;
            } catch (err) {
              if (err instanceof DiscordAPIError && (err.code === UNKNOWN_MEMBER || err.status === 404)) return null;
              throw err;
            }
          },
        }
      : {}),
    entitled: consoleEntitled(services.db, services.config.access),
  };
}

/**
 * Started by `storecast serve` on every replica: sessions due (STORECAST_CONSOLE_RECHECK_MINUTES)
 * are re-checked; a row is re-checked by whichever replica reaches it (the update is idempotent).
 */
export function startSessionRecheck(services: Pick<Services, 'config' | 'db' | 'logger'>, pollMs = 30_000): PollLoop {
  const check = sessionRecheck(services);
  const log = services.logger.child({ component: 'console-sessions' });
  const loop = pollLoop(
    async () => {
      const { checked, ended } = await recheckSessions(services.db, services.config.consoleRecheckMs, check);
      if (ended) log.info({ checked, ended }, 'console sessions ended: their principals hold no access any more');
      return checked;
    },
    { pollMs, again: (n) => n >= 50, log, name: 'console session re-check' },
  );
  loop.start();
  return loop;
}
