/**
 * The records back-channel logout finds sessions by, against the local OP and oxd: they
 * follow the session id when another `oxdAuth()` instance's login regenerates the session;
 * concurrent logins of one user lose no entry; a user's many sessions all end (no cap);
 * a rolling session that outlives its cookie's `maxAge` still ends; and logging out of one
 * of two instances in a session (front- or back-channel) ends only that instance's login.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import express from 'express';
import session from 'express-session';
import request from 'supertest';
import { oxdAuth, oxdErrorHandler, requireAuth, type OxdAuthHandler } from '../../src';
import type { OxdIncomingMessage } from '../../src/session';
import { OpCookieJar, resumeOpSession } from '../../src/testing/op-login';
import { loginsIn, useBackchannelApps, type BackchannelApp } from '../helpers/backchannel-fixture';
import { APP_ORIGIN, appPath, configFor, HTML, logIn } from '../helpers/stack-fixture';

const { stack, start: startApp } = useBackchannelApps();
const handlers: OxdAuthHandler[] = [];

afterAll(async () => {
  await Promise.all(handlers.map((handler) => handler.client.close()));
});

const DELIVERY_TIMEOUT = { timeout: 20_000 };

/** express-session on `store`, with `extra` options (a rolling cookie, say). */
function sessionOn(store: session.Store, extra: Partial<session.SessionOptions> = {}) {
  return session({
    secret: 'test secret, not used anywhere else',
    resave: false,
    saveUninitialized: false,
    store,
    ...extra,
  });
}

/** A MemoryStore whose calls answer after `latencyMs`, as a networked store does. */
class SlowStore extends session.MemoryStore {
  constructor(private readonly latencyMs: number) {
    super();
  }

  #later(run: () => void): void {
    setTimeout(run, this.latencyMs);
  }

  override get(sid: string, callback: (err: unknown, data?: session.SessionData | null) => void) {
    this.#later(() => super.get(sid, callback));
  }

  override set(sid: string, data: session.SessionData, callback?: (err?: unknown) => void) {
    this.#later(() => super.set(sid, data, callback));
  }

  override destroy(sid: string, callback?: (err?: unknown) => void) {
    this.#later(() => super.destroy(sid, callback));
  }
}

/** A shared lock in memory, as `redisRefreshLock()` gives across instances; counts takes. */
class MemoryLock {
  readonly held = new Map<string, string>();
  taken: string[] = [];

  async acquire(key: string): Promise<string | undefined> {
    if (this.held.has(key)) return undefined;
    const owner = `${this.taken.length}`;
    this.held.set(key, owner);
    this.taken.push(key);
    return owner;
  }

  async release(key: string, owner: string): Promise<void> {
    if (this.held.get(key) === owner) this.held.delete(key);
  }
}

test('12 concurrent logins of one user: a sub-only logout ends all 12', async () => {
  const store = new SlowStore(5);
  const lock = new MemoryLock();
  const app = await startApp({ store, subOnly: true, options: { refreshLock: lock } });
  const jars = Array.from({ length: 12 }, () => new OpCookieJar());
  const agents = jars.map(() => request.agent(app.server));
  const done = await Promise.all(agents.map((agent, i) => logIn(agent, stack, '/login', jars[i])));
  expect(done.map((reply) => reply.status)).toEqual(Array(12).fill(302));
  expect(await loginsIn(store)).toHaveLength(12);
  const token = await app.signOutAtOp(jars[0] as OpCookieJar);
  expect(
    JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()),
  ).not.toHaveProperty('sid');
  expect((await app.deliver(token, DELIVERY_TIMEOUT)).status).toBe(200);
  expect(await loginsIn(store)).toHaveLength(0);
  // Each record change held the application's shared lock, and let go of it.
  expect(lock.taken.filter((key) => key.startsWith('backchannel-record:')).length).toBeGreaterThan(
    12,
  );
  // The token's jti stays taken in the lock until it may be forgotten (it is never used twice).
  expect([...lock.held.keys()].filter((key) => key.startsWith('backchannel-record:'))).toEqual([]);
  expect(lock.held.size).toBe(1);
}, 120_000);

