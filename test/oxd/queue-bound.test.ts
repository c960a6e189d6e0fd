/**
 * The socket transport's queue is bounded by time, not by a small count: at the default
 * settings a burst of 2,000 simultaneous commands on one client all succeed against the
 * local oxd, while a stalled oxd fails every waiting command at its own deadline with
 * `OXD_RESPONSE_TIMEOUT` (never `OXD_BUSY`).
 */
import { performance } from 'node:perf_hooks';
import { createOxdClient } from '../../src';
import { ERROR_CODES, OxdError } from '../../src/errors';
import type { OxdClient } from '../../src/oxd/client';
import { startScriptedOxdServer } from '../fixtures/scripted-oxd-server';
import { dedicatedStack } from '../helpers/local-stack';

const BURST = 2000;
const CLIENT = {
  authorizationRedirectUri: 'https://rp.example.test/callback',
  scope: ['openid', 'profile'],
};

const clients: OxdClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
});

test(`at the default settings, ${BURST} simultaneous commands on one client all succeed`, async () => {
  const stack = await dedicatedStack();
  // Only the address is set: pool size, queue bound and timeouts are the defaults.
  const client = createOxdClient(
    {
      oxd: { host: stack.oxd.host, port: stack.oxd.port },
      client: { ...CLIENT, opHost: stack.op.issuer },
    },
    { writeBack: false },
  );
  clients.push(client);
  await client.register();
  const outcomes = await Promise.allSettled(
    Array.from({ length: BURST }, () => client.getAuthorizationUrl({})),
  );
  const failures = outcomes.flatMap((outcome) =>
    outcome.status === 'rejected' ? [(outcome.reason as OxdError).code] : [],
  );
  expect(failures).toEqual([]);
  for (const outcome of outcomes) {
    expect(outcome.status === 'fulfilled' && outcome.value.authorization_url).toMatch(
      /^https:\/\//,
    );
  }
});

test('a stalled oxd fails each waiting command at its deadline with OXD_RESPONSE_TIMEOUT, not OXD_BUSY', async () => {
  const stalled = await startScriptedOxdServer({ otherwise: [] }); // reads, never answers
  try {
    const timeoutMs = 1500;
    const client = createOxdClient(
      {
        oxd: {
          host: stalled.host,
          port: stalled.port,
          oxdId: 'site-1',
          responseTimeoutMs: timeoutMs,
        },
        client: CLIENT,
      },
      { writeBack: false },
    );
    clients.push(client);
    const failures = await Promise.all(
      Array.from({ length: BURST }, async () => {
        const askedAt = performance.now();
        const error = await client.getAuthorizationUrl({}).then(
          () => undefined,
          (reason: unknown) => reason,
        );
        return { error: error as OxdError, after: performance.now() - askedAt };
      }),
    );
    expect(new Set(failures.map(({ error }) => error.code))).toEqual(
      new Set([ERROR_CODES.RESPONSE_TIMEOUT]),
    );
    expect(failures.every(({ error }) => error.status === 504)).toBe(true);
    // None was refused early: each one waited out its own deadline.
    expect(Math.min(...failures.map(({ after }) => after))).toBeGreaterThanOrEqual(timeoutMs - 1);
  } finally {
    await stalled.close();
  }
});
