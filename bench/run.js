'use strict';
/**
 * `npm run bench`: express-oxd against bare express-session and express-openid-connect on
 * the local stack (local OP + local oxd server), plus the oxd client's transport modes,
 * the login round trip, the stored session's size and the cost of many sessions.
 *
 * Each HTTP scenario runs in its own process; autocannon loads one at a time, scenarios
 * interleaved round by round (the order rotates), after a warm-up; figures are medians of
 * the rounds. Writes bench/RESULTS.md and bench/results.svg (or into BENCH_OUT).
 *
 *   BENCH_SMOKE=1        one short round of everything (checks the bench works)
 *   BENCH_OUT=dir        where to write RESULTS.md and results.svg
 *   BENCH_CPU_PROF=dir   run the app processes with --cpu-prof into dir
 *   BENCH_ONLY=login     only the login round trips (for profiling them)
 *   BENCH_ONLY=http      only the protected-route scenarios (prints their ratios)
 *   BENCH_ROUNDS=n       rounds per HTTP scenario (default 15)
 *   BENCH_NO_PIN=1       do not pin the app servers and the load generator to CPUs
 */
const { fork, spawn, spawnSync } = require('node:child_process');
const { mkdirSync, writeFileSync } = require('node:fs');
const { cpus, loadavg } = require('node:os');
const { join } = require('node:path');
const { performance } = require('node:perf_hooks');
const { URLSearchParams } = require('node:url');
const autocannon = require('autocannon');
const lib = require('./lib');

const SMOKE = process.env.BENCH_SMOKE === '1';
const OUT = process.env.BENCH_OUT || __dirname;
const PROFILE_DIR = process.env.BENCH_CPU_PROF;
const PLAN = SMOKE
  ? { rounds: 1, seconds: 0.25, warmup: 0.1, logins: 2, sessions: [1000], clientSeconds: 0.2 }
  : {
      rounds: Number(process.env.BENCH_ROUNDS) || 15,
      seconds: 1,
      warmup: 2,
      logins: 30,
      sessions: [1000, 100000],
      clientSeconds: 2,
    };
const CONNECTIONS = 10;
const CALLERS = 64;
/** Hard bounds per autocannon run, whatever the duration: requests and seconds. */
const MAX_REQUESTS = 2_000_000;
const USER_INDEX = 0;

const children = new Set();

/**
 * CPU pinning for the measured HTTP rounds, where the machine allows it (two or more CPUs,
 * util-linux `taskset`): the app servers on the last CPU, this process (the load generator)
 * on the others, so that the two do not take turns on one CPU and every scenario gets the
 * same CPU. Outside the rounds nothing is pinned.
 */
const PINNING = (() => {
  const count = cpus().length;
  if (process.env.BENCH_NO_PIN === '1' || count < 2) return undefined;
  if (spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status !== 0) return undefined;
  return {
    servers: String(count - 1),
    generator: count === 2 ? '0' : `0-${count - 2}`,
    all: `0-${count - 1}`,
  };
})();

function pin(pid, list) {
  const done = spawnSync('taskset', ['-p', '-c', list, String(pid)], { stdio: 'ignore' });
  if (done.status !== 0) throw new Error(`taskset could not pin process ${pid} to CPU ${list}`);
}

function log(message) {
  process.stderr.write(`bench: ${message}\n`);
}

