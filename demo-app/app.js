'use strict';
/**
 * The demo site: an Express 5 app that logs users in through oxd with express-oxd, shows
 * their claims, and lets them change the site's registration with oxd's update_site.
 * Served over HTTPS by start.js; every page is rendered on the server, without scripts.
 */
const { randomBytes, timingSafeEqual } = require('node:crypto');
const path = require('node:path');
const express = require('express');
const session = require('express-session');
const helmet = require('helmet');
const { oxdAuth, requireAuth, claimIncludes, oxdErrorHandler } = require('express-oxd');
const { resolveConfig } = require('express-oxd/config');
const views = require('./views');
const { explainError, CsrfError } = require('./errors');
const { addUmaRoutes } = require('./uma');

const PUBLIC_DIR = path.join(__dirname, 'public');
const SESSION_COOKIE = 'demo.sid';
/**
 * A one-time notice for the next home page, kept in a short-lived cookie because logout
 * destroys the session. Its value is only ever one of the keys of NOTICES.
 */
const NOTICE_COOKIE = 'demo.notice';
const NOTICE_COOKIE_OPTIONS = { secure: true, httpOnly: true, sameSite: 'lax', path: '/' };
const NOTICES = {
  'signed-out': {
    kind: 'success',
    // The OP's sign-out page lets the user stay signed in there, which this site cannot see.
    text: 'You have signed out of this site. Unless you chose to stay signed in at the OpenID Provider, you have signed out there too.',
  },
  'signed-out-here': {
    kind: 'success',
    text: 'You have signed out of this site. You are still signed in at the OpenID Provider, so the next login may not ask for your password.',
  },
  'login-cancelled': {
    kind: 'info',
    text: 'Login cancelled: you are not signed in, and the OpenID Provider shared nothing with this site. Log in again whenever you like.',
  },
};
const MAX_FIELD_LENGTH = 2000;
/**
 * Who may change the site's registration: a user whose `groups` claim holds `admin` (the
 * local OP's `ada`). Everyone else who is logged in gets 403.
 */
const ADMIN_CLAIM = ['groups', 'admin'];

/**
 * Content-Security-Policy of every page: this origin only, no scripts at all. Forms post to
 * this origin; the logout form's answer redirects on to the OP's end-session page, which
 * `form-action` must allow too.
 */
function contentSecurityPolicy(frameAncestors, opOrigin) {
  return {
    useDefaults: false,
    directives: {
      defaultSrc: ["'self'"],
      baseUri: ["'none'"],
      objectSrc: ["'none'"],
      scriptSrc: ["'none'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'", 'data:'],
      formAction: opOrigin ? ["'self'", opOrigin] : ["'self'"],
      frameAncestors,
      upgradeInsecureRequests: [],
    },
  };
}

/**
 * Security headers. The front-channel logout route is loaded by the OP in an iframe, so
 * only there the OP's origin may frame the page; everything else refuses to be framed.
 */
function securityHeaders({ hsts, opOrigin, frontchannelPath }) {
  const common = {
    strictTransportSecurity: hsts ? { maxAge: 15552000 } : false,
    referrerPolicy: { policy: 'no-referrer' },
  };
  const site = helmet({
    ...common,
    contentSecurityPolicy: contentSecurityPolicy(["'none'"], opOrigin),
    xFrameOptions: { action: 'deny' },
  });
  if (!frontchannelPath || !opOrigin) return site;
  const framed = helmet({
    ...common,
    contentSecurityPolicy: contentSecurityPolicy([opOrigin], opOrigin),
    xFrameOptions: false,
  });
  return (req, res, next) => (req.path === frontchannelPath ? framed : site)(req, res, next);
}

function originOf(uri) {
  try {
    return new URL(uri).origin;
  } catch {
    return undefined;
  }
}

function pathOf(uri) {
  try {
    const { pathname } = new URL(uri);
    return pathname.length > 1 && pathname.endsWith('/') ? pathname.slice(0, -1) : pathname;
  } catch {
    return undefined;
  }
}

