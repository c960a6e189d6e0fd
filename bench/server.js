'use strict';
/**
 * Bench applications in a process of their own (forked by bench/run.js, which sends the
 * setup over IPC: one app, or several on ports of their own): Express 5 with the same
 * `GET /protected` answer behind different guards.
 *
 *   hello  no session, no guard (the ceiling)
 *   bare   express-session + a guard reading `req.session.user` (tokens + claims)
 *   eoc    express-openid-connect's requiresAuth() (its own cookie session)
 *   oxd    express-session + oxdAuth() (with a back-channel logout route) + requireAuth()
 *
 * Bench-only routes: `POST /__bench/mint` stores the user data posted as `user` (bare),
 * `GET /__bench/login-data` answers the logged-in user's tokens and claims (oxd),
 * `GET /__bench/fill?count=N` copies the request's session N times into the store,
 * `GET /__bench/footprint` answers the request's stored session (JSON) and its size.
 */
const { performance } = require('node:perf_hooks');
const express = require('express');
const session = require('express-session');

const SECRET = 'bench secret, used nowhere else';

/**
 * What express-session warns while setting up (its MemoryStore warning under
 * NODE_ENV=production): sent to bench/run.js, which prints each warning once per run.
 */
const setupWarnings = [];

function sessionMiddleware(store) {
  const warn = console.warn;
  console.warn = (...args) => {
    const text = args.join(' ');
    if (!setupWarnings.includes(text)) setupWarnings.push(text);
  };
  try {
    return session({ secret: SECRET, resave: false, saveUninitialized: false, store });
  } finally {
    console.warn = warn;
  }
}

async function storeFor(setup) {
  if (setup.store !== 'redis') return { store: new session.MemoryStore(), close: async () => {} };
  const { createClient } = require('redis');
  const { RedisStore } = require('connect-redis');
  const client = createClient({
    socket: { host: '127.0.0.1', port: setup.redisPort },
    database: setup.redisDb ?? 0,
  });
  await client.connect();
  return { store: new RedisStore({ client, prefix: 'bench:' }), close: () => client.quit() };
}

function promisify(store, method, ...args) {
  return new Promise((resolve, reject) =>
    store[method](...args, (err, value) => (err ? reject(err) : resolve(value))),
  );
}

/** Bench routes that read or copy the request's stored session. */
function storeRoutes(app, store) {
  app.get('/__bench/footprint', async (req, res) => {
    const stored = await promisify(store, 'get', req.sessionID);
    const json = JSON.stringify(stored);
    res.json({ bytes: Buffer.byteLength(json), json });
  });
  app.get('/__bench/fill', async (req, res) => {
    const count = Number(req.query.count);
    const data = JSON.parse(JSON.stringify(await promisify(store, 'get', req.sessionID)));
    globalThis.gc?.();
    const before = process.memoryUsage().heapUsed;
    const batch = [];
    for (let i = 0; i < count; i += 1) {
      batch.push(promisify(store, 'set', `bench-filler-${i}`, data));
      if (batch.length === 500) await Promise.all(batch.splice(0));
    }
    await Promise.all(batch);
    globalThis.gc?.();
    const after = process.memoryUsage().heapUsed;
    res.json({ count, heapPerSession: (after - before) / count });
  });
}

function protectedPage(_req, res) {
  res.end('ok');
}

/** Times of express-oxd's own work during logins (route entry to response, minus oxd waits). */
const timing = { routeMs: 0, oxdMs: 0, logins: 0 };

/** express-oxd's own files (the built package, not its testing servers). */
const OWN_CODE = /\/dist\/(?!testing\/)[^?]*\.js$/;

/**
 * A CPU profile of a window of this process (node:inspector, 100 µs sampling): how much of
 * it was spent in express-oxd's code (its functions and the built-ins they call), and busy.
 */
const profiler = {
  session: undefined,
  post(method, params) {
    return new Promise((resolve, reject) =>
      this.session.post(method, params, (err, result) => (err ? reject(err) : resolve(result))),
    );
  },
  async start() {
    const { Session } = require('node:inspector');
    this.session = new Session();
    this.session.connect();
    await this.post('Profiler.enable');
    await this.post('Profiler.setSamplingInterval', { interval: 100 });
    await this.post('Profiler.start');
  },
  async stop() {
    const { profile } = await this.post('Profiler.stop');
    this.session.disconnect();
    const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
    const parents = new Map();
    for (const node of profile.nodes) {
      for (const child of node.children ?? []) parents.set(child, node.id);
    }
    // A sample counts as ours when the innermost frame that is not node's own (built-ins,
    // native code) belongs to express-oxd: our functions and the built-ins they call.
    const ours = (id) => {
      for (let at = id; at !== undefined; at = parents.get(at)) {
        const url = nodes.get(at).callFrame.url;
        if (url === '' || url.startsWith('node:')) continue;
        return OWN_CODE.test(url);
      }
      return false;
    };
    let ownUs = 0;
    let busyUs = 0;
    profile.samples.forEach((id, i) => {
      const delta = profile.timeDeltas[i] ?? 0;
      const name = nodes.get(id).callFrame.functionName;
      if (name === '(idle)' || name === '(program)' || name === '(garbage collector)') return;
      busyUs += delta;
      if (ours(id)) ownUs += delta;
    });
    return { ownMs: ownUs / 1000, busyMs: busyUs / 1000 };
  },
};

