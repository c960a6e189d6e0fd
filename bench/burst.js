'use strict';
/**
 * A burst of simultaneous logins at one app: every login (login route, the OP's form, the
 * callback, a page behind requireAuth) starts at once, as at a site's launch. The app runs at
 * the default settings (the oxd socket transport's pool_size and queue as shipped) unless the
 * setup names a pool size; one login before the burst registers the site, as on a running site.
 */
const { performance } = require('node:perf_hooks');
const lib = require('./lib');
const { startServer, timedLogin } = require('./measure');

/** Why one login of the burst failed, short enough to count alike failures together. */
function reason(err) {
  const message = String(err?.message ?? err);
  const status = /answered (\d{3})/.exec(message);
  const code = /"code":"([A-Z_]+)"|\b(OXD_[A-Z_]+)\b/.exec(message);
  if (status) return `HTTP ${status[1]}${code ? ` ${code[1] ?? code[2]}` : ''}`;
  return err?.code ?? message.slice(0, 80);
}

/**
 * `count` simultaneous logins at a fresh app (`poolSize` undefined: the default). Returns the
 * count, the successes, the failures by reason, p50 and p99 of the successful logins (ms,
 * from the burst's start) and the burst's wall time.
 */
async function loginBurst(stack, opAgent, count, poolSize) {
  const server = await startServer({
    kind: 'oxd',
    op: stack.op,
    oxd: stack.oxd,
    store: 'memory',
    ...(poolSize === undefined ? {} : { poolSize }),
  });
  try {
    await timedLogin(server.base, stack, opAgent); // registers the site
    const start = performance.now();
    const outcomes = await Promise.allSettled(
      Array.from({ length: count }, () => timedLogin(server.base, stack, opAgent)),
    );
    const wall = performance.now() - start;
    const times = outcomes.filter((o) => o.status === 'fulfilled').map((o) => o.value);
    const failures = {};
    for (const outcome of outcomes) {
      if (outcome.status === 'fulfilled') continue;
      const why = reason(outcome.reason);
      failures[why] = (failures[why] ?? 0) + 1;
    }
    return {
      count,
      poolSize,
      ok: times.length,
      failures,
      p50: lib.quantile(times, 0.5),
      p99: lib.quantile(times, 0.99),
      max: times.length ? Math.max(...times) : NaN,
      wall,
    };
  } finally {
    await server.stop();
  }
}

/**
 * The burst at the default settings, then the same burst with a larger pool to compare; first
 * a smaller burst, not counted, so that the OP and oxd are as warm for the first as for the
 * second.
 */
async function loginBursts(stack, opAgent, count) {
  await loginBurst(stack, opAgent, Math.min(count, 50));
  const defaults = await loginBurst(stack, opAgent, count);
  const pool16 = await loginBurst(stack, opAgent, count, 16);
  return [defaults, pool16];
}

module.exports = { loginBursts };