test('22 logins of one user: a sub-only logout ends all 22 (no cap on sessions per user)', async () => {
  const store = new session.MemoryStore();
  const app = await startApp({ store, subOnly: true });
  const jars: OpCookieJar[] = [];
  for (let i = 0; i < 22; i += 1) {
    const jar = new OpCookieJar();
    jars.push(jar);
    expect((await logIn(request.agent(app.server), stack, '/login', jar)).status).toBe(302);
  }
  expect(await loginsIn(store)).toHaveLength(22);
  expect(
    (await app.deliver(await app.signOutAtOp(jars[0] as OpCookieJar), DELIVERY_TIMEOUT)).status,
  ).toBe(200);
  expect(await loginsIn(store)).toHaveLength(0);
}, 120_000);

/** Everything `store` holds, by key. */
function allOf(store: session.MemoryStore): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) =>
    store.all((err, all) => (err ? reject(err) : resolve(all ?? {}))),
  );
}

/** Every id the back-channel records of `store` name. */
function recordedIds(store: session.MemoryStore): Promise<string[]> {
  return new Promise((resolve, reject) =>
    store.all((err, all) =>
      err
        ? reject(err)
        : resolve(
            Object.values(all ?? {}).flatMap(
              (data) => (data as { oxdSessionIds?: string[] }).oxdSessionIds ?? [],
            ),
          ),
    ),
  );
}

/** When each back-channel record of `store` expires, in milliseconds since the epoch. */
function recordExpiries(store: session.MemoryStore): Promise<number[]> {
  return new Promise((resolve, reject) =>
    store.all((err, all) =>
      err
        ? reject(err)
        : resolve(
            Object.values(all ?? {})
              .filter((data) => 'oxdSessionIds' in (data as object))
              .map((data) => Date.parse(String(data.cookie.expires))),
          ),
    ),
  );
}

test('a rolling session older than its maxAge still ends; its id leaves every record', async () => {
  const store = new session.MemoryStore();
  const app = await startApp({
    store,
    options: { absoluteDuration: 3600 },
    app: (auth) => {
      const site = express();
      site.use(sessionOn(store, { rolling: true, cookie: { maxAge: 1500 } }));
      site.use(auth);
      site.get('/', (req, res) => {
        res.send(
          (req as unknown as OxdIncomingMessage).oxd?.isAuthenticated() ? 'logged in' : 'home',
        );
      });
      return site;
    },
  });
  const agent = request.agent(app.server);
  const jar = new OpCookieJar();
  expect((await logIn(agent, stack, '/login', jar)).status).toBe(302);
  const [login] = await loginsIn(store);
  // The records live as long as the login can (absoluteDuration: one hour here), no longer.
  const expiries = await recordExpiries(store);
  expect(expiries).toHaveLength(2);
  for (const expires of expiries) {
    expect(expires).toBeGreaterThan(Date.now() + 3500_000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 3600_000);
  }
  // The user stays active for twice the cookie's maxAge: the session rolls on.
  for (let i = 0; i < 6; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await agent.get('/').set('Accept', HTML)).text).toBe('logged in');
  }
  expect((await app.deliver(await app.signOutAtOp(jar), DELIVERY_TIMEOUT)).status).toBe(200);
  expect((await agent.get('/').set('Accept', HTML)).text).toBe('home');
  expect(await recordedIds(store)).not.toContain(login?.id);
}, 60_000);