function timedClient(client) {
  return new Proxy(client, {
    get(target, name) {
      const value = Reflect.get(target, name, target);
      if (typeof value !== 'function') return value;
      return (...args) => {
        const start = performance.now();
        const result = value.apply(target, args);
        if (!(result instanceof Promise)) return result;
        return result.finally(() => {
          timing.oxdMs += performance.now() - start;
        });
      };
    },
  });
}

async function build(setup) {
  const app = express();
  app.disable('x-powered-by');
  const closers = [];
  if (setup.kind === 'hello') {
    app.get('/protected', protectedPage);
    return { app, closers };
  }
  if (setup.kind === 'bare') {
    const { store, close } = await storeFor(setup);
    closers.push(close);
    app.use(sessionMiddleware(store));
    // The measured route first, the bench's own routes after it (as in the oxd app).
    app.get(
      '/protected',
      (req, res, next) => {
        if (req.session.user === undefined) {
          res.statusCode = 401;
          res.end('log in first');
          return;
        }
        next();
      },
      protectedPage,
    );
    app.post('/__bench/mint', express.urlencoded({ extended: false }), (req, res, next) => {
      req.session.user = JSON.parse(req.body.user);
      req.session.save((err) => (err ? next(err) : res.end('minted')));
    });
    storeRoutes(app, store);
    return { app, closers };
  }
  if (setup.kind === 'eoc') {
    const { auth, requiresAuth } = require('express-openid-connect');
    app.use(
      auth({
        issuerBaseURL: setup.op.issuer,
        baseURL: 'https://app.example',
        clientID: setup.eocClient.client_id,
        clientSecret: setup.eocClient.client_secret,
        secret: `${SECRET} and long enough for its key derivation`,
        authRequired: false,
        idpLogout: false,
        authorizationParams: { response_type: 'code', scope: 'openid profile email' },
      }),
    );
    app.get('/protected', requiresAuth(), protectedPage);
    return { app, closers };
  }
  // oxd
  const { oxdAuth, requireAuth } = require('..');
  const { store, close } = await storeFor(setup);
  closers.push(close);
  app.use(sessionMiddleware(store));
  const config = {
    oxd: {
      host: setup.oxd.host,
      port: setup.oxd.port,
      ...(setup.poolSize === undefined ? {} : { poolSize: setup.poolSize }),
    },
    client: {
      opHost: setup.op.issuer,
      authorizationRedirectUri: 'https://app.example/callback',
      postLogoutRedirectUri: 'https://app.example/',
      scope: ['openid', 'profile', 'email', 'offline_access'],
    },
  };
  // The middleware's client, wrapped to time the oxd calls it makes.
  const client = oxdAuth({ config }).client;
  closers.push(() => client.close());
  // With the back-channel logout route: its check that a login's records name the session's
  // id runs on every protected request.
  const handler = oxdAuth({
    config,
    client: timedClient(client),
    routes: { backchannelLogout: '/backchannel-logout' },
  });
  if (setup.timing) {
    // Only in the process that measures login round trips: times the login routes.
    app.use((req, res, next) => {
      const url = req.url;
      if (!url.startsWith('/login') && !url.startsWith('/callback')) return handler(req, res, next);
      const start = performance.now();
      res.once('finish', () => {
        timing.routeMs += performance.now() - start;
        if (url.startsWith('/callback')) timing.logins += 1;
      });
      return handler(req, res, next);
    });
  } else {
    app.use(handler);
  }
  app.get('/protected', requireAuth(), protectedPage);
  storeRoutes(app, store);
  app.get('/__bench/login-data', requireAuth(), (req, res) => {
    const tokens = req.oxd.tokens;
    res.json({
      tokens: {
        access_token: tokens.accessToken,
        id_token: tokens.idToken,
        refresh_token: tokens.refreshToken,
        expires_at: tokens.expiresAt,
      },
      claims: req.oxd.user,
    });
  });
  app.get('/__bench/profile/start', async (_req, res) => {
    await profiler.start();
    res.end('profiling');
  });
  app.get('/__bench/profile/stop', async (_req, res) => {
    res.json(await profiler.stop());
  });
  app.get('/__bench/timing', (_req, res) => {
    const cpu = process.cpuUsage();
    res.json({ ...timing, cpuMs: (cpu.user + cpu.system) / 1000 });
  });
  return { app, closers };
}

process.once('message', async (message) => {
  try {
    // One app, or several on ports of their own in this process (`{ apps: [setup, ...] }`).
    const setups = message.apps ?? [message];
    const servers = [];
    const closers = [];
    for (const setup of setups) {
      const built = await build(setup);
      closers.push(...built.closers);
      // Errors answered quietly (express-openid-connect's 401 for a logged-out request);
      // a server error names its code and message, so that a failed login says why.
      built.app.use((err, _req, res, _next) => {
        res.statusCode = err.status ?? err.statusCode ?? 500;
        res.end(res.statusCode >= 500 ? `${err.code ?? 'error'}: ${err.message}` : undefined);
      });
      const server = built.app.listen(0, '127.0.0.1');
      await new Promise((resolve) => server.once('listening', resolve));
      server.keepAliveTimeout = 30_000;
      servers.push(server);
    }
    process.send({
      ports: servers.map((server) => server.address().port),
      warnings: setupWarnings,
    });
    process.on('message', async (command) => {
      if (command !== 'stop') return;
      for (const server of servers) {
        server.closeAllConnections();
        server.close();
      }
      await Promise.all(closers.map((close) => close().catch(() => {})));
      process.exit(0);
    });
  } catch (err) {
    process.send({ error: String(err?.stack ?? err) });
    process.exit(1);
  }
});
