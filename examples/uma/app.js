// A web app that logs users in and calls the UMA-protected photo API (api.js) on their behalf,
// as the requesting party: umaClaims() answers the API's 401 with an RPT (kept in the
// session), gathering claims at the authorization server when it asks for them.
//   OXD_CONFIG (default app.cfg), API_URL (default http://127.0.0.1:4000), APP_URL (the
//   app's public address, default http://127.0.0.1:3000), SESSION_SECRET, PORT (default 3000)
const express = require('express');
const session = require('express-session');
const {
  oxdAuth,
  requireAuth,
  umaClaims,
  UmaNeedInfoError,
  oxdErrorHandler,
} = require('express-oxd');

const apiUrl = process.env.API_URL || 'http://127.0.0.1:4000';
const appUrl = process.env.APP_URL || 'http://127.0.0.1:3000';

const app = express();
app.use(
  session({
    secret: process.env.SESSION_SECRET,
    resave: false,
    saveUninitialized: false,
    // Secure whenever the request came over HTTPS (set `trust proxy` behind a proxy).
    cookie: { secure: 'auto', httpOnly: true, sameSite: 'lax' },
  }),
);
const auth = oxdAuth(process.env.OXD_CONFIG || 'app.cfg');
app.use(auth);
// The same oxd site as the login; claims gathering comes back to /uma/claims.
const uma = umaClaims({ client: auth.client, claimsRedirectUri: `${appUrl}/uma/claims` });
app.use(uma);

app.get('/album', requireAuth(), async (req, res, next) => {
  try {
    const answer = await uma.fetch(req, `${apiUrl}/api/photos`);
    res.status(answer.status).json(await answer.json());
  } catch (err) {
    if (!(err instanceof UmaNeedInfoError)) return next(err);
    await uma.gatherClaims(req, res, { ticket: err.ticket, returnTo: '/album' });
  }
});
app.use(oxdErrorHandler());

const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  console.log(`Listening on http://127.0.0.1:${server.address().port}/ (photo album)`);
});
process.once('SIGTERM', () => server.close(() => auth.client.close()));
