/**
 * The written form of a principal key (`slack:T1/U1`, `discord:G1/U2`, `discord-role:G1/R9`,
 * `token:<id>`): syntax only, so configuration can check STORECAST_ADMINS without knowing
 * anything of access (src/access/principal.ts gives keys their meaning).
 */
const PRINCIPAL = /^(slack|discord|discord-role):([A-Za-z0-9_-]*)\/([A-Za-z0-9_-]+)$|^token:[A-Za-z0-9_-]+$/;

/** A principal key as an admin writes it (config, CLI); throws with what a key looks like. */
export function parsePrincipal(text: string): string {
  const key = text.trim();
  if (!PRINCIPAL.test(key)) throw new Error(`"${key.slice(0, 80)}" is not a principal: write slack:TEAM/USER, discord:GUILD/USER, discord-role:GUILD/ROLE or token:ID`);
  return key;
}