describe('two oxdAuth() instances in one session', () => {
  function whoAmI(req: IncomingMessage, res: ServerResponse): void {
    const oxd = (req as OxdIncomingMessage).oxd;
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ sub: oxd?.user?.sub, sid: oxd?.idTokenClaims?.sid }));
  }

  /** The site (with back-channel logout) and an admin area, another oxd site, at /admin. */
  /** `beforeAdmin`: runs on the store between the site's login and the admin login. */
  async function twoInstances(beforeAdmin?: (store: session.MemoryStore) => Promise<void>) {
    const base = configFor(stack, 'https4');
    const admin = oxdAuth({
      config: {
        oxd: base.oxd,
        client: {
          ...base.client,
          authorizationRedirectUri: `${APP_ORIGIN}/admin/callback`,
          postLogoutRedirectUri: `${APP_ORIGIN}/admin/logged-out`,
          clientFrontchannelLogoutUris: [`${APP_ORIGIN}/admin/frontchannel-logout`],
        },
      },
      sessionKey: 'oxdAdmin',
      routes: { backchannelLogout: '/backchannel-logout' },
    });
    handlers.push(admin);
    const store = new session.MemoryStore();
    const guard = requireAuth({ redirect: false });
    const app = await startApp({
      store,
      app: (site) => {
        const adminApp = express();
        adminApp.use(admin);
        adminApp.get('/me', guard, whoAmI);
        const root = express();
        root.use(sessionOn(store));
        root.use('/admin', adminApp);
        root.use(site);
        root.get('/me', guard, whoAmI);
        root.use(oxdErrorHandler());
        return root;
      },
    });
    const agent = request.agent(app.server);
    const jar = new OpCookieJar();
    expect((await logIn(agent, stack, '/login', jar)).status).toBe(302);
    await beforeAdmin?.(store);
    // The admin login (same browser, same OP session) regenerates the session and carries
    // the site's login over.
    const start = await agent.get('/admin/login').set('Accept', HTML);
    const back = await resumeOpSession(start.headers.location as string, stack.op.ca, jar);
    expect((await agent.get(appPath(back)).set('Accept', HTML)).status).toBe(302);
    const me = (path: string) => agent.get(path).set('Accept', 'application/json');
    expect((await me('/me')).status).toBe(200);
    expect((await me('/admin/me')).status).toBe(200);
    return { app, agent, jar, me };
  }

  test('back-channel: the site login ends after the session id changed; the admin login stays', async () => {
    const { app, jar, me } = await twoInstances();
    expect((await app.deliver(await app.signOutAtOp(jar), DELIVERY_TIMEOUT)).status).toBe(200);
    expect((await me('/me')).status).toBe(401);
    expect((await me('/admin/me')).status).toBe(200);
  });

  test("back-channel: the site login's records lost from the store are written anew at its next request", async () => {
    const { app, jar, me } = await twoInstances(async (store) => {
      const keys = Object.keys(await allOf(store)).filter((key) =>
        key.startsWith('express-oxd:backchannel:'),
      );
      expect(keys).toHaveLength(2);
      await Promise.all(
        keys.map((key) => new Promise<void>((resolve) => store.destroy(key, () => resolve()))),
      );
    });
    expect((await me('/me')).status).toBe(200);
    expect((await app.deliver(await app.signOutAtOp(jar), DELIVERY_TIMEOUT)).status).toBe(200);
    expect((await me('/me')).status).toBe(401);
    expect((await me('/admin/me')).status).toBe(200);
  });

  test('front-channel: only the login whose iss and sid match ends', async () => {
    const { agent, me } = await twoInstances();
    const sid = (await me('/me')).body.sid as string;
    const query = new URLSearchParams({ iss: stack.op.issuer, sid });
    const front = await agent.get(`/frontchannel-logout?${query}`);
    expect(front.status).toBe(200);
    expect((await me('/me')).status).toBe(401);
    expect((await me('/admin/me')).status).toBe(200);
    // The admin instance's own front-channel request (the OP gives each client its own sid)
    // ends the admin login, now the last one.
    const adminSid = (await me('/admin/me')).body.sid as string;
    expect(adminSid).not.toBe(sid);
    await agent.get(
      `/admin/frontchannel-logout?${new URLSearchParams({ iss: stack.op.issuer, sid: adminSid })}`,
    );
    expect((await me('/admin/me')).status).toBe(401);
  });
});

