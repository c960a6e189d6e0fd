'use strict';
/**
 * The bench's scenarios on the local stack: the protected route behind each guard, the login
 * round trip, sessions in the store, and the oxd client's transport modes.
 */
const { spawn } = require('node:child_process');
const { performance } = require('node:perf_hooks');
const { URLSearchParams } = require('node:url');
const lib = require('./lib');
const {
  commandsPerSecond,
  expectStatus,
  logIn,
  rounds,
  startServer,
  timedLogin,
} = require('./measure');
const { INSTANCES, PLAN, log } = require('./plan');

/**
 * Starts INSTANCES processes serving the protected-route apps, with a logged-in session at
 * each: express-oxd and express-openid-connect through real logins at the local OP, the bare
 * app holding the tokens and claims of express-oxd's first login. Returns the scenarios
 * (their `instances`: url, cookie, pid) and the stored session sizes of the first process.
 */
async function protectedRouteScenarios(stack, opAgent, eocClient, servers) {
  const kinds = {
    hello: 'hello world (ceiling)',
    bare: 'bare express-session guard',
    eoc: 'express-openid-connect requiresAuth',
    oxd: 'express-oxd requireAuth',
  };
  const instances = { hello: [], bare: [], eoc: [], oxd: [] };
  let loginData;
  let footprint;
  for (let i = 0; i < INSTANCES; i += 1) {
    const appProcess = await startServer(
      {
        apps: [
          { kind: 'hello' },
          { kind: 'bare', store: 'memory' },
          { kind: 'eoc', op: stack.op, eocClient },
          { kind: 'oxd', op: stack.op, oxd: stack.oxd, store: 'memory' },
        ],
      },
      { NODE_EXTRA_CA_CERTS: stack.opCaFile },
    );
    servers.push(appProcess);
    const [hello, bare, eoc, oxd] = appProcess.bases;
    // express-oxd: a real login; its tokens and claims are what the bare app keeps.
    const oxdJar = await logIn(oxd, stack, opAgent);
    loginData ??= (
      await lib.fetchOnce(`${oxd}/__bench/login-data`, { jar: oxdJar, accept: 'application/json' })
    ).body;
    const bareJar = new lib.Jar();
    await lib.fetchOnce(`${bare}/__bench/mint`, {
      jar: bareJar,
      method: 'POST',
      form: new URLSearchParams({ user: loginData }),
    });
    // express-openid-connect: its own login flow against the local OP.
    const eocJar = await logIn(eoc, stack, opAgent);

    const pid = appProcess.pid;
    instances.hello.push({ url: `${hello}/protected`, pid });
    instances.bare.push({ url: `${bare}/protected`, cookie: bareJar.header(), pid });
    instances.eoc.push({ url: `${eoc}/protected`, cookie: eocJar.header(), pid });
    instances.oxd.push({ url: `${oxd}/protected`, cookie: oxdJar.header(), pid });
    for (const kind of ['bare', 'eoc', 'oxd']) {
      const { url, cookie } = instances[kind][i];
      await expectStatus(url, cookie, 200);
      await expectStatus(url, undefined, 401);
    }
    const stored = async (base, jar) =>
      JSON.parse((await lib.fetchOnce(`${base}/__bench/footprint`, { jar })).body).bytes;
    footprint ??= {
      oxd: await stored(oxd, oxdJar),
      bare: await stored(bare, bareJar),
      eoc: [...eocJar.cookies]
        .filter(([name]) => name.startsWith('appSession'))
        .reduce((sum, [, value]) => sum + value.length, 0),
    };
  }
  const scenarios = Object.entries(kinds).map(([kind, name]) => ({
    name,
    instances: instances[kind],
  }));
  return { scenarios, footprint };
}

async function timedLogins(stack, opAgent, oxdServer) {
  const times = [];
  for (let i = 0; i < PLAN.logins; i += 1) {
    times.push(await timedLogin(oxdServer.base, stack, opAgent));
  }
  return times;
}

/** Login round trips: timed as they are, then again under a CPU profile of the app. */
async function loginRoundTrips(stack, opAgent, oxdServer) {
  const timing = async () =>
    JSON.parse((await lib.fetchOnce(`${oxdServer.base}/__bench/timing`)).body);
  const before = await timing();
  const times = await timedLogins(stack, opAgent, oxdServer);
  const after = await timing();
  await lib.fetchOnce(`${oxdServer.base}/__bench/profile/start`);
  const profiledStart = performance.now();
  await timedLogins(stack, opAgent, oxdServer);
  const profiledWall = performance.now() - profiledStart;
  const profile = JSON.parse((await lib.fetchOnce(`${oxdServer.base}/__bench/profile/stop`)).body);
  // Our code's time: samples of a CPU profile of the app (second pass) whose innermost
  // non-built-in frame is express-oxd's (its functions and the node built-ins they call). Upper bounds: the app process's CPU time (Express, express-session,
  // express-oxd and its oxd client), and the login routes' time minus their oxd calls
  // (which also counts express-session's store work and waiting for the event loop).
  const cpu = after.cpuMs - before.cpuMs;
  const routes = after.routeMs - before.routeMs - (after.oxdMs - before.oxdMs);
  const wall = times.reduce((a, b) => a + b, 0);
  return {
    p50: lib.quantile(times, 0.5),
    p90: lib.quantile(times, 0.9),
    cpuPerLogin: cpu / PLAN.logins,
    routesPerLogin: routes / PLAN.logins,
    oxdPerLogin: (after.oxdMs - before.oxdMs) / PLAN.logins,
    ownPerLogin: profile.ownMs / PLAN.logins,
    ownShare: profile.ownMs / profiledWall,
    share: cpu / wall,
    routeShare: routes / wall,
  };
}