/** The view of the logged-in user the templates use, or undefined. */
function viewer(req) {
  if (!req.oxd.isAuthenticated()) return undefined;
  const claims = req.oxd.user ?? {};
  const text = (value) => (typeof value === 'string' && value !== '' ? value : undefined);
  return {
    name: text(claims.name) ?? text(claims.preferred_username),
    email: text(claims.email),
    sub: text(claims.sub),
    logoutHref: '/logout',
    csrfToken: csrfToken(req),
    isAdmin: isAdmin(claims),
  };
}

function isAdmin(claims) {
  const [name, value] = ADMIN_CLAIM;
  const held = claims[name];
  return Array.isArray(held) ? held.includes(value) : held === value;
}

function csrfToken(req) {
  req.session.csrfToken ??= randomBytes(32).toString('base64url');
  return req.session.csrfToken;
}

function checkCsrf(req) {
  const expected = Buffer.from(req.session.csrfToken ?? '');
  const given = Buffer.from(typeof req.body?._csrf === 'string' ? req.body._csrf : '');
  if (
    expected.length === 0 ||
    expected.length !== given.length ||
    !timingSafeEqual(expected, given)
  ) {
    throw new CsrfError();
  }
}

function setNotice(res, key) {
  res.cookie(NOTICE_COOKIE, key, { ...NOTICE_COOKIE_OPTIONS, maxAge: 10 * 60 * 1000 });
}

/** The notice cookie's key (cleared on reading), or undefined. */
function takeNotice(req, res) {
  const match = /(?:^|;\s*)demo\.notice=([a-z-]+)(?:;|$)/.exec(req.headers.cookie ?? '');
  if (!match) return undefined;
  res.clearCookie(NOTICE_COOKIE, NOTICE_COOKIE_OPTIONS);
  return Object.hasOwn(NOTICES, match[1]) ? NOTICES[match[1]] : undefined;
}

/**
 * Checks the form. `siteOrigin`: the site's own https origin; the post-logout redirect URI
 * must stay on it, so that an update cannot send every user who logs out to another site.
 */
function validateUpdate({ contacts, postLogoutRedirectUri }, siteOrigin) {
  const errors = {};
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(contacts)) {
    errors.contacts = 'Enter an e-mail address such as admin@example.com.';
  }
  let url;
  try {
    url = new URL(postLogoutRedirectUri);
  } catch {
    url = undefined;
  }
  if (!url || url.protocol !== 'https:' || url.hash) {
    errors.postLogoutRedirectUri = 'Enter an absolute https URL without a #fragment.';
  } else if (url.username || url.password) {
    errors.postLogoutRedirectUri =
      'Leave the user name and password out of the URL: the OP would send them to every browser.';
  } else if (url.origin !== siteOrigin) {
    errors.postLogoutRedirectUri = `Enter an address on this site (${siteOrigin}/…): the OP sends every user who logs out there.`;
  }
  return errors;
}

function field(body, name) {
  const value = body?.[name];
  return typeof value === 'string' ? value.trim().slice(0, MAX_FIELD_LENGTH) : '';
}

function sendPage(res, status, html) {
  res.status(status).type('html').set('Cache-Control', 'no-store').send(html);
}

/**
 * Creates the demo app. Options:
 * - `configFile` (path of demosite.cfg) or `config` (an express-oxd configuration object);
 * - `oxdClientOptions`: options for the oxd client (custom dispatcher, write-back);
 * - `sessionSecret`: default DEMO_SESSION_SECRET, else random per start;
 * - `sessionStore`: an express-session store (default: memory);
 * - `hsts`: send Strict-Transport-Security (default true; off for self-signed certificates);
 * - `trustProxy`: Express's `trust proxy` setting when TLS ends at a proxy (default off).
 * - `silentLogin`: try a `prompt=none` login once per browser session (default
 *   DEMO_SILENT_LOGIN=1, else off).
 * - `cookieSameSite`: `'lax'` (default) or `'none'` (DEMO_COOKIE_SAMESITE=none): with `none`
 *   the OP's front-channel logout iframe carries the session cookie and ends the session.
 * - `origin` (the site's own https origin) and `ca` (its certificate when self-signed): turn
 *   on the UMA pages, whose server side calls the site's own protected API there.
 * - `umaSiteWideRpt`: the private album's RPT is meant for every user (default
 *   DEMO_UMA_SITE_WIDE_RPT=1, else per-user grants).
 * The oxd client is `app.locals.oxdClient`, the UMA private album's `app.locals.umaPrivateClient`;
 * close them when the server stops.
 */
