'use strict';
/**
 * Server-rendered pages of the demo site. Each page function returns a full HTML document
 * as a string; every value coming from the user, the OP or oxd is escaped by `html`.
 */
const { html } = require('./html');

const SITE_NAME = 'express-oxd demo';

function navigation(user, current) {
  const link = (href, label, key) =>
    html`<a href="${href}" ${current === key ? html` aria-current="page"` : ''}>${label}</a>`;
  const account = user
    ? html`<span class="who" title="${user.email || ''}">${displayName(user)}</span>
        ${logoutButton(user, user.logoutHref, 'Log out', 'button button-small button-quiet')}`
    : html`<a class="button button-small" href="${loginHref()}">Log in</a>`;
  return html`<nav class="site-nav" aria-label="Main">
      ${link('/', 'Home', 'home')} ${user ? link('/claims', 'Claims', 'claims') : ''}
      ${user?.isAdmin ? link('/update-site', 'Update site', 'update-site') : ''}
      ${link('/uma', 'UMA', 'uma')}
    </nav>
    <div class="account">${account}</div>`;
}

/**
 * Logging out is a POST: a link (a GET) could be triggered by any other site. The form
 * carries the session's CSRF token, which the demo's own logout routes check; express-oxd's
 * `/logout` checks the request's origin and ignores the field.
 */
function logoutButton(user, action, label, className) {
  return html`<form class="inline-form" method="post" action="${action}">
    <input type="hidden" name="_csrf" value="${user.csrfToken}" />
    <button class="${className}" type="submit">${label}</button>
  </form>`;
}

function loginHref(returnTo = '/claims') {
  return `/login?returnTo=${encodeURIComponent(returnTo)}`;
}

/** The best human name the claims offer. */
function displayName(user) {
  return user.name || user.preferredUsername || user.email || user.sub || 'unknown user';
}

