import { escapeHtml } from '../http';
import { PAGE_CSP_SOURCES, styledPage } from '../page-style';

/**
 * HTML pages of the local OP. No scripts at all, one `<style>` block allowed by its hash, so
 * the pages work under a strict Content-Security-Policy. Element ids are stable because
 * scripted and browser tests look for them.
 */

/** CSP for every page: nothing loads but the inline style; frames only where listed. */
export function contentSecurityPolicy(frameSources: readonly string[] = []): string {
  const frames = frameSources.length > 0 ? frameSources.join(' ') : "'none'";
  return [
    "default-src 'none'",
    ...PAGE_CSP_SOURCES,
    `frame-src ${frames}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

function page(title: string, body: string, extraHead = ''): string {
  return styledPage({
    title,
    brand: 'Local OpenID Provider',
    body,
    head: `<meta name="referrer" content="no-referrer">\n${extraHead}`,
  });
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
 * `#logout` button inside it submits `logout=yes` (end the whole OP session), the `#stay`
 * button submits without it: the OP session stays and the browser goes back to the
 * application's post-logout address, as after a sign-out.
 */
export function renderLogoutPage(form: string, host: string): string {
  const buttons =
    '<button type="submit" id="logout" name="logout" value="yes">Yes, sign me out</button>' +
    '<button type="submit" id="stay" class="quiet">No, stay signed in here</button>';
  const withButtons = form.includes('</form>')
    ? form.replace('</form>', `${buttons}</form>`)
    : `${form}${buttons}`;
  return page(
    'Sign out',
    `<h1>Sign out of ${escapeHtml(host)}?</h1>
<p>The application has signed you out. Sign out of this OpenID Provider too, or stay signed in here
and go back to the application.</p>
${withButtons}`,
  );
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

/** What an OP error means to the person who sees it, by oidc-provider's error code. */
const ERROR_TEXT: Readonly<Record<string, { title: string; advice: string }>> = {
  invalid_client: {
    title: 'This application is not known here',
    advice:
      'The OpenID Provider has no client with the id the application sent: it was registered ' +
      'at another provider, or the provider lost its data. Go back to the application; it ' +
      'registers again when its registration ([oxd] id) is removed from its configuration.',
  },
  invalid_redirect_uri: {
    title: 'This application asked to come back to an unknown address',
    advice:
      "The return address in the request is not one of the application's registered redirect " +
      'URIs. Check authorization_redirect_uri in its configuration.',
  },
  invalid_request: {
    title: 'This sign-in request cannot be used',
    advice:
      'It is incomplete, expired or was already used. Go back to the application and start ' +
      'again from its login link.',
  },
};

/** oidc-provider's error page (bad client, bad redirect_uri, expired interaction, ...). */
export function renderErrorPage(out: Record<string, unknown>): string {
  const code = typeof out.error === 'string' ? out.error : 'server_error';
  const text = ERROR_TEXT[code] ?? {
    title: 'The sign-in could not go on',
    advice: 'Go back to the application and try again.',
  };
  const rows = Object.entries(out)
    .map(([key, value]) => `<dt>${escapeHtml(key)}</dt><dd><code>${escapeHtml(value)}</code></dd>`)
    .join('\n');
  return page(
    'Error',
    `<h1 id="op-error">${escapeHtml(text.title)}</h1>
<p>${escapeHtml(text.advice)}</p>
<details><summary>Technical details</summary>
<dl>
${rows}
</dl>
</details>`,
  );
}
