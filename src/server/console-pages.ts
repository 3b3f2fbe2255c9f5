import { LOGIN_LINK_MINUTES, type LoginRefusal } from '../auth/console-sessions.ts';

/**
 * The console's pages besides the console itself: how to sign in, and why a sign-in link did
 * not work. Static text only (nothing the request said is echoed), in the console's look.
 */
function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title} · storecast</title>
<style>
  :root { --ink:#1f2328; --muted:#59636e; --line:#d1d9e0; --bg:#f6f8fa; --accent:#0072b2; --err:#b42318; }
  * { box-sizing: border-box; }
  body { margin:0; font:15px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color:var(--ink); background:var(--bg); }
  header { background:#fff; border-bottom:1px solid var(--line); padding:12px 24px; display:flex; align-items:baseline; gap:12px; }
  header h1 { font-size:18px; margin:0; } header span { color:var(--muted); font-size:13px; }
  main { max-width:640px; margin:0 auto; padding:32px 24px; }
  .msg { background:#fff; border:1px solid var(--line); border-radius:10px; padding:20px 22px; margin:14px 0; }
  .msg h2 { font-size:18px; margin:0 0 10px; }
  .msg p { margin:0 0 10px; } .msg ol { margin:0 0 12px; padding-left:22px; } .msg li { margin:4px 0; }
  .msg.error { border-color:#f1b5ae; background:#fff8f7; } .msg.error h2 { color:var(--err); }
  code { white-space:nowrap; font-family:ui-monospace, "DejaVu Sans Mono", monospace; font-size:13.5px; background:var(--bg); border:1px solid var(--line); border-radius:4px; padding:1px 5px; }
  .muted { color:var(--muted); font-size:13px; }
  a { color:var(--accent); }
</style>
</head>
<body>
<header><h1>storecast</h1><span>console — the same answers Slack and Discord get</span></header>
<main>
${body}
</main>
</body>
</html>
`;
}

const HOW = `<ol>
  <li>In Slack or Discord, run <code>/console</code>.</li>
  <li>storecast answers you alone with a sign-in link. It works once, for ${LOGIN_LINK_MINUTES} minutes.</li>
  <li>Open the link in this browser: you see the stores you may see in chat, nothing more.</li>
</ol>`;

/** `/` in restricted mode without a session. */
export function signInPage(): string {
  return page(
    'Sign in',
    `<section class="msg" id="sign-in">
  <h2>Sign in to the storecast console</h2>
  <p>This server answers only people who have signed in, with the access they have in chat.</p>
  ${HOW}
  <p class="muted">At the server, an operator can make a link for someone: <code>storecast console-link --as slack:TEAM/USER</code>.</p>
</section>`,
  );
}

const REFUSALS: Record<LoginRefusal, { title: string; text: string }> = {
  expired: { title: 'This sign-in link has expired', text: `Sign-in links last ${LOGIN_LINK_MINUTES} minutes.` },
  used: { title: 'This sign-in link was used already', text: 'Each link signs in once. If that was not you, tell your admin.' },
  unknown: { title: 'This sign-in link does not work', text: 'It is not one storecast made, or it was cut short when copied.' },
};

/** GET /console/login with a token that signs nobody in. */
export function linkProblemPage(reason: LoginRefusal): string {
  const { title, text } = REFUSALS[reason];
  return page(
    title,
    `<section class="msg error" id="link-problem" data-reason="${reason}">
  <h2>${title}</h2>
  <p>${text} Ask for a new one:</p>
  ${HOW}
  <p><a href="/">Back to the console</a></p>
</section>`,
  );
}

/** GET /console/login fetched by a link preview (or HEAD): nothing is used up. */
export function linkPreviewPage(): string {
  return page('Sign-in link', '<section class="msg"><h2>storecast console sign-in link</h2><p>Open this link in your browser to sign in.</p></section>');
}
