/**
 * Traces and metrics of back-channel logout: the route answers the OP itself (200, 400 for a
 * token it refuses, 503 while the store fails), and each answer is counted as what it was.
 */
import session from 'express-session';
import request from 'supertest';
import { OpCookieJar } from '../../src/testing/op-login';
import { ensureBuilt } from '../helpers/build';
import { startBackchannelApp, type BackchannelApp } from '../helpers/backchannel-fixture';
import { dedicatedStack } from '../helpers/local-stack';
import { HTML, logIn, type LocalStack } from '../helpers/stack-fixture';
import { countOf, installTelemetry, type TestTelemetry } from '../helpers/telemetry';

const ERROR = 2; // SpanStatusCode.ERROR

let stack: LocalStack;
let telemetry: TestTelemetry;
let app: BackchannelApp;
const store = new (class extends session.MemoryStore {
  /** While true, ending a session fails (the store went away mid-way). */
  failing = false;

  override destroy(sid: string, callback?: (err?: unknown) => void) {
    if (this.failing) return callback?.(new Error('store connection lost'));
    return super.destroy(sid, callback);
  }
})();

beforeAll(async () => {
  await ensureBuilt();
  stack = await dedicatedStack();
  telemetry = installTelemetry();
  app = await startBackchannelApp(stack, { store });
}, 240_000);

afterAll(async () => {
  await app?.close();
  await telemetry?.shutdown();
});

async function backchannelCount(outcome: string, errorType?: string): Promise<number> {
  return countOf(await telemetry.points('express_oxd.logouts'), {
    'express_oxd.operation': 'backchannel_logout',
    'express_oxd.outcome': outcome,
    ...(errorType ? { 'error.type': errorType } : {}),
  });
}

/** The outcome attribute and status of the one back-channel span since the last reset. */
function lastSpan() {
  const spans = telemetry.spans().filter((span) => span.name === 'express-oxd backchannel_logout');
  expect(spans).toHaveLength(1);
  telemetry.reset();
  return { outcome: spans[0]?.attributes['express_oxd.outcome'], status: spans[0]?.status.code };
}

test('ended logins, refused tokens and store failures are counted apart', async () => {
  const agent = request.agent(app.server);
  const jar = new OpCookieJar();
  expect((await logIn(agent, stack, '/login', jar)).status).toBe(302);
  const token = await app.signOutAtOp(jar);
  telemetry.reset();

  // A token that is not a JWT: refused with 400, not a success.
  expect((await app.deliver('not-a-token')).status).toBe(400);
  expect(lastSpan()).toEqual({ outcome: 'refused', status: 0 });
  expect(await backchannelCount('refused')).toBe(1);
  expect(await backchannelCount('success')).toBe(0);

  // The store fails while the login is being ended: 503, a failure with its code.
  store.failing = true;
  const failed = await app.deliver(token);
  store.failing = false;
  expect(failed.status).toBe(503);
  expect(lastSpan()).toEqual({ outcome: 'failure', status: ERROR });
  expect(await backchannelCount('failure', 'OXD_SESSION_STORE_UNAVAILABLE')).toBe(1);

  // The OP's retry ends the login: a success.
  expect((await app.deliver(token)).status).toBe(200);
  expect(lastSpan()).toEqual({ outcome: 'success', status: 0 });
  expect(await backchannelCount('success')).toBe(1);
  expect((await agent.get('/').set('Accept', HTML)).text).toBe('home');

  // The same token once more: a replay, refused.
  expect((await app.deliver(token)).status).toBe(400);
  expect(lastSpan()).toEqual({ outcome: 'refused', status: 0 });
  expect(await backchannelCount('refused')).toBe(2);
});
