const fs = require('node:fs');
const https = require('node:https');
const express = require('express');
const session = require('express-session');
const { oxdAuth, requireAuth, oxdErrorHandler } = require('express-oxd');

// SESSION_SECRET signs the session cookie: a long random string, kept secret, the same across
// restarts (a new one logs everybody out).
const secret = process.env.SESSION_SECRET;
if (!secret) {
  console.error(
    'Set SESSION_SECRET to a long random string, for instance:\n' +
      `  export SESSION_SECRET="$(node -e "console.log(require('node:crypto').randomBytes(32).toString('hex'))")"`,
  );
  process.exit(1);
}

const app = express();
app.use(
  session({
    secret,
    resave: false,
    saveUninitialized: false,
    cookie: { secure: true, httpOnly: true, sameSite: 'lax' },
  }),
);
app.use(oxdAuth('app.cfg')); // mounts /login, the callback (/callback) and /logout

const escapeHtml = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
app.get('/', (req, res) => {
  res.send(
    req.oxd.isAuthenticated()
      ? `Hi ${escapeHtml(req.oxd.user.name)}. <a href="/profile">Profile</a>` +
          '<form method="post" action="/logout"><button>Log out</button></form>'
      : 'Hi. <a href="/login">Log in</a>',
  );
});
app.get('/profile', requireAuth(), (req, res) => res.json(req.oxd.user));
app.use(oxdErrorHandler());

const port = Number(process.env.PORT) || 3000;
const tls = { cert: fs.readFileSync('dev-cert.pem'), key: fs.readFileSync('dev-key.pem') };
https.createServer(tls, app).listen(port, '127.0.0.1', () => {
  console.log(`Listening on https://127.0.0.1:${port}/`);
});
