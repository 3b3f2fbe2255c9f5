/**
 * Shortens `s` to at most `max` characters, ending in `…` when cut. Platform limits (Slack
 * blocks, Discord embeds) and echoed user input (import rejection reasons) all go through it.
 */
export function clip(s: string, max: number): string {
  if (s.length <= max) return s;
  let end = max - 1;
  // Never leave half of a surrogate pair (an emoji) before the ellipsis.
  const last = s.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${s.slice(0, end)}…`;
}
