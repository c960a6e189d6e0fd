'use strict';
/**
 * What a bench run measures and how: the plan (full or smoke), the load settings, where the
 * results go, and the CPU pinning of the measured rounds. Read from the environment and the
 * command line once (see bench/run.js for the variables and flags).
 */
const { spawnSync } = require('node:child_process');
const { cpus } = require('node:os');
const { join } = require('node:path');

const SMOKE = process.env.BENCH_SMOKE === '1';
/** `--write`: write RESULTS.md and results.svg (into BENCH_OUT, default bench/). */
const WRITE = process.argv.slice(2).includes('--write');
const OUT = process.env.BENCH_OUT || __dirname;
const RESULT_FILES = { markdown: join(OUT, 'RESULTS.md'), svg: join(OUT, 'results.svg') };
const PROFILE_DIR = process.env.BENCH_CPU_PROF;
const PLAN = SMOKE
  ? {
      rounds: 1,
      seconds: 0.25,
      warmup: 0.1,
      logins: 2,
      burst: Number(process.env.BENCH_BURST) || 5,
      sessions: [1000],
      clientSeconds: 0.2,
    }
  : {
      rounds: Number(process.env.BENCH_ROUNDS) || 15,
      seconds: 1,
      warmup: 2,
      logins: 30,
      burst: Number(process.env.BENCH_BURST) || 200,
      sessions: [1000, 100000],
      clientSeconds: 2,
    };
const CONNECTIONS = 10;
const CALLERS = 64;
/** Hard bounds per autocannon run, whatever the duration: requests and seconds. */
const MAX_REQUESTS = 2_000_000;
const USER_INDEX = 0;

/**
 * Processes serving the protected-route apps. Two processes running the same app differ by
 * a few per cent in throughput for as long as they live (sometimes by far more), so every
 * process serves all four apps, on ports of their own, and the rounds take turns over the
 * processes: whatever luck a process has, its apps share it.
 */
const INSTANCES = SMOKE ? 1 : 3;

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

module.exports = {
  CALLERS,
  CONNECTIONS,
  INSTANCES,
  MAX_REQUESTS,
  OUT,
  PINNING,
  PLAN,
  PROFILE_DIR,
  RESULT_FILES,
  SMOKE,
  USER_INDEX,
  WRITE,
  log,
  pin,
};