function createDemoApp(options = {}) {
  const source = options.configFile ?? options.config;
  if (source === undefined) throw new TypeError('createDemoApp needs configFile or config');
  const config = resolveConfig(source);
  const silentLogin = options.silentLogin ?? process.env.DEMO_SILENT_LOGIN === '1';
  const sameSite =
    (options.cookieSameSite ?? process.env.DEMO_COOKIE_SAMESITE) === 'none' ? 'none' : 'lax';
  const auth = oxdAuth({
    config: source,
    ...(options.oxdClientOptions ? { clientOptions: options.oxdClientOptions } : {}),
    routes: { postLogoutRedirect: '/' },
    silentLogin,
    // requireAuth()'s 403 (not an administrator) gets the demo's own error page.
    renderError: (err, req, res) => renderError(err, req, res),
  });
  const client = auth.client;
  const frontchannelPath = pathOf(config.client.clientFrontchannelLogoutUris[0]);
  const postLogoutPath = pathOf(config.client.postLogoutRedirectUri);
  const siteOrigin = originOf(config.client.authorizationRedirectUri);
  const requireAdmin = claimIncludes(...ADMIN_CLAIM);
  const site = () => ({
    transport:
      client.transportKind === 'https' ? `HTTPS (oxd ${client.serverVersion}.x)` : 'its socket',
    oxdServer: config.oxd.https ? config.oxd.host : `${config.oxd.host}:${config.oxd.port}`,
    opHost: config.client.opHost,
    oxdId: client.oxdId,
  });

  const app = express();
  app.locals.oxdClient = client;
  app.disable('x-powered-by');
  if (options.trustProxy !== undefined) app.set('trust proxy', options.trustProxy);

  app.use(
    securityHeaders({
      hsts: options.hsts !== false,
      opOrigin: originOf(config.client.opHost),
      frontchannelPath,
    }),
  );
  app.use('/static', express.static(PUBLIC_DIR, { index: false, maxAge: '1h' }));
  // Browsers ask for it on every site, whatever the page links.
  app.get('/favicon.ico', (req, res) => {
    res.sendFile(path.join(PUBLIC_DIR, 'favicon.ico'), { maxAge: '1d' });
  });
  app.use(
    session({
      name: SESSION_COOKIE,
      secret:
        options.sessionSecret ?? process.env.DEMO_SESSION_SECRET ?? randomBytes(32).toString('hex'),
      resave: false,
      saveUninitialized: false,
      ...(options.sessionStore ? { store: options.sessionStore } : {}),
      cookie: { secure: true, httpOnly: true, sameSite, path: '/' },
    }),
  );
  // Logging out (a POST: see views.js) ends the session; the home page the OP sends the
  // browser back to says so.
  app.post('/logout', (req, res, next) => {
    setNotice(res, 'signed-out');
    next();
  });
  app.use(auth);

  app.get('/', (req, res) => {
    // Back from the OP's logout with its state: the same page without it in the address bar.
    if (req.query.state !== undefined) {
      res.redirect(303, '/');
      return;
    }
    const notice = takeNotice(req, res);
    const user = viewer(req);
    sendPage(res, 200, views.homePage({ user, site: site(), notice: user ? undefined : notice }));
  });

  if (postLogoutPath && postLogoutPath !== '/') {
    app.get(postLogoutPath, (req, res) => {
      sendPage(
        res,
        200,
        views.homePage({
          user: viewer(req),
          site: site(),
          notice: { kind: 'success', text: 'You have been signed out.' },
        }),
      );
    });
  }

  // Logout options: this site only (the OP session stays), or everywhere and back to a page.
  // POSTs with the session's CSRF token, like every form of the demo.
  const logoutForm = express.urlencoded({ extended: false, limit: '2kb', parameterLimit: 5 });
  app.post('/logout/here', logoutForm, (req, res, next) => {
    checkCsrf(req);
    if (req.oxd.isAuthenticated()) setNotice(res, 'signed-out-here');
    req.oxd.logout({ idpLogout: false, returnTo: '/' }).catch(next);
  });
  app.post('/logout/everywhere', logoutForm, (req, res, next) => {
    checkCsrf(req);
    req.oxd.logout({ idpLogout: true, returnTo: '/' }).catch(next);
  });

  app.get('/claims', requireAuth(), (req, res) => {
    sendPage(res, 200, views.claimsPage({ user: viewer(req), claims: req.oxd.user ?? {} }));
  });

  const updateForm = (req, extra = {}) =>
    views.updateSitePage({
      user: viewer(req),
      csrfToken: csrfToken(req),
      values: req.session.updateSiteValues ?? {
        contacts: config.client.contacts[0] ?? viewer(req)?.email ?? '',
        postLogoutRedirectUri: config.client.postLogoutRedirectUri ?? '',
      },
      ...extra,
    });

  app.get('/update-site', requireAdmin, (req, res) => {
    const result = req.session.updateSiteResult;
    delete req.session.updateSiteResult;
    sendPage(res, 200, updateForm(req, { result }));
  });

  app.post(
    '/update-site',
    requireAdmin,
    express.urlencoded({ extended: false, limit: '8kb', parameterLimit: 10 }),
    async (req, res) => {
      checkCsrf(req);
      const values = {
        contacts: field(req.body, 'contacts'),
        postLogoutRedirectUri: field(req.body, 'postLogoutRedirectUri'),
      };
      const fieldErrors = validateUpdate(values, siteOrigin);
      if (Object.keys(fieldErrors).length > 0) {
        sendPage(
          res,
          400,
          views.updateSitePage({
            user: viewer(req),
            csrfToken: csrfToken(req),
            values,
            fieldErrors,
          }),
        );
        return;
      }
      const params = { contacts: [values.contacts] };
      if (client.serverVersion === 4)
        params.post_logout_redirect_uris = [values.postLogoutRedirectUri];
      else params.post_logout_redirect_uri = values.postLogoutRedirectUri;
      let result;
      try {
        const reply = await client.updateSite(params);
        result = { ok: true, oxdId: reply.oxd_id ?? client.oxdId };
      } catch (err) {
        if (err.code !== 'OXD_COMMAND_FAILED') throw err;
        result = {
          ok: false,
          message: `${err.error}${err.error_description ? `: ${err.error_description}` : ''}`,
        };
      }
      if (!result.ok) {
        sendPage(
          res,
          502,
          views.updateSitePage({
            user: viewer(req),
            csrfToken: csrfToken(req),
            values,
            result,
          }),
        );
        return;
      }
      // Post/redirect/get: a reload does not send the update again.
      req.session.updateSiteValues = values;
      req.session.updateSiteResult = result;
      res.redirect(303, '/update-site');
    },
  );

  if (options.origin) {
    addUmaRoutes(app, {
      client,
      config,
      clientOptions: options.oxdClientOptions,
      siteWideRpt: options.umaSiteWideRpt ?? process.env.DEMO_UMA_SITE_WIDE_RPT === '1',
      origin: options.origin,
      ca: options.ca,
      layout: views.layout,
      viewer,
    });
  }

  app.use((req, res) => {
    const explained = explainError({ status: 404 });
    sendPage(res, 404, views.errorPage({ user: viewer(req), ...explained }));
  });

  const renderError = (err, req, res) => {
    const explained = explainError(err);
    const user = req.oxd ? viewer(req) : undefined;
    sendPage(res, explained.status, views.errorPage({ user, ...explained }));
  };
  // Cancelling at the OP is a normal outcome, not a failure: back home, with a notice.
  app.use((err, req, res, next) => {
    if (err?.code !== 'OXD_LOGIN_CANCELLED' || res.headersSent) {
      next(err);
      return;
    }
    setNotice(res, 'login-cancelled');
    res.redirect(303, '/');
  });
  app.use(
    oxdErrorHandler({
      render: (err, req, res) => {
        // What the page leaves out (a server-side failure's message) goes to the server log.
        if (!err.expose) console.error(err);
        renderError(err, req, res);
      },
    }),
  );
  // Errors that are not express-oxd's own (CSRF, body parsing, bugs) get the same page.
  app.use((err, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    if (!(err instanceof CsrfError) && !(err.status < 500)) console.error(err);
    renderError(err, req, res);
  });

  return app;
}

module.exports = { createDemoApp };