describe('the application regenerates the session and copies the login into it', () => {
  /** Counts the store writes of back-channel records and of sessions. */
  class CountingStore extends session.MemoryStore {
    recordWrites = 0;
    sessionWrites = 0;

    override set(sid: string, data: session.SessionData, callback?: (err?: unknown) => void) {
      if (sid.startsWith('express-oxd:backchannel:')) this.recordWrites += 1;
      else this.sessionWrites += 1;
      super.set(sid, data, callback);
    }
  }

  /** `/copy` regenerates the session (as after a privilege change) and copies the login. */
  async function copyingApp(subOnly = false) {
    const store = new CountingStore();
    const app = await startApp({
      store,
      subOnly,
      app: (auth) => {
        const site = express();
        site.use(sessionOn(store));
        site.use(auth);
        site.get('/copy', (req, res, next) => {
          const login = req.session.oxd;
          req.session.regenerate((err) => {
            if (err) return next(err);
            req.session.oxd = login;
            res.send(req.sessionID);
          });
        });
        site.get('/me', requireAuth({ redirect: false }), (req, res) => {
          res.json({ sub: (req as unknown as OxdIncomingMessage).oxd?.user?.sub });
        });
        site.use(oxdErrorHandler());
        return site;
      },
    });
    return { app, store };
  }

  async function loggedIn(app: BackchannelApp) {
    const agent = request.agent(app.server);
    const jar = new OpCookieJar();
    expect((await logIn(agent, stack, '/login', jar)).status).toBe(302);
    const me = () => agent.get('/me').set('Accept', 'application/json');
    expect((await me()).status).toBe(200);
    return { agent, jar, me, copy: async () => (await agent.get('/copy')).text };
  }

  test('the next request moves the records to the new id; a back-channel logout then ends the login', async () => {
    const { app, store } = await copyingApp();
    const { jar, me, copy } = await loggedIn(app);
    const [before] = await loginsIn(store);
    const newId = await copy();
    expect(newId).not.toBe(before?.id);
    expect((await me()).status).toBe(200);
    const ids = await recordedIds(store);
    expect(ids).toContain(newId);
    expect(ids).not.toContain(before?.id);
    expect((await app.deliver(await app.signOutAtOp(jar), DELIVERY_TIMEOUT)).status).toBe(200);
    expect((await me()).status).toBe(401);
    expect(await loginsIn(store)).toEqual([]);
  });

  test('a logout that comes while the records still name the old session ends the copied login', async () => {
    const { app, store } = await copyingApp();
    const { jar, me, copy } = await loggedIn(app);
    const newId = await copy();
    // No request of the new session yet: the records name the old one only.
    expect(await recordedIds(store)).not.toContain(newId);
    expect((await app.deliver(await app.signOutAtOp(jar), DELIVERY_TIMEOUT)).status).toBe(200);
    expect((await me()).status).toBe(401);
    expect(await loginsIn(store)).toEqual([]);
    expect(await recordedIds(store)).not.toContain(newId);
  });

  test('a sub-only logout ends the copied logins of before it, not a login that began after it', async () => {
    const { app, store } = await copyingApp(true);
    const first = await loggedIn(app);
    await first.copy();
    expect((await app.deliver(await app.signOutAtOp(first.jar), DELIVERY_TIMEOUT)).status).toBe(
      200,
    );
    expect((await first.me()).status).toBe(401);
    // The same user logs in again, and the application copies that login too.
    const second = await loggedIn(app);
    const secondId = await second.copy();
    expect((await second.me()).status).toBe(200);
    expect(await recordedIds(store)).toContain(secondId);
    expect((await app.deliver(await app.signOutAtOp(second.jar), DELIVERY_TIMEOUT)).status).toBe(
      200,
    );
    expect((await second.me()).status).toBe(401);
  });

  test('once moved, requests write nothing: no record, no session', async () => {
    const { app, store } = await copyingApp();
    const { me, copy } = await loggedIn(app);
    await copy();
    expect((await me()).status).toBe(200);
    const records = store.recordWrites;
    const sessions = store.sessionWrites;
    for (let i = 0; i < 5; i += 1) expect((await me()).status).toBe(200);
    expect(store.recordWrites).toBe(records);
    expect(store.sessionWrites).toBe(sessions);
  });
});
