/** Where a request comes from. Here, below the chat core, because who asks is judged by it. */
export type Platform = 'slack' | 'discord' | 'cli' | 'web' | 'api' | 'webhook';

export const ROLES = ['viewer', 'manager', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** viewer < manager < admin: a grant of a role includes the roles below it. */
export const roleRank = (role: Role): number => ROLES.indexOf(role);

/** Who asks, as far as access is concerned (a subset of the CommandContext). */
export interface Identity {
  platform: Platform;
  workspace?: string;
  user?: string;
  /** Discord role ids of the member. */
  roles: string[];
  /** The API token a request came with. */
  tokenId?: string;
}

/**
 * The principal keys grants are stored under: `slack:T1/U1`, `discord:G1/U2`,
 * `discord-role:G1/R9` (one per role the member has), `token:<id>`. A console user signs in as
 * their chat identity, so has the same keys.
 */
export function principalKeys(who: Identity): string[] {
  const keys: string[] = [];
  if (who.tokenId) keys.push(`token:${who.tokenId}`);
  if (who.platform === 'slack' && who.user) keys.push(`slack:${who.workspace ?? ''}/${who.user}`);
  if (who.platform === 'discord' && who.user) {
    keys.push(`discord:${who.workspace ?? ''}/${who.user}`);
    for (const role of who.roles) keys.push(`discord-role:${who.workspace ?? ''}/${role}`);
  }
  if (who.platform === 'web' && who.user) {
    // A signed-in console session carries its principal key, and a Discord member's roles as
    // they were when the sign-in link was made.
    keys.push(who.user);
    const guild = /^discord:([^/]*)\//.exec(who.user)?.[1];
    if (guild !== undefined) for (const role of who.roles) keys.push(`discord-role:${guild}/${role}`);
  }
  return keys;
}

import { parsePrincipal } from '../util/principal-key.ts';

export { parsePrincipal };

/** A principal key for people: "Slack user U1 (T1)". */
export function describePrincipal(key: string): string {
  const m = /^(slack|discord|discord-role):([^/]*)\/(.+)$/.exec(key);
  if (!m) return key.startsWith('token:') ? `API token ${key.slice(6)}` : key;
  const what = m[1] === 'slack' ? 'Slack user' : m[1] === 'discord' ? 'Discord user' : 'Discord role';
  return `${what} ${m[3]}${m[2] ? ` (${m[2]})` : ''}`;
}

/** Where a mention was typed: a mention names a user or role of the asker's own workspace or guild. */
export interface MentionPlace {
  platform: Platform;
  workspace?: string;
}

/** Text that is meant as a principal: a mention (`<@U1|bob>`, `<@123>`, `<@&9>`, `@bob`) or a key. */
export const PRINCIPAL_LIKE = /^(<[@!#][^>]*>|@\S+|(slack|discord|discord-role|token):\S+)$/;

const SLACK_USER = /^<@([A-Z0-9]+)(\|[^>]*)?>$/;
const DISCORD_USER = /^<@!?(\d+)>$/;
const DISCORD_ROLE = /^<@&(\d+)>$/;

/**
 * A principal as typed in chat, as a principal key: a mention of the asker's platform, in the
 * asker's workspace or guild (Slack `<@U2|bob>` -> `slack:T1/U2`; Discord `<@2>` ->
 * `discord:G1/2`, `<@&9>` -> `discord-role:G1/9`), or a key as it is (parsePrincipal). Discord
 * options arrive as the same mention text: the adapter tells users from roles by the
 * interaction's resolved data. Throws with what to write instead.
 */
export function principalFromText(text: string, where?: MentionPlace): string {
  const typed = text.trim();
  if (!typed.startsWith('<') && !typed.startsWith('@')) return parsePrincipal(typed);
  const keys = 'write its key instead: slack:TEAM/USER, discord:GUILD/USER or discord-role:GUILD/ROLE';
  if (typed.startsWith('@')) {
    throw new Error(`"${typed.slice(0, 80)}" arrived as plain text, not as a mention: pick the person from the @ list so the platform sends their id, or ${keys}.`);
  }
  if (/^<!subteam\^/.test(typed)) throw new Error('A Slack user group cannot be granted access: grant each person, or a Discord role.');
  const place = where?.platform === 'slack' || where?.platform === 'discord' ? where.platform : undefined;
  if (!place) throw new Error(`"${typed.slice(0, 80)}" is a chat mention, and this is not a chat: ${keys}.`);
  const slack = place === 'slack' ? SLACK_USER.exec(typed) : null;
  const user = place === 'discord' ? DISCORD_USER.exec(typed) : null;
  const role = place === 'discord' ? DISCORD_ROLE.exec(typed) : null;
  if (!slack && !user && !role) throw new Error(`"${typed.slice(0, 80)}" is not a ${place === 'slack' ? 'Slack user' : 'Discord user or role'} mention: mention a ${place === 'slack' ? 'person' : 'member or a role'}, or ${keys}.`);
  if (!where?.workspace) throw new Error(`A mention names someone of a ${place === 'slack' ? 'workspace' : 'server'}, and this message came from none: run it in a ${place === 'slack' ? 'workspace' : 'server'} channel, or ${keys}.`);
  if (slack) return `slack:${where.workspace}/${slack[1]}`;
  if (user) return `discord:${where.workspace}/${user[1]}`;
  return `discord-role:${where.workspace}/${role![1]}`;
}

/**
 * The identity a stored principal key stands for, to re-check its access later (a
 * subscription's creator at send time; the caller adds the Discord roles it stored); keys that
 * name no one (`cli`, old `api:` creators) give none.
 */
export function identityOfKey(key: string): Identity | undefined {
  const m = /^(slack|discord):([^/]*)\/(.+)$/.exec(key);
  if (m) return { platform: m[1] as 'slack' | 'discord', workspace: m[2] || undefined, user: m[3], roles: [] };
  if (key.startsWith('token:')) return { platform: 'api', tokenId: key.slice('token:'.length), roles: [] };
  return undefined;
}
