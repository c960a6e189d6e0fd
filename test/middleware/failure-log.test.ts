/**
 * The `logger` options: which logger a failure goes to (the option, else the client's, else
 * `console`), what a bad logger is told, and what the `cause` of a line may hold (a name,
 * never a message). The failures of each route against the local stack are asserted where
 * those routes are tested (resilience, callback, op-outage, back-channel, UMA).
 */
import { createServer } from 'node:net';
import request from 'supertest';
import {
  ERROR_CODES,
  OxdCommandError,
  OxdConfigError,
  OxdError,
  OxdTransportError,
  oxdAuth,
  umaProtect,
} from '../../src';
import { resolveConfig } from '../../src/config/resolve';
import { OxdClient } from '../../src/oxd/client';
import { causeOf } from '../../src/report';
import { capturingLogger } from '../helpers/capture-logger';
import { buildApp } from '../fixtures/apps';

let port: number;
const clients: OxdClient[] = [];

beforeAll(async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
});

afterEach(() => jest.restoreAllMocks());

/** A site registered before, with oxd on a port nobody listens on. */
function config() {
  return {
    oxd: { host: '127.0.0.1', port, oxdId: 'site-registered-before' },
    client: {
      opHost: 'https://127.0.0.1:9',
      authorizationRedirectUri: 'https://app.example/callback',
    },
  };
}

async function failedLogin(auth: ReturnType<typeof oxdAuth>): Promise<void> {
  clients.push(auth.client);
  const res = await request(buildApp('express5', auth))
    .get('/login')
    .set('Accept', 'application/json');
  expect(res.status).toBe(503);
  expect(res.body.code).toBe(ERROR_CODES.TRANSPORT_FAILED);
}

const LINE = ['error', ERROR_CODES.TRANSPORT_FAILED, 'login', 503, 'ECONNREFUSED'];

test('without a logger, a failure goes to console.error once; console.warn is not used', async () => {
  const error = jest.spyOn(console, 'error').mockImplementation(() => {});
  const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
  await failedLogin(oxdAuth({ config: config() }));
  expect(error.mock.calls).toEqual([
    [
      'express-oxd: login failed with OXD_TRANSPORT_FAILED (ECONNREFUSED)',
      { code: 'OXD_TRANSPORT_FAILED', status: 503, operation: 'login', cause: 'ECONNREFUSED' },
    ],
  ]);
  expect(warn).not.toHaveBeenCalled();
});

test("oxdAuth's logger; else the logger of the client it is given; the client it creates gets its logger", async () => {
  const own = capturingLogger();
  const auth = oxdAuth({ config: config(), logger: own });
  expect(auth.client.logger).toBe(own);
  await failedLogin(auth);
  expect(own.summary()).toEqual([LINE]);

  const ofClient = capturingLogger();
  const client = new OxdClient(resolveConfig(config()), { logger: ofClient, writeBack: false });
  await failedLogin(oxdAuth({ config: config(), client }));
  expect(ofClient.summary()).toEqual([LINE]);

  // clientOptions.logger is the client's; the middleware's own option still wins for it.
  const forClient = capturingLogger();
  const forMiddleware = capturingLogger();
  const both = oxdAuth({
    config: config(),
    clientOptions: { logger: forClient },
    logger: forMiddleware,
  });
  expect(both.client.logger).toBe(forClient);
  await failedLogin(both);
  expect(forMiddleware.summary()).toEqual([LINE]);
  expect(forClient.lines).toEqual([]);
});

test('a logger without warn and error is refused, naming the option and what fits', () => {
  for (const logger of [{}, { warn() {} }, 'console', null]) {
    expect(() => oxdAuth({ config: config(), logger: logger as never })).toThrow(OxdConfigError);
  }
  expect(() => oxdAuth({ config: config(), logger: { info() {} } as never })).toThrow(
    'oxdAuth option logger: must be an object with warn(message, fields) and error(message, fields), such as console',
  );
  expect(() =>
    umaProtect([{ path: '/api', conditions: [{ httpMethods: ['GET'], scopes: ['read'] }] }], {
      config: config(),
      logger: { error() {} } as never,
    }),
  ).toThrow(/umaProtect option logger: must be an object with warn/);
  expect(() => new OxdClient(resolveConfig(config()), { logger: { warn() {} } as never })).toThrow(
    /logger must be an object with warn/,
  );
});

test('the cause is a name: oxd error, system error code, undici code or error class; never a message', () => {
  const secret = 'token=eyJhbGciOi.secret';
  const command = new OxdCommandError('get_tokens_by_code', {
    error: 'invalid_request',
    error_description: secret,
  });
  expect(causeOf(command)).toBe('invalid_request');
  // oxd's error is free text when it is not a plain name: left out.
  expect(causeOf(new OxdCommandError('get_rp', { error: `bad ${secret}` }))).toBeUndefined();
  const refused = Object.assign(new Error(`connect ECONNREFUSED ${secret}`), {
    code: 'ECONNREFUSED',
  });
  expect(causeOf(new OxdTransportError(secret, { cause: refused }))).toBe('ECONNREFUSED');
  const undici = Object.assign(new Error(secret), {
    name: 'ConnectTimeoutError',
    code: 'UND_ERR_CONNECT_TIMEOUT',
  });
  expect(causeOf(new OxdTransportError(secret, { cause: undici }))).toBe('UND_ERR_CONNECT_TIMEOUT');
  expect(causeOf(new OxdTransportError(secret, { cause: new TypeError(secret) }))).toBe(
    'TypeError',
  );
  // Down a chain: the TLS error under a transport error under a store error.
  const tls = Object.assign(new Error(secret), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  const chain = new OxdError(ERROR_CODES.SESSION_STORE_UNAVAILABLE, secret, {
    status: 503,
    cause: new OxdTransportError(secret, { cause: tls }),
  });
  expect(causeOf(chain)).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
  expect(causeOf(new OxdTransportError(secret))).toBeUndefined();
  expect(causeOf(new Error(secret))).toBeUndefined();
});

test('a login the application starts through req.oxd.login() is logged like the route', async () => {
  const logger = capturingLogger();
  const auth = oxdAuth({ config: config(), logger, routes: { login: false } });
  clients.push(auth.client);
  const app = buildApp('express5', auth);
  const started = await request(app).get('/start-params').set('Accept', 'application/json');
  expect(started.status).toBe(503);
  // Without a login route, requireAuth() sends a browser on through req.oxd.login().
  const guarded = await request(app).get('/profile').set('Accept', 'text/html');
  expect(guarded.status).toBe(503);
  expect(logger.summary()).toEqual([LINE, LINE]);
});