function layout({ title, user, current, body, notice }) {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title} · ${SITE_NAME}</title>
        <link rel="icon" href="/favicon.ico" sizes="32x32" />
        <link rel="stylesheet" href="/static/style.css" />
      </head>
      <body>
        <header class="site-header">
          <div class="wrap header-row">
            <a class="brand" href="/"
              ><span class="brand-mark" aria-hidden="true">◆</span> express-oxd <em>demo</em></a
            >
            ${navigation(user, current)}
          </div>
        </header>
        <main class="wrap" id="main">
          ${notice ? html`<p class="notice notice-${notice.kind}" role="status">${notice.text}</p>` : ''}
          ${body}
        </main>
        <footer class="site-footer">
          <div class="wrap">
            Login through an OpenID Provider via the Gluu oxd server, with
            <a href="https://expressjs.com/">Express</a> and <code>express-oxd</code>.
          </div>
        </footer>
      </body>
    </html> `.toString();
}

function setupSummary(site) {
  if (!site) return '';
  return html`<section class="card setup" aria-labelledby="setup-title">
    <h2 id="setup-title">How this site is wired</h2>
    <dl class="facts">
      <dt>oxd server</dt>
      <dd>
        <code class="address" id="oxd-address">${site.oxdServer}</code> over ${site.transport}
      </dd>
      <dt>OpenID Provider</dt>
      <dd><code class="address">${site.opHost || 'not set'}</code></dd>
      <dt>Registered</dt>
      <dd>
        ${site.oxdId ? html`yes, oxd id <code>${site.oxdId}</code>` : 'not yet: the first login registers this site'}
      </dd>
    </dl>
  </section>`;
}

function homePage({ user, site, notice }) {
  const body = user
    ? html`<section class="hero">
        <h1>Signed in as <span class="user-name">${displayName(user)}</span></h1>
        <p class="lead">The OpenID Provider confirmed who you are; oxd fetched your claims.</p>
        <p class="actions">
          <a class="button" href="/claims">See your claims</a>
          ${
            user.isAdmin
              ? html`<a class="button button-quiet" href="/update-site"
                  >Update the site registration</a
                >`
              : ''
          }
          ${logoutButton(user, user.logoutHref, 'Log out', 'button button-quiet')}
          ${logoutButton(user, '/logout/here', 'Log out of this site only', 'button button-quiet')}
        </p>
      </section>`
    : html`<section class="hero">
        <h1>Log in with your OpenID Provider</h1>
        <p class="lead">
          This small site never sees your password. It asks the oxd server for a login URL, sends
          you to the OpenID Provider, and reads your claims when you come back.
        </p>
        <p class="actions"><a class="button" id="login" href="${loginHref()}">Log in</a></p>
      </section>`;
  return layout({
    title: 'Home',
    user,
    current: 'home',
    notice,
    body: html`${body}${setupSummary(site)}`,
  });
}

function claimValue(value) {
  if (Array.isArray(value)) return value.map(claimValue).join(', ');
  if (value !== null && typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** A claim name that may wrap after each underscore (`phone_<wbr>number`), nowhere else. */
function claimName(name) {
  const parts = name.split('_');
  return parts.map((part, i) => (i < parts.length - 1 ? html`${part}_<wbr />` : part));
}

function claimsPage({ user, claims }) {
  const names = Object.keys(claims).sort();
  const rows = names.map(
    (name) =>
      html`<tr>
        <th scope="row"><code>${claimName(name)}</code></th>
        <td>${claimValue(claims[name])}</td>
      </tr>`,
  );
  return layout({
    title: 'Your claims',
    user,
    current: 'claims',
    body: html`<h1>Your claims</h1>
      <p class="lead">What the OpenID Provider's user-info endpoint says about you, through oxd.</p>
      ${
        names.length
          ? html`<table class="claims">
              <thead>
                <tr>
                  <th scope="col">Claim</th>
                  <th scope="col">Value</th>
                </tr>
              </thead>
              <tbody>
                ${rows}
              </tbody>
            </table>`
          : html`<p class="empty">The OpenID Provider returned no claims.</p>`
      }`,
  });
}

function updateSitePage({ user, csrfToken, values, result, fieldErrors = {} }) {
  const field = (name, label, type, hint) =>
    html`<div class="field${fieldErrors[name] ? ' field-invalid' : ''}">
      <label for="${name}">${label}</label>
      <input
        id="${name}"
        name="${name}"
        type="${type}"
        value="${values[name] || ''}"
        required${fieldErrors[name] ? html` aria-invalid="true" aria-describedby="${name}-error"` : ''}
      />
      ${
        fieldErrors[name]
          ? html`<p class="field-error" id="${name}-error">${fieldErrors[name]}</p>`
          : html`<p class="hint">${hint}</p>`
      }
    </div>`;
  return layout({
    title: 'Update site registration',
    user,
    current: 'update-site',
    body: html`<h1>Update site registration</h1>
      <p class="lead">
        Changes this site's client registration at the OpenID Provider through oxd's
        <code>update_site</code> command.
      </p>
      ${result ? resultBox(result) : ''}
      <form class="card form" method="post" action="/update-site">
        <input type="hidden" name="_csrf" value="${csrfToken}" />
        ${field('contacts', 'Contact e-mail', 'email', 'Who the OP may contact about this client.')}
        ${field(
          'postLogoutRedirectUri',
          'Post-logout redirect URI',
          'url',
          'Where the OP sends the browser after logout (an https URL on this site).',
        )}
        <p class="actions"><button class="button" type="submit">Update site</button></p>
      </form>`,
  });
}

function resultBox(result) {
  if (result.ok) {
    return html`<div class="notice notice-success" role="status" id="update-result">
      <strong>Site updated.</strong> oxd accepted the new registration of site
      <code>${result.oxdId}</code>
    </div>`;
  }
  return html`<div class="notice notice-error" role="alert" id="update-result">
    <strong>oxd refused the update.</strong> ${result.message}
  </div>`;
}

function errorPage({ user, status, title, explanation, advice, code, detail }) {
  return layout({
    title,
    user,
    body: html`<section class="error-box" aria-labelledby="error-title">
      <p class="status">Error ${status}</p>
      <h1 id="error-title">${title}</h1>
      <p class="lead">${explanation}</p>
      ${advice ? html`<p>${advice}</p>` : ''}
      <p class="actions"><a class="button" href="/">Back to the home page</a></p>
      ${
        code || detail
          ? html`<details class="technical">
              <summary>Technical details</summary>
              ${code ? html`<p>Code: <code>${code}</code></p>` : ''}
              ${detail ? html`<p class="detail">${detail}</p>` : ''}
            </details>`
          : ''
      }
    </section>`,
  });
}

module.exports = {
  homePage,
  claimsPage,
  updateSitePage,
  errorPage,
  displayName,
  loginHref,
  layout,
};
