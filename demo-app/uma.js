'use strict';
/**
 * The UMA part of the demo: the site is both a resource server and a requesting party.
 *
 * - `/api/photos` and `/api/photos/private` are a small API protected by `umaProtect()`: a call
 *   without a fitting RPT gets 401 with oxd's UMA challenge (a permission ticket).
 * - `/uma` calls that API from the server, the way a back end calls another service: first with
 *   the RPT it keeps (none at first), showing the 401 and its ticket, then exchanging the ticket
 *   for an RPT (`uma_rp_get_rpt`) and retrying once: 200.
 *
 * Through oxd the requesting party is an oxd site, not a user: oxd keeps one RPT per site and
 * hands it back, whatever the ticket, while it has not expired (`UmaTokenService.getRpt`). So
 * each album has its own requesting party:
 * - The public album is read by the demo site itself (its own oxd site, machine to machine):
 *   the RPT needs nobody's claims and is kept in the process for every visitor.
 * - The private album is read by a second oxd site registered for it, through `umaClaims()`.
 *   Its scope needs the user's own e-mail address as a claim: the exchange answers need_info,
 *   and the user is sent to the authorization server's claims-gathering page (which asks the OP
 *   who is signed in and accepts only that user's address) and back to `/uma/claims`, where the
 *   RPT is obtained and kept in the session. That RPT is the private site's one RPT: by default
 *   (per-user grants) it goes to that user only, and another user gets 403
 *   `OXD_UMA_RPT_OF_ANOTHER_USER` until it expires; with `siteWideRpt` (DEMO_UMA_SITE_WIDE_RPT=1)
 *   every user reads the album with it.
 */
const { Agent, fetch } = require('undici');
const { REGISTRATION_KEYS } = require('./settings');
const {
  ERROR_CODES,
  createOxdClient,
  umaClaims,
  umaFetch,
  umaProtect,
  UmaNeedInfoError,
  readUmaChallenge,
} = require('express-oxd');
const { html } = require('./html');

const VIEW_SCOPE = 'https://photoz.example/dev/actions/view';
const PRIVATE_SCOPE = 'https://photoz.example/dev/actions/private';

/** What the local UMA server requires before it grants the private scope. */
const UMA_CLAIMS_POLICY = {
  [PRIVATE_SCOPE]: [
    // Only the address of the user signed in at the OP is accepted.
    {
      name: 'email',
      friendly_name: 'email',
      claim_type: 'urn:oid:0.9.2342.19200300.100.1.3',
      signed_in_user: true,
    },
  ],
};

const RESOURCES = [
  { path: '/photos', conditions: [{ httpMethods: ['GET'], scopes: [VIEW_SCOPE] }] },
  { path: '/photos/private', conditions: [{ httpMethods: ['GET'], scopes: [PRIVATE_SCOPE] }] },
];

const ALBUMS = {
  public: { title: 'Public album', path: '/api/photos' },
  private: { title: 'Private album', path: '/api/photos/private' },
};

/** The first characters of a token: enough to tell two apart, useless to anyone else. */
function shorten(token) {
  return token ? `${token.slice(0, 8)}…` : '';
}

/**
 * The private album's requesting party: a second oxd site, registered at its first use, with
 * the site's settings and none of its registration (kept in memory: a restart registers again).
 */
function privateAlbumConfig(config) {
  const { ca, caFile, ...oxd } = config.oxd;
  const client = { ...config.client };
  const sections = { oxd, client };
  for (const { section, name } of REGISTRATION_KEYS) delete sections[section][name];
  client.clientName = `${config.client.clientName ?? 'express-oxd demo'} (private album)`;
  return { oxd: { ...oxd, ...(caFile ? { caFile } : ca ? { ca } : {}) }, client };
}

/**
 * Adds the UMA routes to `app`. `client` is the site's oxd client and `config` its resolved
 * configuration, `origin` the site's own https origin (the API is called there from the
 * server), `ca` its certificate when self-signed. `layout` renders a page. `siteWideRpt`
 * declares the private album's RPT meant for every user. The private album's oxd client is
 * `app.locals.umaPrivateClient`; close it when the server stops.
 */
