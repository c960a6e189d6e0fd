/**
 * Traces and metrics of a whole login through OpenTelemetry's SDK (in-memory exporter and
 * metric reader), against the local OP and oxd on the socket and both HTTPS dialects: the
 * span tree of a first login (with the site's registration) and of a login on the
 * registered site, the outcomes and counters, and no secret in any attribute.
 */
import session from 'express-session';
import request from 'supertest';
import { oxdAuth } from '../../src';
import { resolveConfig } from '../../src/config/resolve';
import type { WriteBackValues } from '../../src/config/types';
import { OxdClient } from '../../src/oxd/client';
import { ensureBuilt } from '../helpers/build';
import { dedicatedStack } from '../helpers/local-stack';
import { OpCookieJar } from '../../src/testing/op-login';
import { countOf, installTelemetry, type TestTelemetry } from '../helpers/telemetry';
import { buildApp } from '../fixtures/apps';
import {
  appPath,
  configFor,
  HTML,
  type LocalStack,
  sessionCookie,
  startAndSignIn,
  TRANSPORTS,
} from '../helpers/stack-fixture';

let stack: LocalStack;
let telemetry: TestTelemetry;

beforeAll(async () => {
  await ensureBuilt();
  stack = await dedicatedStack();
  telemetry = installTelemetry();
}, 240_000);

afterAll(async () => {
  await telemetry?.shutdown();
});

/** Every string in `value` (deeply), for the secret scan. */
function strings(value: unknown, into: Set<string> = new Set()): Set<string> {
  if (typeof value === 'string') into.add(value);
  else if (Array.isArray(value)) for (const item of value) strings(item, into);
  else if (typeof value === 'object' && value !== null) {
    for (const item of Object.values(value)) strings(item, into);
  }
  return into;
}

/** The commands of a site's registration, per dialect (the protection token where needed). */
const REGISTRATION: Record<(typeof TRANSPORTS)[number], string[]> = {
  socket: ['oxd register_site'],
  https4: ['oxd register_site', 'oxd get_client_token'],
  https3: ['oxd setup_client', 'oxd get_client_token'],
};

describe.each(TRANSPORTS)('a login over %s', (transport) => {
  let client: OxdClient;
  let store: session.MemoryStore;
  let agent: ReturnType<typeof request.agent>;
  const saved: WriteBackValues[] = [];

  beforeAll(() => {
    const config = configFor(stack, transport);
    client = new OxdClient(resolveConfig(config), {
      writeBack: async (values) => {
        saved.push(values);
      },
    });
    store = new session.MemoryStore();
    agent = request.agent(buildApp('express5', oxdAuth({ config, client }), { store }));
  });

  afterAll(async () => {
    await client?.close();
  });

  /** Logs in; returns what a secret scan must not find: the code, state, cookie, session. */
  async function logIn(): Promise<Set<string>> {
    const callback = await startAndSignIn(agent, stack, '/login', new OpCookieJar());
    const done = await agent.get(appPath(callback)).set('Accept', HTML);
    expect(done.status).toBe(302);
    const secrets = new Set<string>([
      callback.searchParams.get('code') ?? 'no code?',
      callback.searchParams.get('state') ?? 'no state?',
      sessionCookie(done.headers['set-cookie']) ?? 'no cookie?',
    ]);
    const sessions = await new Promise<unknown>((resolve, reject) =>
      store.all((err, all) => (err ? reject(err) : resolve(all))),
    );
    strings(sessions, secrets);
    strings(saved, secrets);
    return secrets;
  }

  test('a first login: the registration commands under the login span', async () => {
    telemetry.reset();
    await logIn();
    const [login, callback, ...rest] = telemetry.tree();
    expect(rest).toEqual([]);
    // The registration runs for (and under) the first command that needs the site's id.
    expect(login?.name).toBe('express-oxd login');
    expect(login?.children.map((child) => child.name)).toEqual(['oxd get_authorization_url']);
    const registration = login?.children[0]?.children.map((child) => child.name);
    expect(registration).toEqual(REGISTRATION[transport]);
    expect(callback?.name).toBe('express-oxd callback');
  });

  test('a login on the registered site: login and callback spans, one span per command', async () => {
    const before = countOf(await telemetry.points('express_oxd.logins'), {
      'express_oxd.outcome': 'success',
    });
    telemetry.reset();
    const secrets = await logIn();
    expect(telemetry.tree()).toEqual([
      {
        name: 'express-oxd login',
        children: [{ name: 'oxd get_authorization_url', children: [] }],
      },
      {
        name: 'express-oxd callback',
        children: [
          { name: 'oxd get_tokens_by_code', children: [] },
          { name: 'oxd get_user_info', children: [] },
        ],
      },
    ]);
    for (const span of telemetry.spans()) {
      expect(span.kind).toBe(0); // SpanKind.INTERNAL
      expect(span.status.code).not.toBe(2);
      expect(span.attributes['express_oxd.outcome']).toBe('success');
      if (span.name.startsWith('oxd ')) {
        expect(span.attributes).toEqual({
          'rpc.system': 'oxd',
          'rpc.method': span.name.slice('oxd '.length),
          'express_oxd.transport': transport === 'socket' ? 'socket' : 'https',
          'express_oxd.oxd.server_version': transport === 'https4' ? 4 : 3,
          'express_oxd.outcome': 'success',
        });
      }
    }
    // No token, code, state, cookie, secret or claim value in any attribute.
    const values = telemetry
      .spans()
      .flatMap((span) => Object.values(span.attributes).map((value) => String(value)));
    const meaningful = [...secrets].filter((secret) => secret.length >= 5);
    expect(meaningful.length).toBeGreaterThan(5);
    const leaked = values.filter((value) => meaningful.some((secret) => value.includes(secret)));
    expect(leaked).toEqual([]);

    const logins = await telemetry.points('express_oxd.logins');
    expect(countOf(logins, { 'express_oxd.outcome': 'success' })).toBe(before + 1);
    const durations = await telemetry.points('express_oxd.oxd.command.duration');
    const kind = transport === 'socket' ? 'socket' : 'https';
    for (const command of ['get_authorization_url', 'get_tokens_by_code', 'get_user_info']) {
      expect(
        countOf(durations, {
          'rpc.method': command,
          'express_oxd.transport': kind,
          'express_oxd.outcome': 'success',
        }),
      ).toBeGreaterThanOrEqual(2);
    }
  });
});
