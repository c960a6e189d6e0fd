import { createHash } from 'node:crypto';
import { escapeHtml } from '../http';

/**
 * HTML pages of the local OP. No scripts at all, one `<style>` block allowed by its hash, so
 * the pages work under a strict Content-Security-Policy. Element ids are stable because
 * scripted and browser tests look for them.
 */

const STYLE =
  'body{font-family:system-ui,sans-serif;background:#f4f5f7;margin:0}' +
  'main{max-width:22rem;margin:4rem auto;padding:1.5rem 2rem;background:#fff;border-radius:6px;' +
  'box-shadow:0 1px 3px rgba(0,0,0,.2)}h1{font-size:1.4rem;font-weight:500}' +
  'label{display:block;margin:.8rem 0 .2rem}input{width:100%;box-sizing:border-box;padding:.5rem}' +
  'button{margin-top:1rem;padding:.5rem 1rem;margin-right:.5rem}' +
  '.error{color:#b00020}.hint{color:#555;font-size:.85rem}iframe{display:none}';

const STYLE_HASH = `'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`;

/** CSP for every page: nothing loads but the inline style; frames only where listed. */
export function contentSecurityPolicy(frameSources: readonly string[] = []): string {
  const frames = frameSources.length > 0 ? frameSources.join(' ') : "'none'";
  return [
    "default-src 'none'",
    `style-src ${STYLE_HASH}`,
    `frame-src ${frames}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

function page(title: string, body: string, extraHead = ''): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
${extraHead}<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

export interface LoginPageInput {
  /** Form target, e.g. `/interaction/<uid>/login`. */
  action: string;
  /** Client name or id shown to the user. */
  clientName: string;
  /** Prefill for the username field (the last attempt, or `login_hint`). */
  username?: string;
  /** Shown above the form; the page carries `id="login-error"` only when set. */
  error?: string;
  /** Form target of the cancel button, e.g. `/interaction/<uid>/abort`. */
  abortAction: string;
}

/**
 * The login form: `#username`, `#password`, submit `#login`; `#cancel` aborts the request
 * (the RP receives `error=access_denied`).
 */
export function renderLoginPage(input: LoginPageInput): string {
  const error =
    input.error === undefined
      ? ''
      : `<p class="error" id="login-error" role="alert">${escapeHtml(input.error)}</p>\n`;
  return page(
    'Sign in',
    `<h1>Sign in</h1>
<p class="hint">to continue to <strong id="client-name">${escapeHtml(input.clientName)}</strong></p>
${error}<form method="post" action="${escapeHtml(input.action)}" id="login-form">
<label for="username">Username</label>
<input id="username" name="username" type="text" autocomplete="username" required autofocus value="${escapeHtml(input.username ?? '')}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit" id="login">Sign in</button>
</form>
<form method="post" action="${escapeHtml(input.abortAction)}" id="cancel-form">
<button type="submit" id="cancel">Cancel</button>
</form>
<p class="hint">Local test OpenID Provider: consent is granted automatically.</p>`,
  );
}

/**
 * The sign-out confirmation. `form` is oidc-provider's form (hidden `xsrf` input); the
 * `#logout` button is placed inside it and submits `logout=yes` (end the whole OP session).
 */
export function renderLogoutPage(form: string, host: string): string {
  const button =
    '<button type="submit" id="logout" name="logout" value="yes">Yes, sign me out</button>';
  const withButton = form.includes('</form>')
    ? form.replace('</form>', `${button}</form>`)
    : `${form}${button}`;
  return page('Sign out', `<h1>Sign out of ${escapeHtml(host)}?</h1>\n${withButton}`);
}

/** Shown after a logout request that carried no `post_logout_redirect_uri`. */
export function renderLogoutSuccessPage(clientName?: string): string {
  const from = clientName === undefined ? '' : ` from <strong>${escapeHtml(clientName)}</strong>`;
  return page('Signed out', `<h1 id="signed-out">Signed out</h1>\n<p>You signed out${from}.</p>`);
}

/**
 * After sign-out, loads each client's front-channel logout URI in a hidden iframe, then moves
 * on to `continueTo` by meta refresh (no script); `#continue` is the manual link.
 */
export function renderFrontchannelLogoutPage(
  frameUris: readonly string[],
  continueTo: string,
): string {
  const frames = frameUris
    .map(
      (uri) =>
        `<iframe class="frontchannel-logout" src="${escapeHtml(uri)}" title="sign-out"></iframe>`,
    )
    .join('\n');
  return page(
    'Signing out',
    `<h1 id="signed-out">Signed out</h1>\n${frames}\n<p><a id="continue" href="${escapeHtml(continueTo)}">Continue</a></p>`,
    `<meta http-equiv="refresh" content="2;url=${escapeHtml(continueTo)}">\n`,
  );
}

/** oidc-provider's error page (bad client, bad redirect_uri, expired interaction, ...). */
export function renderErrorPage(out: Record<string, unknown>): string {
  const rows = Object.entries(out)
    .map(([key, value]) => `<dt>${escapeHtml(key)}</dt><dd>${escapeHtml(value)}</dd>`)
    .join('\n');
  return page('Error', `<h1 id="op-error">Something went wrong</h1>\n<dl>\n${rows}\n</dl>`);
}
