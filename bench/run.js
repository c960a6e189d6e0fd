'use strict';
/**
 * `npm run bench`: express-oxd against bare express-session and express-openid-connect on
 * the local stack (local OP + local oxd server), plus the oxd client's transport modes,
 * the login round trip, the stored session's size and the cost of many sessions.
 *
 * Each HTTP scenario runs in its own process; autocannon loads one at a time, scenarios
 * interleaved round by round (the order rotates), after a warm-up; figures are medians of
 * the rounds. Prints the tables; with `--write` (`npm run bench -- --write`) also writes
 * bench/RESULTS.md and bench/results.svg (or into BENCH_OUT).
 *
 *   --write              write RESULTS.md and results.svg
 *   BENCH_SMOKE=1        one short round of everything (checks the bench works)
 *   BENCH_OUT=dir        where --write puts RESULTS.md and results.svg
 *   BENCH_CPU_PROF=dir   run the app processes with --cpu-prof into dir
 *   BENCH_ONLY=login     only the login round trips (for profiling them)
 *   BENCH_ONLY=http      only the protected-route scenarios (prints their ratios)
 *   BENCH_ONLY=burst     only the login bursts (prints their table and target)
 *   BENCH_BURST=n        simultaneous logins in a burst (default 200, in a smoke run 5)
 *   BENCH_ROUNDS=n       rounds per HTTP scenario (default 15)
 *   BENCH_NO_PIN=1       do not pin the app servers and the load generator to CPUs
 *
 * Parts: plan.js (settings, pinning), lib.js (HTTP client, local stack, OP login, statistics),
 * measure.js (app processes, rounds), scenarios.js, report.js (tables, targets, chart).
 */
const { mkdirSync, writeFileSync } = require('node:fs');
const { loadavg } = require('node:os');
const lib = require('./lib');
const { rounds, logIn, startServer } = require('./measure');
const { OUT, PLAN, RESULT_FILES, SMOKE, WRITE, log } = require('./plan');
const { loginBursts } = require('./burst');
const { buildReport, burstSection, burstTarget, table } = require('./report');
const {
  clientModes,
  loginRoundTrips,
  protectedRouteScenarios,
  sessionScale,
} = require('./scenarios');

/**
 * The login round trips at an app with timing on (started here and added to `servers`),
 * after one untimed login (warm-up).
 */
async function timedLoginRoundTrips(stack, opAgent, servers) {
  const timed = await startServer({
    kind: 'oxd',
    op: stack.op,
    oxd: stack.oxd,
    store: 'memory',
    timing: true,
  });
  servers.push(timed);
  await logIn(timed.base, stack, opAgent);
  return loginRoundTrips(stack, opAgent, timed);
}

async function main() {
  const started = new Date();
  const load0 = loadavg()[0];
  log(`${SMOKE ? 'smoke run' : 'full run'}; starting the local stack`);
  const stack = await lib.startStack();
  const opAgent = lib.opAgentFor(stack.op);
  const servers = [];
  try {
    if (process.env.BENCH_ONLY === 'burst') {
      log(`login bursts of ${PLAN.burst}`);
      const bursts = await loginBursts(stack, opAgent, PLAN.burst);
      const [title, body] = burstSection(bursts);
      const target = table(['what', 'target', 'measured', ''], [burstTarget(bursts)]);
      process.stdout.write(`${title}\n${body}\n\n${target}\n`);
      return;
    }
    if (process.env.BENCH_ONLY === 'login') {
      const login = await timedLoginRoundTrips(stack, opAgent, servers);
      process.stdout.write(`${JSON.stringify(login)}\n`);
      return;
    }
    const eocClient = await lib.registerOpClient(stack.op, opAgent, 'https://app.example/callback');
    const { scenarios, footprint } = await protectedRouteScenarios(
      stack,
      opAgent,
      eocClient,
      servers,
    );

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
    const login = await timedLoginRoundTrips(stack, opAgent, servers);
    await Promise.all(servers.splice(0).map((server) => server.stop()));
    log(`login bursts of ${PLAN.burst}`);
    const bursts = await loginBursts(stack, opAgent, PLAN.burst);
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
      bursts,
      footprint,
      scale,
      client,
    });
    process.stdout.write(`${report.text}\n`);
    if (WRITE) {
      mkdirSync(OUT, { recursive: true });
      writeFileSync(RESULT_FILES.markdown, report.markdown);
      writeFileSync(RESULT_FILES.svg, report.svg);
      log(`wrote ${RESULT_FILES.markdown} and ${RESULT_FILES.svg}`);
    } else {
      log(
        `${RESULT_FILES.markdown} and ${RESULT_FILES.svg} left as they are (--write writes them)`,
      );
    }
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    await opAgent.close();
    await stack.close();
  }
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${err?.stack ?? err}\n`);
  process.exitCode = 1;
});
