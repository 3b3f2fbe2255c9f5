import { describePrincipal } from '../src/access/principal.ts';
import { createLoginToken, LOGIN_LINK_MINUTES, loginUrl } from '../src/auth/console-sessions.ts';
import { defineCommand } from '../src/chat/command.ts';
import { UserError } from '../src/chat/errors.ts';
import type { Reply } from '../src/chat/reply.ts';

/**
 * /console: a one-time link that signs the asker in to the web console as their chat identity
 * (src/auth/console-sessions.ts). It is a credential, so it goes to the asker alone.
 */
export default defineCommand({
  name: 'console',
  description: `Get a link that signs you in to the web console (works once, for ${LOGIN_LINK_MINUTES} minutes).`,
  options: [],
  examples: ['/console'],
  answersPrivately: true,
  async handler(_options, ctx): Promise<Reply> {
    if (ctx.platform === 'web' && ctx.user) throw new UserError(`You are signed in to this console already, as ${describePrincipal(ctx.user)}.`);
    if (ctx.platform === 'cli') throw new UserError('At the server, make a link for someone with `storecast console-link --as slack:TEAM/USER` (or discord:GUILD/USER).');
    if ((ctx.platform !== 'slack' && ctx.platform !== 'discord') || !ctx.user) {
      throw new UserError('Run /console in Slack or Discord: storecast answers you alone with a link that signs you in to the console as yourself.');
    }
    const principal = `${ctx.platform}:${ctx.workspace ?? ''}/${ctx.user}`;
    const roles = ctx.platform === 'discord' ? ctx.roles : [];
    const { token, expiresAt } = await createLoginToken(ctx.db, { principal, roles, issuedVia: ctx.platform });
    const url = loginUrl(ctx.baseUrl, token);
    return {
      title: 'Your sign-in link to the storecast console',
      summary: `Open it within ${LOGIN_LINK_MINUTES} minutes to use the console as ${describePrincipal(principal)}, with the access you have here. It works once; do not share it: whoever opens it first is signed in as you.`,
      facts: [
        { label: 'Link', value: url },
        { label: 'Valid until', value: `${expiresAt.slice(11, 16)} UTC` },
      ],
      actions: [],
      visibility: 'ephemeral',
      context: {},
      data: { url, expiresAt, principal },
    };
  },
});