/** Forks bench/server.js with `setup`; resolves with its port and a stop function. */
function startServer(setup, env = {}) {
  const what = setup.kind ?? setup.apps.map((app) => app.kind).join('+');
  const execArgv = ['--expose-gc'];
  if (PROFILE_DIR) execArgv.push('--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`);
  const child = fork(join(__dirname, 'server.js'), [], {
    execArgv,
    env: { ...process.env, NODE_ENV: 'production', ...env },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  children.add(child);
  return new Promise((resolve, reject) => {
    child.once('message', (message) => {
      if (message.error) reject(new Error(`${what} server: ${message.error}`));
      else {
        const bases = message.ports.map((port) => `http://127.0.0.1:${port}`);
        resolve({
          pid: child.pid,
          base: bases[0],
          bases,
          stop: () =>
            new Promise((done) => {
              child.once('exit', () => {
                children.delete(child);
                done();
              });
              child.send('stop');
            }),
        });
      }
    });
    child.once('exit', (code) => reject(new Error(`${what} server exited (${code})`)));
    child.send(setup);
  });
}

/** The app path of a callback URL the OP sent the browser to (https://app.example/...). */
function onApp(base, url) {
  const parsed = new URL(url);
  return `${base}${parsed.pathname}${parsed.search}`;
}

/** A real login at an app: its login route, the OP's form, the callback. Returns the jar. */
async function logIn(base, stack, opAgent, jar = new lib.Jar()) {
  const login = await lib.fetchOnce(`${base}/login`, { jar });
  if (login.status !== 302) throw new Error(`${base}/login answered ${login.status}`);
  const callback = await lib.opLogin(login.location, stack.op.users[USER_INDEX], opAgent);
  const done = await lib.fetchOnce(onApp(base, callback), { jar });
  if (done.status !== 302) {
    throw new Error(`callback answered ${done.status}: ${done.body.slice(0, 300)}`);
  }
  return jar;
}

async function expectStatus(url, cookie, status) {
  const jar = new lib.Jar();
  if (cookie) for (const pair of cookie.split('; ')) jar.store(pair);
  const answer = await lib.fetchOnce(url, { jar, accept: 'application/json' });
  if (answer.status !== status) {
    throw new Error(`${url} answered ${answer.status}, expected ${status}`);
  }
}

/** One autocannon run; latencies are collected from the responses (sub-ms precision). */
function load(url, cookie, seconds) {
  const latencies = [];
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        connections: CONNECTIONS,
        duration: seconds,
        amount: undefined,
        maxOverallRequests: MAX_REQUESTS,
        headers: cookie ? { cookie } : {},
        timeout: 10,
      },
      (err, result) => {
        if (err) return reject(err);
        if (result.non2xx > 0 || result.errors > 0) {
          return reject(new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`));
        }
        resolve({
          rps: result.requests.total / (result.duration || seconds),
          p50: lib.quantile(latencies, 0.5),
          p99: lib.quantile(latencies, 0.99),
        });
      },
    );
    instance.on('response', (_client, _status, _bytes, responseTime) => {
      latencies.push(responseTime);
    });
  });
}

/**
 * Interleaved rounds over `scenarios` ({ name, instances: [{ url, cookie, pid }] }); round r
 * loads instance r mod n of each. Medians per scenario. Pinned to CPUs (see PINNING).
 */
async function rounds(scenarios, seconds, count) {
  if (PINNING) {
    pin(process.pid, PINNING.generator);
    for (const scenario of scenarios) {
      for (const instance of scenario.instances) pin(instance.pid, PINNING.servers);
    }
  }
  try {
    return await measureRounds(scenarios, seconds, count);
  } finally {
    if (PINNING) pin(process.pid, PINNING.all);
  }
}

async function measureRounds(scenarios, seconds, count) {
  for (const scenario of scenarios) {
    for (const { url, cookie } of scenario.instances) await load(url, cookie, PLAN.warmup);
  }
  const runs = new Map(scenarios.map((s) => [s.name, []]));
  for (let round = 0; round < count; round += 1) {
    const order = scenarios.map((_, i) => scenarios[(i + round) % scenarios.length]);
    for (const scenario of order) {
      const { url, cookie } = scenario.instances[round % scenario.instances.length];
      runs.get(scenario.name).push(await load(url, cookie, seconds));
    }
    const figures = scenarios.map((s) => `${s.name} ${Math.round(runs.get(s.name)[round].rps)}`);
    log(`round ${round + 1}/${count}: ${figures.join(', ')} req/s`);
  }
  const result = new Map();
  result.ratios = (a, b) => lib.median(runs.get(a).map((run, i) => run.rps / runs.get(b)[i].rps));
  result.p99Deltas = (a, b) =>
    lib.median(runs.get(a).map((run, i) => run.p99 - runs.get(b)[i].p99));
  for (const [name, list] of runs) {
    result.set(name, {
      rps: lib.median(list.map((r) => r.rps)),
      min: Math.min(...list.map((r) => r.rps)),
      max: Math.max(...list.map((r) => r.rps)),
      p50: lib.median(list.map((r) => r.p50)),
      p99: lib.median(list.map((r) => r.p99)),
      rounds: list.length,
    });
  }
  return result;
}

/** `callers` concurrent loops of `command()` for `seconds` (bounded in count too). */
async function commandsPerSecond(command, seconds, callers = CALLERS) {
  const deadline = performance.now() + seconds * 1000;
  const limit = 5_000_000;
  let done = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (performance.now() < deadline && done < limit) {
        await command();
        done += 1;
      }
    }),
  );
  return done / ((performance.now() - start) / 1000);
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

async function timedLogins(stack, opAgent, oxdServer) {
  const times = [];
  for (let i = 0; i < PLAN.logins; i += 1) {
    const start = performance.now();
    const jar = await logIn(oxdServer.base, stack, opAgent);
    const info = await lib.fetchOnce(`${oxdServer.base}/__bench/login-data`, {
      jar,
      accept: 'application/json',
    });
    if (info.status !== 200) throw new Error(`user info answered ${info.status}`);
    times.push(performance.now() - start);
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

const fmt = (value, digits = 0) =>
  Number.isFinite(value)
    ? value.toLocaleString('en-US', {
        minimumFractionDigits: digits,
        maximumFractionDigits: digits,
      })
    : 'n/a';

function table(headers, rows) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
  return [
    line(headers),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.map(line),
  ].join('\n');
}

function escapeXml(text) {
  return String(text).replace(
    /[<>&"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c],
  );
}

/** A horizontal bar chart of one or more panels: { title, unit, bars: [{ label, value }] }. */
function svgChart(panels) {
  const width = 760;
  const labelWidth = 300;
  const barArea = width - labelWidth - 120;
  const rowHeight = 26;
  let y = 20;
  const parts = [];
  for (const panel of panels) {
    parts.push(
      `<text x="10" y="${y + 14}" font-size="15" font-weight="bold">${escapeXml(panel.title)}</text>`,
    );
    y += 28;
    const max = Math.max(...panel.bars.map((b) => b.value), 1);
    for (const bar of panel.bars) {
      const w = Math.max(1, Math.round((bar.value / max) * barArea));
      const fill = bar.ours ? '#2f6fb0' : '#9aa5b1';
      parts.push(
        `<text x="${labelWidth - 8}" y="${y + 16}" font-size="12" text-anchor="end">${escapeXml(bar.label)}</text>`,
        `<rect x="${labelWidth}" y="${y + 3}" width="${w}" height="18" fill="${fill}"/>`,
        `<text x="${labelWidth + w + 6}" y="${y + 16}" font-size="12">${escapeXml(`${fmt(bar.value)} ${panel.unit}`)}</text>`,
      );
      y += rowHeight;
    }
    y += 14;
  }
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}" ` +
    `font-family="sans-serif">\n<rect width="100%" height="100%" fill="#fff"/>\n${parts.join('\n')}\n</svg>\n`
  );
}

/**
 * Processes serving the protected-route apps. Two processes running the same app differ by
 * a few per cent in throughput for as long as they live (sometimes by far more), so every
 * process serves all four apps, on ports of their own, and the rounds take turns over the
 * processes: whatever luck a process has, its apps share it.
 */
const INSTANCES = SMOKE ? 1 : 3;

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

async function main() {
  const started = new Date();
  const load0 = loadavg()[0];
  log(`${SMOKE ? 'smoke run' : 'full run'}; starting the local stack`);
  const stack = await lib.startStack();
  const opAgent = lib.opAgentFor(stack.op);
  const servers = [];
  try {
    const eocClient = await lib.registerOpClient(stack.op, opAgent, 'https://app.example/callback');
    const { scenarios, footprint } = await protectedRouteScenarios(
      stack,
      opAgent,
      eocClient,
      servers,
    );

    if (process.env.BENCH_ONLY === 'login') {
      const timed = await startServer({
        ...{ kind: 'oxd', op: stack.op, oxd: stack.oxd },
        timing: true,
      });
      servers.push(timed);
      await logIn(timed.base, stack, opAgent);
      const login = await loginRoundTrips(stack, opAgent, timed);
      process.stdout.write(`${JSON.stringify(login)}\n`);
      return;
    }
    log('HTTP scenarios');
    const http = await rounds(scenarios, PLAN.seconds, PLAN.rounds);
    if (process.env.BENCH_ONLY === 'http') {
      const ours = 'express-oxd requireAuth';
      const bareName = 'bare express-session guard';
      const figures = {
        vsBare: http.ratios(ours, bareName),
        vsEoc: http.ratios(ours, 'express-openid-connect requiresAuth'),
        p99OverBare: http.p99Deltas(ours, bareName),
      };
      process.stdout.write(`${JSON.stringify(figures)}\n`);
      return;
    }
    log('login round trips');
    const timed = await startServer({
      kind: 'oxd',
      op: stack.op,
      oxd: stack.oxd,
      store: 'memory',
      timing: true,
    });
    servers.push(timed);
    await logIn(timed.base, stack, opAgent); // warm-up
    const login = await loginRoundTrips(stack, opAgent, timed);
    await Promise.all(servers.splice(0).map((server) => server.stop()));
    log('session scale');
    const scale = await sessionScale(stack, opAgent);
    log('oxd client modes');
    const client = await clientModes(stack);

    const report = buildReport({
      started,
      load0,
      http,
      scenarios,
      login,
      footprint,
      scale,
      client,
    });
    mkdirSync(OUT, { recursive: true });
    writeFileSync(join(OUT, 'RESULTS.md'), report.markdown);
    writeFileSync(join(OUT, 'results.svg'), report.svg);
    process.stdout.write(`${report.text}\n`);
    log(`wrote ${join(OUT, 'RESULTS.md')} and ${join(OUT, 'results.svg')}`);
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    await opAgent.close();
    await stack.close();
  }
}

function buildReport({ started, load0, http, scenarios, login, footprint, scale, client }) {
  const get = (name) => http.get(name);
  const bare = get('bare express-session guard');
  const hello = get('hello world (ceiling)');
  const vsBare = http.ratios('express-oxd requireAuth', 'bare express-session guard');
  const vsEoc = http.ratios('express-oxd requireAuth', 'express-openid-connect requiresAuth');
  const p99OverBare = http.p99Deltas('express-oxd requireAuth', 'bare express-session guard');
  const httpRows = scenarios.map((s) => {
    const m = get(s.name);
    return [
      s.name,
      fmt(m.rps),
      `${fmt(m.min)}–${fmt(m.max)}`,
      fmt(m.rps / bare.rps, 2),
      fmt(m.p50, 3),
      fmt(m.p99, 3),
    ];
  });
  const clientRows = Object.entries(client).map(([name, value]) => [name, fmt(value)]);
  const socketPool = client['socket, pool of 4 (default)'];
  const socketNew = client['socket, new connection per command'];
  const keepAlive = client['HTTPS, keep-alive'];
  const newTls = client['HTTPS, new TLS connection per command'];
  const scaleRows = scale.scenarios.map((s) => {
    const m = scale.measured.get(s.name);
    const heap = s.store === 'MemoryStore' ? fmt(scale.heap[s.count]) : 'n/a (kept by Redis)';
    return [s.name, fmt(m.rps), fmt(m.p99, 3), heap];
  });
  const flatness = ['MemoryStore', 'Redis']
    .map((store) => {
      const list = scale.scenarios.filter((s) => s.store === store);
      if (list.length < 2) return undefined;
      const small = scale.measured.get(list[0].name).rps;
      const large = scale.measured.get(list[list.length - 1].name).rps;
      return [store, fmt(large / small, 2)];
    })
    .filter(Boolean);
  const verdict = (ok) => (ok ? 'met' : 'MISSED');
  const targets = [
    [
      'requireAuth vs bare express-session (median of per-round ratios)',
      '≥ 0.97×',
      `${fmt(vsBare, 2)}×`,
      verdict(vsBare >= 0.97),
    ],
    [
      'requireAuth vs express-openid-connect (median of per-round ratios)',
      '≥ 1.6×',
      `${fmt(vsEoc, 2)}×`,
      verdict(vsEoc >= 1.6),
    ],
    [
      'p99 over bare (median of per-round differences)',
      '≤ 0.5 ms',
      `${fmt(p99OverBare, 3)} ms`,
      verdict(p99OverBare <= 0.5),
    ],
    [
      'stored session, one login',
      '≤ 1,300 B',
      `${fmt(footprint.oxd)} B`,
      verdict(footprint.oxd <= 1300),
    ],
    [
      'socket, 64 callers, default pool',
      '≥ 35,000/s',
      `${fmt(socketPool)}/s`,
      verdict(socketPool >= 35000),
    ],
    [
      'socket pool vs new connection',
      '≥ 4×',
      `${fmt(socketPool / socketNew, 1)}×`,
      verdict(socketPool / socketNew >= 4),
    ],
    [
      'HTTPS keep-alive vs new TLS',
      '≥ 15×',
      `${fmt(keepAlive / newTls, 1)}×`,
      verdict(keepAlive / newTls >= 15),
    ],
    [
      'our code in a login round trip (CPU profile)',
      '≤ 10%',
      `${fmt(login.ownShare * 100, 1)}% (whole app process ${fmt(login.share * 100, 1)}%)`,
      verdict(login.ownShare <= 0.1),
    ],
  ];
  const sections = [
    [
      'Protected route, logged-in session (median of rounds)',
      table(['scenario', 'req/s', 'rounds min–max', '× bare', 'p50 ms', 'p99 ms'], httpRows),
    ],
    ['Targets', table(['what', 'target', 'measured', ''], targets)],
    [
      'Stored session for one login (bytes of the store entry / cookie)',
      table(
        ['app', 'bytes'],
        [
          ['express-oxd (express-session JSON, cookie included)', fmt(footprint.oxd)],
          ['bare express-session, tokens + claims', fmt(footprint.bare)],
          ['express-openid-connect (appSession cookie, encrypted)', fmt(footprint.eoc)],
        ],
      ),
    ],
    [
      `Login round trip (login → OP form → callback → user info), ${PLAN.logins} logins; per login: ` +
        "express-oxd's code (CPU profile: its functions and the built-ins they call), the whole " +
        "app process's CPU, the login routes minus their oxd calls, the oxd calls",
      table(
        [
          'p50 ms',
          'p90 ms',
          'express-oxd code ms',
          'share',
          'app CPU ms',
          'share',
          'login routes minus oxd calls ms',
          'share',
          'oxd calls ms',
        ],
        [
          [
            fmt(login.p50, 1),
            fmt(login.p90, 1),
            fmt(login.ownPerLogin, 2),
            `${fmt(login.ownShare * 100, 1)}%`,
            fmt(login.cpuPerLogin, 2),
            `${fmt(login.share * 100, 1)}%`,
            fmt(login.routesPerLogin, 2),
            `${fmt(login.routeShare * 100, 1)}%`,
            fmt(login.oxdPerLogin, 1),
          ],
        ],
      ),
    ],
    [
      'Sessions in the store (express-oxd requireAuth)',
      table(['store', 'req/s', 'p99 ms', 'heap bytes per session'], scaleRows),
    ],
    ['Largest vs smallest store (req/s ratio)', table(['store', 'ratio'], flatness)],
    [
      `oxd client, ${CALLERS} concurrent callers (get_rp)`,
      table(['mode', 'commands/s'], clientRows),
    ],
  ];
  const text = sections.map(([title, body]) => `${title}\n${body}`).join('\n\n');
  const machine =
    `${started.toISOString()}, Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ` +
    `load average ${fmt(load0, 2)} at start; ${PLAN.rounds} rounds of ${PLAN.seconds} s per HTTP scenario ` +
    `after a ${PLAN.warmup} s warm-up, ${CONNECTIONS} connections, ` +
    `${INSTANCES} processes taking turns, each serving all four protected-route apps; ` +
    (PINNING
      ? `during the HTTP rounds the app servers run on CPU ${PINNING.servers} and the load generator on CPU ${PINNING.generator}`
      : 'app servers and load generator not pinned to CPUs') +
    `${SMOKE ? ' (smoke run: figures are not meaningful)' : ''}.`;
  const markdown =
    `# Benchmark results\n\nWritten by \`npm run bench\` (bench/run.js). ${machine}\n` +
    'The machine may be shared: compare the ratios measured side by side in one run, not the absolute figures. ' +
    'Absolute figures also differ from table to table: their processes serve different sets of apps.\n\n' +
    '![requests per second and oxd commands per second](results.svg)\n\n' +
    sections.map(([title, body]) => `## ${title}\n\n${body}\n`).join('\n');
  const svg = svgChart([
    {
      title: 'Protected route, logged-in session (req/s, higher is better)',
      unit: 'req/s',
      bars: scenarios.map((s) => ({
        label: s.name,
        value: get(s.name).rps,
        ours: s.name.startsWith('express-oxd'),
      })),
    },
    {
      title: `oxd client, ${CALLERS} callers (commands/s)`,
      unit: '/s',
      bars: Object.entries(client).map(([label, value]) => ({ label, value, ours: true })),
    },
  ]);
  void hello;
  return { text, markdown, svg };
}

function stopChildren() {
  for (const child of children) child.kill('SIGKILL');
}
process.once('exit', stopChildren);

main().catch((err) => {
  process.stderr.write(`bench failed: ${err?.stack ?? err}\n`);
  process.exitCode = 1;
});