function startRedis(port) {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      if (/Ready to accept connections/i.test(out)) resolve(child);
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${out}`)));
  });
}

function redisAvailable() {
  return new Promise((resolve) => {
    const probe = spawn('redis-server', ['--version'], { stdio: 'ignore' });
    probe.once('error', () => resolve(false));
    probe.once('exit', (code) => resolve(code === 0));
  });
}

/** Session scale: one logged-in user among N sessions in the store. */
async function sessionScale(stack, opAgent) {
  const stores = ['memory'];
  let redis;
  if (await redisAvailable()) {
    const port = await lib.freePort();
    redis = await startRedis(port);
    stores.push({ redisPort: port });
  } else {
    log('redis-server not installed: session scale measured with MemoryStore only');
  }
  const servers = [];
  const scenarios = [];
  const heap = {};
  try {
    // One process per store, serving one app per session count (a Redis database each), so
    // that the counts compared share the process's luck (see INSTANCES).
    for (const store of stores) {
      const name = store === 'memory' ? 'MemoryStore' : 'Redis';
      const apps = PLAN.sessions.map((_, i) =>
        store === 'memory'
          ? { kind: 'oxd', op: stack.op, oxd: stack.oxd, store: 'memory' }
          : {
              kind: 'oxd',
              op: stack.op,
              oxd: stack.oxd,
              store: 'redis',
              redisPort: store.redisPort,
              redisDb: i,
            },
      );
      const server = await startServer({ apps });
      servers.push(server);
      for (const [i, count] of PLAN.sessions.entries()) {
        const base = server.bases[i];
        const jar = await logIn(base, stack, opAgent);
        const filled = await lib.fetchOnce(`${base}/__bench/fill?count=${count - 1}`, {
          jar,
          accept: 'application/json',
        });
        if (filled.status !== 200) throw new Error(`fill answered ${filled.status}`);
        if (store === 'memory') heap[count] = JSON.parse(filled.body).heapPerSession;
        scenarios.push({
          name: `${name}, ${count.toLocaleString('en-US')} sessions`,
          instances: [{ url: `${base}/protected`, cookie: jar.header(), pid: server.pid }],
          store: name,
          count,
        });
      }
    }
    const measured = await rounds(scenarios, PLAN.seconds, Math.max(1, Math.min(PLAN.rounds, 8)));
    return { scenarios, measured, heap };
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    if (redis) {
      redis.kill('SIGTERM');
      await new Promise((resolve) => redis.once('exit', resolve));
    }
  }
}

async function clientModes(stack) {
  const { OxdClient, SocketTransport, HttpsTransport } = require('..');
  const { resolveConfig } = require('../dist/config-entry');
  const client = {
    opHost: stack.op.issuer,
    authorizationRedirectUri: 'https://app.example/callback',
    scope: ['openid', 'profile', 'email'],
  };
  const socket = { host: stack.oxd.host, port: stack.oxd.port };
  const registrar = new OxdClient(resolveConfig({ oxd: socket, client }), { writeBack: false });
  const oxdId = await registrar.register();
  await registrar.close();
  const config = resolveConfig({ oxd: { ...socket, oxdId }, client });
  const timeouts = { connectTimeoutMs: 5000, responseTimeoutMs: 15000 };
  const measure = (command) => commandsPerSecond(command, PLAN.clientSeconds);

  const results = {};
  for (const poolSize of [4, 16]) {
    const pooled = new OxdClient(config, {
      transport: new SocketTransport({ ...socket, ...timeouts, poolSize }),
    });
    await measure(() => pooled.getRp()); // warm-up
    results[`socket, pool of ${poolSize}${poolSize === 4 ? ' (default)' : ''}`] = await measure(
      () => pooled.getRp(),
    );
    await pooled.close();
  }
  results['socket, new connection per command'] = await measure(async () => {
    const once = new OxdClient(config, {
      transport: new SocketTransport({ ...socket, ...timeouts }),
    });
    try {
      await once.getRp();
    } finally {
      await once.close();
    }
  });

  const request = { command: 'get_rp', path: 'get-rp', params: { oxd_id: oxdId }, token: 'bench' };
  const https = { baseUrl: stack.oxd.httpsUrl, serverVersion: 4, ca: stack.oxd.ca, ...timeouts };
  const check = (reply) => {
    if (!reply.ok) throw new Error(`get-rp over HTTPS failed: ${reply.error}`);
  };
  const keepAlive = new HttpsTransport(https);
  await measure(async () => check(await keepAlive.send(request))); // warm-up
  results['HTTPS, keep-alive'] = await measure(async () => check(await keepAlive.send(request)));
  await keepAlive.close();
  results['HTTPS, new TLS connection per command'] = await measure(async () => {
    const once = new HttpsTransport(https);
    try {
      check(await once.send(request));
    } finally {
      await once.close();
    }
  });
  return results;
}

module.exports = { clientModes, loginRoundTrips, protectedRouteScenarios, sessionScale };
