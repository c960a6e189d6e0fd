/**
 * A login whose back-channel records could not be written (the store failed for them at the
 * callback) is recorded by its next request, against the local OP and oxd: a back-channel
 * logout from the OP then ends it.
 */
import session from 'express-session';
import request from 'supertest';
import { OpCookieJar } from '../../src/testing/op-login';
import { loginsIn, startBackchannelApp, type BackchannelApp } from '../helpers/backchannel-fixture';
import { useLocalStack } from '../helpers/local-stack';
import { HTML, logIn } from '../helpers/stack-fixture';

const stack = useLocalStack();
const apps: BackchannelApp[] = [];

afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
});

const RECORD_PREFIX = 'express-oxd:backchannel:';

/** A MemoryStore that refuses writes of back-channel records while `failing` is set. */
class RecordFailingStore extends session.MemoryStore {
  failing = false;
  refusedWrites = 0;

  override set(sid: string, data: session.SessionData, callback?: (err?: unknown) => void) {
    if (this.failing && sid.startsWith(RECORD_PREFIX)) {
      this.refusedWrites += 1;
      const err = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), {
        code: 'ECONNREFUSED',
      });
      return callback?.(err);
    }
    return super.set(sid, data, callback);
  }
}

test('records the store could not take at login are written by the next request; the OP logout then ends the login', async () => {
  const store = new RecordFailingStore();
  const app = await startBackchannelApp(stack, { store });
  apps.push(app);
  const jar = new OpCookieJar();
  const browser = request.agent(app.server);

  store.failing = true;
  try {
    expect((await logIn(browser, stack, '/login', jar)).status).toBe(302);
  } finally {
    store.failing = false;
  }
  // The login stands without its records.
  expect(store.refusedWrites).toBeGreaterThan(0);
  expect(await loginsIn(store)).toHaveLength(1);

  // The store works again: the next request of the login records it.
  expect((await browser.get('/').set('Accept', HTML)).text).toMatch(/logged in/);

  const token = await app.signOutAtOp(jar);
  const delivered = await app.deliver(token);
  expect(delivered.status).toBe(200);
  expect(await loginsIn(store)).toEqual([]);
  expect((await browser.get('/').set('Accept', HTML)).text).toBe('home');
  expect(app.logger.lines).toEqual([]);
});
