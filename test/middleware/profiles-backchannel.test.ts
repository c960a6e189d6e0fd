/**
 * Back-channel logout on every oxd release line the local oxd reproduces, on each transport
 * it has. 4.x gives the OP's keys through `get_jwks`; 3.x has no such command (oxd 3.1.x
 * `CommandType` lists none: GluuFederation/oxd version_3.1.4
 * oxd-common/src/main/java/org/xdi/oxd/common/CommandType.java), so the middleware reads
 * them from the OP's discovery document itself, trusting `op_ca_file` for the local OP's
 * self-signed certificate. The user signs out at the OP, which POSTs its logout token to
 * the app over a real socket: that browser's session ends, another user's stays.
 */
import request from 'supertest';
import { oxdAuth, OxdConfigError } from '../../src';
import { ensureBuilt } from '../helpers/build';
import { dedicatedStack } from '../helpers/local-stack';
import { followOpLogout, OpCookieJar } from '../../src/testing/op-login';
import {
  endSessionEndpoint,
  loginsIn,
  startBackchannelApp,
  type BackchannelApp,
} from '../helpers/backchannel-fixture';
import {
  HTML,
  logIn,
  PROFILE_CASES,
  type LocalStack,
  type Profile,
} from '../helpers/stack-fixture';
import session from 'express-session';

const stacks = new Map<Profile, LocalStack>();

beforeAll(async () => {
  await ensureBuilt();
  for (const version of new Set(PROFILE_CASES.map(([version]) => version))) {
    stacks.set(version, await dedicatedStack({ oxdVersion: version }));
  }
}, 240_000);

afterAll(async () => {
  await Promise.all([...stacks.values()].map((stack) => stack.close()));
});

describe.each(PROFILE_CASES)('oxd %s over %s', (version, transport) => {
  let app: BackchannelApp;

  afterAll(async () => {
    await app?.close();
  });

  test('the OP ends the session of the user who signed out there', async () => {
    const stack = stacks.get(version) as LocalStack;
    app = await startBackchannelApp(stack, { transport });
    const store = app.store as session.MemoryStore;
    const leaving = request.agent(app.server);
    const staying = request.agent(app.server);
    const jar = new OpCookieJar();
    expect((await logIn(leaving, stack, '/login', jar)).status).toBe(302);
    expect((await logIn(staying, stack, '/login', new OpCookieJar())).status).toBe(302);
    expect(await loginsIn(store)).toHaveLength(2);

    await followOpLogout(await endSessionEndpoint(stack), stack.op.ca, jar);
    for (let i = 0; i < 100 && (await loginsIn(store)).length !== 1; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(await loginsIn(store)).toHaveLength(1);
    expect((await leaving.get('/').set('Accept', HTML)).text).toBe('home');
    expect((await staying.get('/').set('Accept', HTML)).text).toMatch(/logged in/);
  });
});

test('oxd 3.x without op_host or op_configuration_endpoint: refused at start-up', () => {
  const config = {
    oxd: { host: '127.0.0.1', port: 8099, serverVersion: 3 },
    client: { authorizationRedirectUri: 'https://app.example/callback' },
  };
  const start = () => oxdAuth({ config, routes: { backchannelLogout: '/backchannel-logout' } });
  expect(start).toThrow(OxdConfigError);
  expect(start).toThrow(/op_configuration_endpoint.*op_host/);
  try {
    start();
  } catch (err) {
    expect((err as OxdConfigError).key).toBe('client.op_configuration_endpoint');
  }
  // Without the route, or on 4.x (oxd knows its OP), the same settings start.
  expect(() => oxdAuth({ config })).not.toThrow();
});
