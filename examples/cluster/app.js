// node:cluster: one primary forks workers that share one port; each worker is a full app with
// its sessions in Redis, so any worker serves any logged-in user. The workers register the
// site at start-up; the configuration file's lock lets only one of them do it, and the others
// read the id it wrote (or run `npx express-oxd register site.cfg` before, at deploy time).
//   OXD_CONFIG (default site.cfg), REDIS_URL, SESSION_SECRET, PORT (default 3000),
//   WORKERS (default: one per CPU)
const cluster = require('node:cluster');
const { availableParallelism } = require('node:os');

if (cluster.isPrimary) {
  const workers = Number(process.env.WORKERS) || availableParallelism();
  let listening = 0;
  let stopping = false;
  for (let i = 0; i < workers; i += 1) cluster.fork();
  cluster.on('listening', (worker, address) => {
    worker.served = true;
    listening += 1;
    if (listening === workers) {
      console.log(`Listening on http://127.0.0.1:${address.port}/ (${workers} workers)`);
    }
  });
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    if (!worker.served) {
      // It failed while starting (configuration, Redis, oxd): another would fail alike.
      console.error(`worker ${worker.process.pid} failed to start (${signal || code}); stopping`);
      stop(1);
      return;
    }
    console.error(`worker ${worker.process.pid} exited (${signal || code}); starting another`);
    cluster.fork();
  });
  const stop = (code) => {
    stopping = true;
    process.exitCode = code;
    for (const worker of Object.values(cluster.workers)) worker.process.kill('SIGTERM');
  };
  process.once('SIGTERM', () => stop(0));
} else {
  startWorker().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}

async function startWorker() {
  const express = require('express');
  const session = require('express-session');
  const { RedisStore } = require('connect-redis');
  const { createClient } = require('redis');
  const {
    oxdAuth,
    guardSession,
    redisRefreshLock,
    requireAuth,
    oxdErrorHandler,
  } = require('express-oxd');

  const redis = createClient({ url: process.env.REDIS_URL, disableOfflineQueue: true });
  redis.on('error', (err) => console.warn('redis: %s', err.message));
  await redis.connect();

  const auth = oxdAuth({
    config: process.env.OXD_CONFIG || 'site.cfg',
    refreshLock: redisRefreshLock(redis),
  });
  await auth.client.register(); // once for all workers: under the file's lock

  const app = express();
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
  app.use(auth);
  app.get('/profile', requireAuth(), (req, res) => {
    res.json({ ...req.oxd.user, worker: process.pid });
  });
  app.use(oxdErrorHandler());

  const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1');
  // Shut down: stop taking requests, close the oxd connections and Redis, then the channel to
  // the primary (a worker's last handle).
  process.once('SIGTERM', () =>
    server.close(() =>
      Promise.all([auth.client.close(), redis.close()]).finally(() => process.disconnect()),
    ),
  );
}
