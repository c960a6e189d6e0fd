/**
 * oxd's answers are checked before the client hands them out typed: a malformed answer from a
 * (scripted) oxd server over a real socket becomes an OxdProtocolError naming the command and
 * the field, instead of a result with a missing or mistyped value.
 */
import { ERROR_CODES, OxdError, OxdProtocolError } from '../../src/errors';
import { OxdClient } from '../../src/oxd/client';
import {
  ok,
  respond,
  startScriptedOxdServer,
  type ReceivedRequest,
} from '../fixtures/scripted-oxd-server';
import { testConfig } from '../fixtures/oxd-client';

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

/** A registered 3.x socket client whose oxd answers each command with `answers[command]`. */
async function clientAnswering(answers: Record<string, unknown>): Promise<OxdClient> {
  const server = await startScriptedOxdServer({
    otherwise: [respond((request: ReceivedRequest) => ok(answers[request.command] ?? {}))],
  });
  const client = new OxdClient(testConfig({ port: server.port, oxdId: 'site-1' }), {
    writeBack: false,
  });
  cleanups.push(async () => {
    await client.close();
    await server.close();
  });
  return client;
}

async function rejection(promise: Promise<unknown>): Promise<OxdError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(OxdError);
    return error as OxdError;
  }
  throw new Error('expected the command to fail, but it succeeded');
}

const TOKENS = { access_token: 'at', expires_in: 300, id_token: 'idt', id_token_claims: {} };

type Case = [string, Record<string, unknown>, (client: OxdClient) => Promise<unknown>, RegExp];

const MALFORMED: Case[] = [
  [
    'get_authorization_url without authorization_url',
    { get_authorization_url: { url: 'https://op.example.test/authorize' } },
    (c) => c.getAuthorizationUrl(),
    /oxd get_authorization_url answered without authorization_url/,
  ],
  [
    'get_tokens_by_code with a numeric id_token',
    { get_tokens_by_code: { ...TOKENS, id_token: 42 } },
    (c) => c.getTokensByCode({ code: 'c', state: 's' }),
    /oxd get_tokens_by_code answered with id_token that is not a non-empty string \(got a number\)/,
  ],
  [
    'get_tokens_by_code without id_token_claims',
    { get_tokens_by_code: { ...TOKENS, id_token_claims: null } },
    (c) => c.getTokensByCode({ code: 'c', state: 's' }),
    /oxd get_tokens_by_code answered without id_token_claims/,
  ],
  [
    'get_tokens_by_code with an empty access_token',
    { get_tokens_by_code: { ...TOKENS, access_token: '' } },
    (c) => c.getTokensByCode({ code: 'c', state: 's' }),
    /oxd get_tokens_by_code answered with access_token that is not a non-empty string/,
  ],
  [
    'get_access_token_by_refresh_token without access_token',
    { get_access_token_by_refresh_token: { expires_in: 300, refresh_token: 'rt' } },
    (c) => c.getAccessTokenByRefreshToken({ refresh_token: 'rt' }),
    /oxd get_access_token_by_refresh_token answered without access_token/,
  ],
  [
    'get_logout_uri with uri null',
    { get_logout_uri: { uri: null } },
    (c) => c.getLogoutUri(),
    /oxd get_logout_uri answered without uri/,
  ],
  [
    'uma_rs_check_access with an unknown access value',
    { uma_rs_check_access: { access: 'maybe' } },
    (c) => c.umaRsCheckAccess({ rpt: '', path: '/photo', http_method: 'GET' }),
    /oxd uma_rs_check_access answered with access that is not "granted" or "denied"/,
  ],
  [
    'uma_rp_get_rpt without token_type',
    { uma_rp_get_rpt: { access_token: 'rpt' } },
    (c) => c.umaRpGetRpt({ ticket: 't' }),
    /oxd uma_rp_get_rpt answered without token_type/,
  ],
  [
    'introspect_rpt with a string for active',
    { introspect_rpt: { active: 'true' } },
    (c) => c.introspectRpt({ rpt: 'r' }),
    /oxd introspect_rpt answered with active that is not true or false \(got a string\)/,
  ],
  [
    'introspect_rpt with a permission lacking resource_scopes',
    { introspect_rpt: { active: true, permissions: [{ resource_id: 'r1' }] } },
    (c) => c.introspectRpt({ rpt: 'r' }),
    /oxd introspect_rpt answered with permissions that is not a list of UMA permissions/,
  ],
  [
    'remove_site without oxd_id',
    { remove_site: { removed: true } },
    (c) => c.removeSite(),
    /oxd remove_site answered without oxd_id/,
  ],
  [
    'uma_rp_get_claims_gathering_url with a list for url',
    { uma_rp_get_claims_gathering_url: { url: ['https://as/claims'], state: 's' } },
    (c) => c.umaRpGetClaimsGatheringUrl({ ticket: 't', claims_redirect_uri: 'https://rp/c' }),
    /oxd uma_rp_get_claims_gathering_url answered with url that is not a non-empty string \(got a list\)/,
  ],
  [
    'get_authorization_code without code',
    { get_authorization_code: {} },
    (c) => c.getAuthorizationCode(),
    /oxd get_authorization_code answered without code/,
  ],
  [
    'id_token_status with a string for claims',
    { id_token_status: { active: true, claims: 'sub=jane' } },
    (c) => c.checkIdToken({ id_token: 'idt' }),
    /oxd id_token_status answered with claims that is not an object/,
  ],
];

