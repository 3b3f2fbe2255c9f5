import type { Platform } from '../chat/command.ts';

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

const PRINCIPAL = /^(slack|discord|discord-role):([A-Za-z0-9_-]*)\/([A-Za-z0-9_-]+)$|^token:[A-Za-z0-9_-]+$/;

/** A principal key as an admin writes it (config, CLI); throws with what a key looks like. */
export function parsePrincipal(text: string): string {
  const key = text.trim();
  if (!PRINCIPAL.test(key)) throw new Error(`"${key.slice(0, 80)}" is not a principal: write slack:TEAM/USER, discord:GUILD/USER, discord-role:GUILD/ROLE or token:ID`);
  return key;
}

/** A principal key for people: "Slack user U1 (T1)". */
export function describePrincipal(key: string): string {
  const m = /^(slack|discord|discord-role):([^/]*)\/(.+)$/.exec(key);
  if (!m) return key.startsWith('token:') ? `API token ${key.slice(6)}` : key;
  const what = m[1] === 'slack' ? 'Slack user' : m[1] === 'discord' ? 'Discord user' : 'Discord role';
  return `${what} ${m[3]}${m[2] ? ` (${m[2]})` : ''}`;
}