function addUmaRoutes(
  app,
  { client, config, clientOptions, origin, ca, layout, viewer, siteWideRpt = false },
) {
  const dispatcher = new Agent({ connect: ca ? { ca } : {} });
  const protect = umaProtect(RESOURCES, { client });
  const privateRp = createOxdClient(privateAlbumConfig(config), {
    ...clientOptions,
    writeBack: false,
  });
  app.locals.umaPrivateClient = privateRp;
  const claims = umaClaims({
    client: privateRp,
    claimsRedirectUri: `${origin}/uma/claims`,
    dispatcher,
    siteWideRpt,
  });
  // The public album's RPT is the site's own: one for every visitor, kept in the process.
  let siteRpt;
  const readers = {
    public: {
      kept: () => siteRpt,
      keptLabel: "the site's RPT",
      fetch: (req, url) =>
        umaFetch(
          url,
          {},
          {
            client,
            rpt: siteRpt,
            dispatcher,
            onRpt: ({ rpt }) => {
              siteRpt = rpt;
            },
          },
        ),
    },
    private: {
      kept: (req) => claims.rpt(req),
      keptLabel: "the session's RPT",
      fetch: (req, url) => claims.fetch(req, url),
    },
  };

  app.use('/api', protect);
  app.get('/api/photos', (req, res) => {
    res.json({ album: 'public', photos: ['harbour-at-dawn.jpg', 'market-street.jpg'] });
  });
  app.get('/api/photos/private', (req, res) => {
    res.json({ album: 'private', photos: ['family-picnic.jpg'] });
  });
  app.use(claims);

  const page = (req, body) => layout({ title: 'UMA', user: viewer(req), current: 'uma', body });
  const send = (req, res, status, body) =>
    res.status(status).type('html').set('Cache-Control', 'no-store').send(page(req, body));

  app.get('/uma', async (req, res) => {
    const key = req.query.album;
    const album = typeof key === 'string' && Object.hasOwn(ALBUMS, key) ? ALBUMS[key] : undefined;
    if (!album) {
      send(req, res, 200, intro({ site: siteRpt, session: claims.rpt(req), siteWideRpt }));
      return;
    }
    const reader = readers[key];
    const url = origin + album.path;
    const steps = [];
    const kept = reader.kept(req);
    const first = await fetch(url, {
      dispatcher,
      headers: kept ? { authorization: `Bearer ${kept}` } : {},
    });
    const challenge = readUmaChallenge(first.headers.get('www-authenticate'));
    steps.push({
      label: kept
        ? `GET ${album.path} with ${reader.keptLabel} ${shorten(kept)}`
        : `GET ${album.path} without an RPT`,
      status: first.status,
      detail: challenge
        ? `WWW-Authenticate: UMA … ticket="${shorten(challenge.ticket)}" (as_uri ${challenge.as_uri ?? '?'})`
        : undefined,
    });
    let final = first;
    if (first.status === 401) {
      await first.body?.cancel();
      try {
        final = await reader.fetch(req, url);
      } catch (err) {
        if (err?.code === ERROR_CODES.UMA_RPT_OF_ANOTHER_USER) {
          // oxd handed back the private site's RPT, which went to another user: not used.
          steps.push({
            label:
              'Ticket exchanged (uma_rp_get_rpt): oxd handed back an RPT obtained for another user',
            status: err.status,
          });
          send(req, res, err.status, refused(album, steps, err));
          return;
        }
        if (!(err instanceof UmaNeedInfoError)) throw err;
        // The AS needs a claim first: off to its claims-gathering page, back to this page.
        await claims.gatherClaims(req, res, { ticket: err.ticket, returnTo: `/uma?album=${key}` });
        return;
      }
      steps.push({
        label: `Ticket exchanged for the RPT ${shorten(reader.kept(req))} (uma_rp_get_rpt), GET ${album.path} again`,
        status: final.status,
      });
    }
    const body = final.ok ? await final.json() : undefined;
    if (!final.ok) await final.body?.cancel();
    send(req, res, 200, result(album, steps, body));
  });
}

function intro({ site, session, siteWideRpt }) {
  return html`<h1>UMA: a protected API</h1>
    <p class="lead">
      This site protects <code>/api/photos</code> with <code>umaProtect()</code>. The buttons below
      call that API from the server, as one back end calls another.
    </p>
    <p class="actions">
      <a class="button" id="uma-public" href="/uma?album=public">Load the public album</a>
      <a class="button button-quiet" id="uma-private" href="/uma?album=private"
        >Load the private album</a
      >
    </p>
    <p>
      Through oxd the requesting party is an oxd site, not a user: oxd keeps one RPT per site and
      hands it back for every ticket until it expires. The public album is read by this site itself,
      with one RPT for every visitor.
      ${site ? html`The site holds the RPT <code>${shorten(site)}</code>.` : 'The site holds no RPT yet.'}
    </p>
    <p id="uma-private-rule">
      The private album is read by an oxd site of its own and needs your e-mail address as a claim:
      the authorization server asks for it, then your session keeps that site's RPT.
      ${
        siteWideRpt
          ? 'This demo declares that RPT site-wide: every user reads the album with it.'
          : 'That RPT is yours alone: until it expires, other users get 403 (OXD_UMA_RPT_OF_ANOTHER_USER).'
      }
      ${session ? html`This session holds the RPT <code>${shorten(session)}</code>.` : 'This session holds no RPT yet.'}
    </p>`;
}

/** The page for an RPT oxd obtained for another user (per-user grants). */
function refused(album, steps, err) {
  return html`<h1>${album.title}</h1>
    <ol class="uma-steps" id="uma-steps">
      ${steps.map((step) => html`<li>${step.label}: <strong class="status">${step.status}</strong></li>`)}
    </ol>
    <div class="notice notice-error" role="alert" id="uma-refused">
      <p>
        <strong>403 <code>${err.code}</code></strong>
      </p>
      <p>
        oxd keeps one RPT per site. The private album's site obtained it with another user's e-mail
        address, so it is not handed to you: your own claims were never asked. Try again once it has
        expired, or start the demo with <code>DEMO_UMA_SITE_WIDE_RPT=1</code> to declare the RPT
        meant for every user.
      </p>
      <p class="detail">${err.message}</p>
    </div>
    <p class="actions"><a class="button button-quiet" href="/uma">Back</a></p>`;
}

function result(album, steps, body) {
  return html`<h1>${album.title}</h1>
    <ol class="uma-steps" id="uma-steps">
      ${steps.map(
        (step) =>
          html`<li>
            ${step.label}: <strong class="status">${step.status}</strong>
            ${step.detail ? html`<br /><code>${step.detail}</code>` : ''}
          </li>`,
      )}
    </ol>
    ${
      body
        ? html`<ul class="photos" id="uma-photos">
            ${body.photos.map((photo) => html`<li><code>${photo}</code></li>`)}
          </ul>`
        : html`<p class="notice notice-error" role="alert">The API refused access.</p>`
    }
    <p class="actions"><a class="button button-quiet" href="/uma">Back</a></p>`;
}

module.exports = { addUmaRoutes, UMA_CLAIMS_POLICY };
