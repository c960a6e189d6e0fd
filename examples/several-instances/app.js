// One instance of a site that runs as several processes behind a load balancer: sessions in
// Redis, one configuration file that `npx express-oxd register` filled in at deploy time.
//   OXD_CONFIG (default site.cfg), REDIS_URL, SESSION_SECRET, PORT (default 3000)
const express = require('express');
const session = require('express-session');
const { RedisStore } = require('connect-redis'); // connect-redis 9
const { createClient } = require('redis'); // redis 5
const {
  oxdAuth,
  guardSession,
  redisRefreshLock,
  requireAuth,
  oxdErrorHandler,
} = require('express-oxd');

async function main() {
  const redis = createClient({
    url: process.env.REDIS_URL,
    // Fail at once while Redis is unreachable (the request answers 503) instead of queueing.
    disableOfflineQueue: true,
  });
  redis.on('error', (err) => console.warn('redis: %s', err.message)); // it reconnects by itself
  await redis.connect();

  const app = express();
  // TLS ends at the load balancer: trust its X-Forwarded-Proto so that secure cookies are set.
  app.set('trust proxy', 'loopback');
  app.use(
    guardSession(
      session({
        store: new RedisStore({ client: redis, prefix: 'sess:' }),
        secret: process.env.SESSION_SECRET,
        resave: false,
        saveUninitialized: false,
        cookie: { secure: true, httpOnly: true, sameSite: 'lax' },
      }),
    ),
  );
  const auth = oxdAuth({
    config: process.env.OXD_CONFIG || 'site.cfg',
    refreshLock: redisRefreshLock(redis),
  });
  app.use(auth);
  app.get('/', (req, res) => {
    res.json({ user: req.oxd.isAuthenticated() ? req.oxd.user.name : null, pid: process.pid });
  });
  app.get('/profile', requireAuth(), (req, res) => res.json({ ...req.oxd.user, pid: process.pid }));
  app.use(oxdErrorHandler());

  const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
    console.log(`Listening on http://127.0.0.1:${server.address().port}/ (pid ${process.pid})`);
  });
  // Shut down: stop taking requests, then close the oxd connections and Redis.
  process.once('SIGTERM', () =>
    server.close(() => Promise.all([auth.client.close(), redis.close()])),
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
