/**
 * What a login leaves in the session store: one copy of each thing (claims once; ID-token
 * claims, `sid` and `iss` read from the stored id_token), within a size budget, with the
 * same values on `req.oxd` as before. Sessions stored in the earlier shape keep working.
 */
import request from 'supertest';
import session from 'express-session';
import { oxdAuth, type OxdAuthHandler } from '../../src';
import {
  keepClaimsAcrossTokens,
  loginClaims,
  loginIssuer,
  loginRawClaims,
  loginSid,
  storedLogin,
} from '../../src/session';
import { useLocalStack } from '../helpers/local-stack';
import { buildApp, FRAMEWORKS } from '../fixtures/apps';
import {
  clientFor,
  configFor,
  HTML,
  logIn,
  TRANSPORTS,
  type TransportName,
} from '../helpers/stack-fixture';

/** `sub` of the local OP's first user (jane). */
const USER_SUB = '248289761001';
/** The size budget of one login's stored session (express-session's JSON, cookie included). */
const MAX_SESSION_BYTES = 1300;

const stack = useLocalStack();
const handlers: OxdAuthHandler[] = [];

afterAll(async () => {
  await Promise.all(handlers.map((handler) => handler.client.close()));
});

/** The one session a MemoryStore holds, as the JSON string it stores. */
function storedJson(store: session.MemoryStore): string {
  const all = (store as unknown as { sessions: Record<string, string> }).sessions;
  const values = Object.values(all);
  expect(values).toHaveLength(1);
  return values[0] as string;
}

function decodePayload(jwt: string): Record<string, unknown> {
  const part = jwt.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}

function loggedInApp(transport: TransportName, framework: (typeof FRAMEWORKS)[number]) {
  const { client } = clientFor(stack, transport);
  const handler = oxdAuth({ config: configFor(stack, transport), client });
  handlers.push(handler);
  const store = new session.MemoryStore();
  return { agent: request.agent(buildApp(framework, handler, { store })), store };
}

describe.each(TRANSPORTS)('over %s', (transport) => {
  test('one login stores each thing once, within the size budget', async () => {
    const { agent, store } = loggedInApp(transport, 'express5');
    expect((await logIn(agent, stack)).status).toBe(302);
    const json = storedJson(store);
    expect(Buffer.byteLength(json)).toBeLessThanOrEqual(MAX_SESSION_BYTES);
    const stored = JSON.parse(json) as { oxd: Record<string, unknown> };
    // The local OP puts the user's claims in the ID token: the token is their only copy.
    expect(Object.keys(stored.oxd)).toEqual(['tokens', 'startedAt']);
    const tokens = stored.oxd.tokens as Record<string, unknown>;
    expect(typeof tokens.id_token).toBe('string');
    expect(typeof tokens.refresh_token).toBe('string');

    // What the application reads is unchanged: claims, ID-token claims (sid and iss too).
    const profile = await agent.get('/profile').set('Accept', HTML);
    expect(profile.status).toBe(200);
    expect(profile.body.user).toMatchObject({ sub: USER_SUB, email: 'jane.doe@example.com' });
    const payload = decodePayload(tokens.id_token as string);
    expect(profile.body.idTokenClaims).toMatchObject({
      iss: stack.op.issuer,
      sub: USER_SUB,
      nonce: payload.nonce,
    });
    expect(profile.body.idTokenClaims.sid).toBe(payload.sid);
    expect(profile.body.idTokenClaims.exp).toBe(payload.exp);
  });
});

describe.each(FRAMEWORKS)('%s', (framework) => {
  test('a session stored in the earlier shape (claims kept three times) still reads', async () => {
    const { agent, store } = loggedInApp('socket', framework);
    await logIn(agent, stack);
    // Rewrite the stored login the way earlier versions kept it.
    const sessions = (store as unknown as { sessions: Record<string, string> }).sessions;
    const [id] = Object.keys(sessions);
    const stored = JSON.parse(sessions[id as string] as string);
    const tokens = stored.oxd.tokens;
    const payload = decodePayload(tokens.id_token);
    stored.oxd = {
      tokens: { ...tokens, id_token: undefined },
      claims: { sub: USER_SUB, name: 'Old Shape' },
      rawClaims: { sub: [USER_SUB], name: ['Old Shape'] },
      idTokenClaims: { iss: payload.iss, sub: USER_SUB, sid: 'old-sid' },
      sid: 'old-sid',
      iss: payload.iss,
    };
    sessions[id as string] = JSON.stringify(stored);

    const profile = await agent.get('/profile').set('Accept', HTML);
    expect(profile.status).toBe(200);
    expect(profile.body.user).toEqual({ sub: USER_SUB, name: 'Old Shape' });
    expect(profile.body.idTokenClaims).toEqual({ iss: payload.iss, sub: USER_SUB, sid: 'old-sid' });
    expect((await agent.get('/api/me').set('Accept', 'application/json')).body).toEqual({
      sub: USER_SUB,
    });
  });
});

describe('what is stored when the ID token is not the only copy', () => {
  const jwt = (payload: Record<string, unknown>): string =>
    `e30.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.sig`;
  const idToken = jwt({ iss: 'https://op', aud: 'c', sub: 'u1', name: 'Jane', sid: 's1' });

  test('claims the ID token lacks are stored, normalised, once', () => {
    const stored = storedLogin(
      { access_token: 'at', id_token: idToken },
      { sub: ['u1'], name: ['Jane'], email_verified: ['true'] },
      true,
    );
    expect(stored).toEqual({
      tokens: { access_token: 'at', id_token: idToken },
      claims: { sub: 'u1', name: 'Jane', email_verified: true },
    });
    expect(loginRawClaims(stored, true)).toEqual({
      sub: ['u1'],
      name: ['Jane'],
      email_verified: ['true'],
    });
    expect(loginSid(stored)).toBe('s1');
    expect(loginIssuer(stored)).toBe('https://op');
  });

  test('an answer normalisation cannot rebuild is stored as oxd sent it', () => {
    const raw = { sub: 'u1', groups: ['admins'], nickname: null };
    const stored = storedLogin({ access_token: 'at', id_token: idToken }, raw, false);
    expect(stored).toEqual({ tokens: { access_token: 'at', id_token: idToken }, rawClaims: raw });
    expect(loginClaims(stored)).toEqual({ sub: 'u1', groups: 'admins' });
    expect(loginRawClaims(stored, false)).toBe(raw);
  });

  test('claims read from the ID token survive a refresh that brings another ID token', () => {
    const stored = storedLogin(
      { access_token: 'at', id_token: idToken },
      { sub: 'u1', name: 'Jane' },
      false,
    );
    expect(stored).toEqual({ tokens: { access_token: 'at', id_token: idToken } });
    const next = { access_token: 'at2', id_token: jwt({ iss: 'https://op', sub: 'u1' }) };
    keepClaimsAcrossTokens(stored, next);
    stored.tokens = next;
    expect(loginClaims(stored)).toEqual({ sub: 'u1', name: 'Jane' });
  });
});
