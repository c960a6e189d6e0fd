'use strict';
/**
 * The bench's measuring tools: app processes (bench/server.js, forked), a real login at an
 * app through the local OP, autocannon runs interleaved in rounds, and commands per second.
 */
const { fork } = require('node:child_process');
const { join } = require('node:path');
const { performance } = require('node:perf_hooks');
const autocannon = require('autocannon');
const lib = require('./lib');
const {
  CALLERS,
  CONNECTIONS,
  MAX_REQUESTS,
  PINNING,
  PLAN,
  PROFILE_DIR,
  USER_INDEX,
  log,
  pin,
} = require('./plan');

const children = new Set();
const warned = new Set();

/**
 * Prints each warning an app process met while setting up (express-session's MemoryStore
 * warning under NODE_ENV=production) once per run, not once per process.
 */
function reportOnce(warnings = []) {
  for (const warning of warnings) {
    if (warned.has(warning)) continue;
    warned.add(warning);
    process.stderr.write(`${warning}\n`);
  }
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
        reportOnce(message.warnings);
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
  if (login.status !== 302) {
    throw new Error(`${base}/login answered ${login.status}: ${login.body.slice(0, 300)}`);
  }
  const callback = await lib.opLogin(login.location, stack.op.users[USER_INDEX], opAgent);
  const done = await lib.fetchOnce(onApp(base, callback), { jar });
  if (done.status !== 302) {
    throw new Error(`callback answered ${done.status}: ${done.body.slice(0, 300)}`);
  }
  return jar;
}

/**
 * One timed login (ms): the login round trip at `base`, then the page behind requireAuth
 * (`/__bench/login-data`) with the new session.
 */
async function timedLogin(base, stack, opAgent) {
  const start = performance.now();
  const jar = await logIn(base, stack, opAgent);
  const page = await lib.fetchOnce(`${base}/__bench/login-data`, {
    jar,
    accept: 'application/json',
  });
  if (page.status !== 200) throw new Error(`the page behind requireAuth answered ${page.status}`);
  return performance.now() - start;
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

function stopChildren() {
  for (const child of children) child.kill('SIGKILL');
}
process.once('exit', stopChildren);

module.exports = { commandsPerSecond, expectStatus, logIn, rounds, startServer, timedLogin };