describe('results of oxd commands are checked', () => {
  test.each(MALFORMED)(
    'results - %s is an OxdProtocolError naming the command and the field',
    async (_name, answers, run, message) => {
      const client = await clientAnswering(answers);
      const error = await rejection(run(client));
      expect(error).toBeInstanceOf(OxdProtocolError);
      expect(error.code).toBe(ERROR_CODES.PROTOCOL_ERROR);
      expect(error.message).toMatch(message);
    },
  );

  test('results - well-formed answers come back as sent, nulls dropped', async () => {
    const client = await clientAnswering({
      get_tokens_by_code: { ...TOKENS, refresh_token: null, id_token_claims: { sub: ['jane'] } },
      uma_rs_check_access: { access: 'granted', 'www-authenticate_header': null, ticket: null },
      introspect_rpt: {
        active: true,
        exp: 1700000000,
        permissions: [{ resource_id: 'r1', resource_scopes: ['view'], exp: 1700000000 }],
      },
    });
    await expect(client.getTokensByCode({ code: 'c', state: 's' })).resolves.toEqual({
      ...TOKENS,
      id_token_claims: { sub: ['jane'] },
    });
    await expect(
      client.umaRsCheckAccess({ rpt: '', path: '/photo', http_method: 'GET' }),
    ).resolves.toEqual({ access: 'granted' });
    await expect(client.introspectRpt({ rpt: 'r' })).resolves.toEqual({
      active: true,
      exp: 1700000000,
      permissions: [{ resource_id: 'r1', resource_scopes: ['view'], exp: 1700000000 }],
    });
  });

  test('results - a get_client_token answer with a non-numeric expires_in fails the command that needed it', async () => {
    const server = await startScriptedOxdServer({
      otherwise: [
        respond((request: ReceivedRequest) =>
          ok(
            request.command === 'get_client_token'
              ? { access_token: 'tok', expires_in: 'soon' }
              : { authorization_url: 'https://op.example.test/authorize?state=s' },
          ),
        ),
      ],
    });
    const client = new OxdClient(
      testConfig(
        { port: server.port, oxdId: 'site-1', protectCommands: true },
        { clientId: 'c-1', clientSecret: 's-1' },
      ),
      { writeBack: false },
    );
    cleanups.push(async () => {
      await client.close();
      await server.close();
    });
    const error = await rejection(client.getAuthorizationUrl());
    expect(error).toBeInstanceOf(OxdProtocolError);
    expect(error.message).toMatch(
      /oxd get_client_token answered with expires_in that is not a number \(got a string\)/,
    );
    expect(server.requests.map((r) => r.command)).toEqual(['get_client_token']);
  });
});
