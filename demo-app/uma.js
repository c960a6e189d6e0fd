'use strict';
/**
 * The UMA part of the demo: the site is both a resource server and a requesting party.
 *
 * - `/api/photos` and `/api/photos/private` are a small API protected by `umaProtect()`: a call
 *   without a fitting RPT gets 401 with oxd's UMA challenge (a permission ticket).
 * - `/uma` calls that API from the server, the way a back end calls another service: first with
 *   the RPT kept in the session (none at first), showing the 401 and its ticket, then through
 *   `umaClaims().fetch`, which exchanges the ticket for an RPT and retries once: 200.
 * - The private album's scope needs the user's own e-mail address as a claim: the exchange
 *   answers need_info, and the user is sent to the authorization server's claims-gathering page
 *   (which asks the OP who is signed in and accepts only that user's address) and back to
 *   `/uma/claims`, where the site obtains the RPT and returns to the page.
 */
const { Agent, fetch } = require('undici');
const { umaProtect, umaClaims, UmaNeedInfoError, readUmaChallenge } = require('express-oxd');
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
 * Adds the UMA routes to `app`. `origin` is the site's own https origin (the API is called
 * there from the server), `ca` its certificate when self-signed. `layout` renders a page.
 */
function addUmaRoutes(app, { client, origin, ca, layout, viewer }) {
  const dispatcher = new Agent({ connect: ca ? { ca } : {} });
  const protect = umaProtect(RESOURCES, { client });
  const claims = umaClaims({ client, claimsRedirectUri: `${origin}/uma/claims`, dispatcher });

  app.use('/api', protect);
  app.get('/api/photos', (req, res) => {
    res.json({ album: 'public', photos: ['harbour-at-dawn.jpg', 'market-street.jpg'] });
  });
  app.get('/api/photos/private', (req, res) => {
    res.json({ album: 'private', photos: ['family-picnic.jpg'] });
  });
  app.use(claims);

  const page = (req, body) => layout({ title: 'UMA', user: viewer(req), current: 'uma', body });

  app.get('/uma', async (req, res) => {
    const key = req.query.album;
    const album = typeof key === 'string' && Object.hasOwn(ALBUMS, key) ? ALBUMS[key] : undefined;
    if (!album) {
      res
        .type('html')
        .set('Cache-Control', 'no-store')
        .send(page(req, intro(claims.rpt(req))));
      return;
    }
    const url = origin + album.path;
    const steps = [];
    const kept = claims.rpt(req);
    const first = await fetch(url, {
      dispatcher,
      headers: kept ? { authorization: `Bearer ${kept}` } : {},
    });
    const challenge = readUmaChallenge(first.headers.get('www-authenticate'));
    steps.push({
      label: kept
        ? `GET ${album.path} with the session's RPT ${shorten(kept)}`
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
        final = await claims.fetch(req, url);
      } catch (err) {
        if (!(err instanceof UmaNeedInfoError)) throw err;
        // The AS needs a claim first: off to its claims-gathering page, back to this page.
        await claims.gatherClaims(req, res, { ticket: err.ticket, returnTo: `/uma?album=${key}` });
        return;
      }
      steps.push({
        label: `Ticket exchanged for the RPT ${shorten(claims.rpt(req))} (uma_rp_get_rpt), GET ${album.path} again`,
        status: final.status,
      });
    }
    const body = final.ok ? await final.json() : undefined;
    if (!final.ok) await final.body?.cancel();
    res
      .type('html')
      .set('Cache-Control', 'no-store')
      .send(page(req, result(album, steps, body)));
  });
}

function intro(rpt) {
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
      The private album needs your e-mail address as a claim: the authorization server asks for it
      once, then the site keeps the RPT in your session.
      ${rpt ? html`This session holds the RPT <code>${shorten(rpt)}</code>.` : 'This session holds no RPT yet.'}
    </p>`;
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
