/**
 * oxd 4.x's published REST contract (4.3.1, test/fixtures/oxd-4.3.1-openapi.ts) against the
 * local oxd reproducing 4.2+ and against this package's client: every request the client
 * sends names only fields of the description and carries its required ones; every answer
 * carries the description's required fields with their types; each of the 23 routes is
 * either exercised here or named as deliberately not served (and then answers 404).
 */
import { Agent } from 'undici';
import { resolveConfig } from '../../src/config/resolve';
import { OxdClient } from '../../src/oxd/client';
import type { OxdReply, OxdRequest, Transport } from '../../src/oxd/transport';
import {
  type JsonType,
  NOT_SERVED,
  OXD_431_ROUTES,
  SPEC_OVER_REQUIRES,
} from '../fixtures/oxd-4.3.1-openapi';
import { dedicatedStack, type LocalStack } from '../helpers/local-stack';
import { submitOpLogin } from '../../src/testing/op-login';
import { rawHttps } from '../helpers/raw-https';
import { configFor, countingTransport } from '../helpers/stack-fixture';

/**
 * Answer fields the description marks required that oxd copies from the OP's optional
 * answer, so they are absent when the OP sends none.
 */
const FROM_OP_WHEN_GIVEN: Readonly<Record<string, readonly string[]>> = {
  '/get-client-token': ['refresh_token'],
  '/introspect-access-token': ['username', 'aud', 'acr_values', 'extension_field', 'jti', 'nbf'],
  // RFC 7662 makes `aud` optional; the local UMA server's RPTs have no audience.
  '/introspect-rpt': ['aud'],
};

const exchanges: { path: string; request: OxdRequest; reply: OxdReply }[] = [];

class RecordingTransport implements Transport {
  readonly kind: 'socket' | 'https';
  constructor(private readonly inner: Transport) {
    this.kind = inner.kind;
  }
  async send(request: OxdRequest): Promise<OxdReply> {
    const reply = await this.inner.send(request);
    exchanges.push({ path: `/${request.path}`, request, reply });
    return reply;
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

function typeOf(value: unknown): JsonType | 'null' | 'number' {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value as JsonType;
}

let stack: LocalStack;
let client: OxdClient;
let agent: Agent;
const exercised = new Set<string>();

beforeAll(async () => {
  stack = await dedicatedStack({ oxdVersion: '4.2' });
  agent = new Agent({ connect: { ca: stack.oxd.ca } });
  client = new OxdClient(resolveConfig(configFor(stack, 'https4')), {
    transport: new RecordingTransport(countingTransport(stack, 'https4')),
    writeBack: false,
  });

  // A whole life of a site through the client, touching every served command.
  const { authorization_url: url } = await client.getAuthorizationUrl({});
  const user = stack.op.users[0];
  if (!user) throw new Error('no OP user');
  const callback = await submitOpLogin(url, user, stack.op.ca);
  const tokens = await client.getTokensByCode({
    code: callback.searchParams.get('code') ?? '',
    state: callback.searchParams.get('state') ?? '',
  });
  await client.getUserInfo({ access_token: tokens.access_token });
  await client.introspectAccessToken({ access_token: tokens.access_token });
  if (tokens.refresh_token) {
    await client.getAccessTokenByRefreshToken({ refresh_token: tokens.refresh_token });
  }
  await client.getLogoutUri({ id_token_hint: tokens.id_token, state: 'st' });
  await client.updateSite({ client_name: 'contract' });
  const view = 'https://photoz.example/view';
  await client.umaRsProtect({
    resources: [{ path: '/photos', conditions: [{ httpMethods: ['GET'], scopes: [view] }] }],
  });
  await client.umaRsModify({ path: '/photos', http_method: 'GET', scopes: [view] });
  const check = async () =>
    (await client.umaRsCheckAccess({ rpt: '', path: '/photos', http_method: 'GET' })).ticket ?? '';
  await client.umaRpGetClaimsGatheringUrl({
    ticket: await check(),
    claims_redirect_uri: 'https://rp.example/claims',
  });
  const rpt = await client.umaRpGetRpt({ ticket: await check() });
  await client.introspectRpt({ rpt: rpt.access_token });
  await client.getJwks({});
  await client.getDiscovery({});
  await client.issuerDiscovery({ resource: `acct:jane@${new URL(stack.op.issuer).host}` });
  await client.getRequestUri({ oxd_host_url: stack.oxd.httpsUrl });
  await client.removeSite({});
  for (const { path } of exchanges) exercised.add(path);
}, 180_000);

afterAll(async () => {
  await client?.close();
  await agent?.close();
});

test('the description has 23 routes; each is exercised or named as not served', async () => {
  const routes = Object.keys(OXD_431_ROUTES);
  expect(routes).toHaveLength(23);
  const health = await rawHttps(`${stack.oxd.httpsUrl}/health-check`, {
    dispatcher: agent,
    method: 'GET',
  });
  expect(health).toMatchObject({ status: 200, text: 'running' });
  exercised.add('/health-check');
  // GET /get-request-object/{id}: the request_uri get_request_uri answered.
  const requestUri = exchanges.find((e) => e.path === '/get-request-object-uri')?.reply;
  const uri = requestUri?.ok ? String(requestUri.data.request_uri) : '';
  const object = await rawHttps(uri, { dispatcher: agent, method: 'GET' });
  expect(object.status).toBe(200);
  expect(object.text.split('.')).toHaveLength(3);
  exercised.add('/get-request-object/{request_object_id}');

  const missing = routes.filter((route) => !exercised.has(route) && !(route in NOT_SERVED));
  expect(missing).toEqual([]);
  for (const route of Object.keys(NOT_SERVED)) {
    const answer = await rawHttps(`${stack.oxd.httpsUrl}${route}`, {
      dispatcher: agent,
      method: OXD_431_ROUTES[route]?.method ?? 'POST',
    });
    expect(answer.status).toBe(404);
  }
});

test("the client's requests name only described fields and carry the required ones", () => {
  expect(exchanges.length).toBeGreaterThan(15);
  for (const { path, request } of exchanges) {
    const contract = OXD_431_ROUTES[path];
    expect({ path, described: contract !== undefined }).toEqual({ path, described: true });
    const fields = contract?.request ?? { required: [], optional: [] };
    const known = new Set([...fields.required, ...fields.optional]);
    const unknown = Object.keys(request.params).filter((name) => !known.has(name));
    expect({ path, unknown }).toEqual({ path, unknown: [] });
    const waived = new Set(SPEC_OVER_REQUIRES[path] ?? []);
    const absent = fields.required.filter(
      (name) => !waived.has(name) && request.params[name] === undefined,
    );
    expect({ path, absent }).toEqual({ path, absent: [] });
    if (contract?.bearer)
      expect({ path, token: Boolean(request.token) }).toEqual({ path, token: true });
  }
});

test("the local oxd's answers carry the described fields with their types", () => {
  for (const { path, reply } of exchanges) {
    expect({ path, ok: reply.ok }).toEqual({ path, ok: true });
    if (!reply.ok) continue;
    const contract = OXD_431_ROUTES[path];
    if (!contract || contract.response === 'text') continue;
    const optional = new Set(FROM_OP_WHEN_GIVEN[path] ?? []);
    const wrong = Object.entries(contract.response).flatMap(([name, type]) => {
      const value = reply.data[name];
      if (value === undefined && optional.has(name)) return [];
      return typeOf(value) === type ? [] : [`${name}: ${typeOf(value)}, described ${type}`];
    });
    expect({ path, wrong }).toEqual({ path, wrong: [] });
  }
});
