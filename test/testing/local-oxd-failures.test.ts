/**
 * How the local oxd server answers failures, release by release, as oxd's Java source does
 * (GluuFederation/oxd, branches version_3.1.3, version_3.1.4, version_4.1.3, version_4.2.3;
 * 3.x classes in org.xdi.oxd.server, 4.x in org.gluu.oxd.server). One stack per profile,
 * with the release's default protection (3.x socket and /v3/: off, as the stock
 * oxd-conf.json ships it; 4.x: on), plus a 3.x pair with protection on.
 */
import { Agent } from 'undici';
import { encodeFrame } from '../../src/oxd/framing';
import { dedicatedStack, type LocalStack } from '../helpers/local-stack';
import { rawHttps } from '../helpers/raw-https';
import { RawOxdSocket } from '../helpers/raw-socket';

const REDIRECT = 'https://rp.example/callback';
const VIEW = 'https://photoz.example/view';
const PHOTOS = [{ path: '/photos', conditions: [{ httpMethods: ['GET'], scopes: [VIEW] }] }];
const INTERNAL_ERROR = {
  error: 'internal_error',
  error_description: 'Unknown internal server error occurs.',
};
const INTERNAL_ERROR_REPLY = { status: 'error', data: { ...INTERNAL_ERROR, details: null } };

type Profile = '3.1.3' | '3.1.4' | '4.1' | '4.2';
type StackName = Profile | '3.1.3+protect' | '3.1.4+protect';
const V3: Profile[] = ['3.1.3', '3.1.4'];
const V4: Profile[] = ['4.1', '4.2'];

const stacks = new Map<StackName, LocalStack>();
const agents = new Map<StackName, Agent>();
const sockets: RawOxdSocket[] = [];

beforeAll(async () => {
  const started = await Promise.all(
    (['3.1.3', '3.1.4', '4.1', '4.2', '3.1.3+protect', '3.1.4+protect'] as StackName[]).map(
      async (name) => {
        const [version, protect] = name.split('+') as [Profile, string | undefined];
        const stack = await dedicatedStack({
          oxdVersion: version,
          ...(protect ? { protectCommands: true } : {}),
        });
        return [name, stack] as const;
      },
    ),
  );
  for (const [name, stack] of started) {
    stacks.set(name, stack);
    agents.set(name, new Agent({ connect: { ca: stack.oxd.ca } }));
  }
}, 300_000);

afterEach(() => {
  for (const socket of sockets.splice(0)) socket.destroy();
});

afterAll(async () => {
  await Promise.all([...agents.values()].map((agent) => agent.close()));
});

function stackOf(name: StackName): LocalStack {
  const stack = stacks.get(name);
  if (!stack) throw new Error(`no stack ${name}`);
  return stack;
}

async function openSocket(name: StackName): Promise<RawOxdSocket> {
  const socket = await RawOxdSocket.open(stackOf(name).oxd.port);
  sockets.push(socket);
  return socket;
}

/** One socket command on a fresh connection: the reply envelope. */
async function socketCall(name: StackName, command: string, params: Record<string, unknown>) {
  const socket = await openSocket(name);
  socket.write(encodeFrame({ command, params }));
  return { reply: await socket.frame(), socket };
}

async function https(
  name: StackName,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
) {
  const agent = agents.get(name);
  if (!agent) throw new Error(`no agent ${name}`);
  return rawHttps(`${stackOf(name).oxd.httpsUrl}${path}`, { dispatcher: agent, body, headers });
}

function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

async function okSocket(name: StackName, command: string, params: Record<string, unknown>) {
  const { reply } = await socketCall(name, command, params);
  if (reply.status !== 'ok') throw new Error(`${command}: ${JSON.stringify(reply)}`);
  return reply.data as Record<string, unknown>;
}

/** A 3.x site made by setup_client, with a client token of its setup client. */
async function setupSite(name: StackName, tokenScope: string[] = ['oxd']) {
  const setup = await okSocket(name, 'setup_client', { authorization_redirect_uri: REDIRECT });
  const token = await okSocket(name, 'get_client_token', {
    client_id: setup.client_id,
    client_secret: setup.client_secret,
    scope: tokenScope,
  });
  return {
    oxdId: setup.oxd_id as string,
    setupOxdId: setup.setup_client_oxd_id as string,
    clientId: setup.client_id as string,
    clientSecret: setup.client_secret as string,
    token: token.access_token as string,
  };
}

/** A 4.x site and its own client token. */
async function restSite(name: StackName) {
  const site = (await https(name, '/register-site', { redirect_uris: [REDIRECT] })).json as Record<
    string,
    string
  >;
  const token = (
    await https(name, '/get-client-token', {
      client_id: site.client_id,
      client_secret: site.client_secret,
      scope: ['oxd'],
    })
  ).json as Record<string, string>;
  return {
    oxdId: site.oxd_id as string,
    clientId: site.client_id as string,
    clientSecret: site.client_secret as string,
    token: token.access_token as string,
  };
}

describe('1. a refresh token the OP refuses (GetAccessTokenByRefreshTokenOperation)', () => {
  // Every release logs the OP's invalid_grant and answers its generic internal error:
  // 3.x CommandResponse.INTERNAL_ERROR_RESPONSE (SocketProcessor then closes), 4.x
  // HttpException.internalError().
  test.each(V3)('%s socket - internal_error, then the connection closes', async (version) => {
    const { oxdId } = await setupSite(version);
    const { reply, socket } = await socketCall(version, 'get_access_token_by_refresh_token', {
      oxd_id: oxdId,
      refresh_token: 'refused-refresh-token',
    });
    expect(reply).toEqual(INTERNAL_ERROR_REPLY);
    expect(await socket.closedWith()).toBe('');
  });

  test.each(V3)('%s /v3/ - HTTP 200 with the internal_error envelope', async (version) => {
    const site = await setupSite(version);
    const answer = await https(
      version,
      '/v3/get-access-token-by-refresh-token',
      { oxd_id: site.oxdId, refresh_token: 'refused-refresh-token' },
      bearer(site.token),
    );
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual(INTERNAL_ERROR_REPLY);
  });

  test.each(V4)('%s REST - HTTP 500 internal_error', async (version) => {
    const site = await restSite(version);
    const answer = await https(
      version,
      '/get-access-token-by-refresh-token',
      { oxd_id: site.oxdId, refresh_token: 'refused-refresh-token' },
      bearer(site.token),
    );
    expect(answer.status).toBe(500);
    expect(answer.json).toEqual(INTERNAL_ERROR);
  });
});

describe('2. get_client_token refused by the OP (GetClientTokenOperation)', () => {
  test.each(V3)('%s socket - internal_error, then the connection closes', async (version) => {
    const site = await setupSite(version);
    const { reply, socket } = await socketCall(version, 'get_client_token', {
      client_id: site.clientId,
      client_secret: 'wrong-secret',
      scope: ['oxd'],
    });
    expect(reply).toEqual(INTERNAL_ERROR_REPLY);
    expect(await socket.closedWith()).toBe('');
  });

  test.each(V3)('%s /v3/ - HTTP 200 with the error envelope', async (version) => {
    const site = await setupSite(version);
    const answer = await https(version, '/v3/get-client-token', {
      client_id: site.clientId,
      client_secret: 'wrong-secret',
    });
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual(INTERNAL_ERROR_REPLY);
  });

  test.each(V4)('%s REST - HTTP 500 internal_error', async (version) => {
    const site = await restSite(version);
    const answer = await https(version, '/get-client-token', {
      client_id: site.clientId,
      client_secret: 'wrong-secret',
    });
    expect(answer.status).toBe(500);
    expect(answer.json).toEqual(INTERNAL_ERROR);
  });
});

describe('3. register_site refused by the OP (RegisterSiteOperation.registerClient)', () => {
  // The OP refuses a grant type it does not support; oxd wraps that in a RuntimeException.
  test('3.1.4 socket - internal_error, then the connection closes', async () => {
    const { reply, socket } = await socketCall('3.1.4', 'register_site', {
      authorization_redirect_uri: REDIRECT,
      grant_types: ['authorization_code', 'urn:example:unsupported-grant'],
    });
    expect(reply).toEqual(INTERNAL_ERROR_REPLY);
    expect(await socket.closedWith()).toBe('');
  });

  test('4.2 REST - HTTP 500 internal_error', async () => {
    const answer = await https('4.2', '/register-site', {
      redirect_uris: [REDIRECT],
      grant_types: ['authorization_code', 'urn:example:unsupported-grant'],
    });
    expect(answer.status).toBe(500);
    expect(answer.json).toEqual(INTERNAL_ERROR);
  });
});

describe("4. uma_rp_get_rpt hands back the site's stored RPT (UmaTokenService.getRpt)", () => {
  test.each(['3.1.4', '4.2'] as Profile[])(
    '%s - while it has not expired, whatever the ticket, without asking the AS',
    async (version) => {
      const v3 = version.startsWith('3.');
      const site = v3 ? await setupSite(version) : await restSite(version);
      const call = async (command: string, params: Record<string, unknown>) => {
        if (v3) return okSocket(version, command, { oxd_id: site.oxdId, ...params });
        const answer = await https(
          version,
          `/${command.replace(/_/g, '-')}`,
          { oxd_id: site.oxdId, ...params },
          bearer(site.token),
        );
        if (answer.status !== 200) throw new Error(`${command}: ${answer.text}`);
        return answer.json as Record<string, unknown>;
      };
      await call('uma_rs_protect', { resources: PHOTOS });
      const check = await call('uma_rs_check_access', {
        rpt: '',
        path: '/photos',
        http_method: 'GET',
      });
      const first = await call('uma_rp_get_rpt', { ticket: check.ticket });
      // A ticket the AS never issued: oxd does not get that far.
      const again = await call('uma_rp_get_rpt', { ticket: 'a-ticket-the-as-never-issued' });
      expect(again.access_token).toBe(first.access_token);
      expect(again).toMatchObject({ token_type: first.token_type, pct: first.pct });
    },
  );
});

describe('5. protection tokens (3.x ValidationService, RegisterSiteOperation)', () => {
  test('3.1.3, protection off - a non-blank token is validated all the same', async () => {
    const site = await setupSite('3.1.3');
    const { reply } = await socketCall('3.1.3', 'get_authorization_url', {
      oxd_id: site.oxdId,
      protection_access_token: 'not-a-token-of-the-op',
    });
    expect(reply.data).toMatchObject({ error: 'inactive_protection_access_token' });
    const fine = await socketCall('3.1.3', 'get_authorization_url', {
      oxd_id: site.oxdId,
      protection_access_token: site.token,
    });
    expect(fine.reply.status).toBe('ok');
  });

  test('3.1.4, protection off - only register_site validates a non-blank token', async () => {
    const site = await setupSite('3.1.4');
    const url = await socketCall('3.1.4', 'get_authorization_url', {
      oxd_id: site.oxdId,
      protection_access_token: 'not-a-token-of-the-op',
    });
    expect(url.reply.status).toBe('ok');
    const { reply } = await socketCall('3.1.4', 'register_site', {
      authorization_redirect_uri: REDIRECT,
      protection_access_token: 'not-a-token-of-the-op',
    });
    expect(reply.data).toMatchObject({ error: 'inactive_protection_access_token' });
  });

  test('3.1.4, protection on - update_site on the setup client itself needs no token', async () => {
    const site = await setupSite('3.1.4+protect');
    const { reply } = await socketCall('3.1.4+protect', 'update_site', {
      oxd_id: site.setupOxdId,
      post_logout_redirect_uri: 'https://rp.example/bye',
    });
    expect(reply).toMatchObject({ status: 'ok', data: { oxd_id: site.setupOxdId } });
    const other = await socketCall('3.1.4+protect', 'update_site', {
      oxd_id: site.oxdId,
      post_logout_redirect_uri: 'https://rp.example/bye',
    });
    expect(other.reply.data).toMatchObject({ error: 'blank_protection_access_token' });
  });

  test.each(V3)(
    '%s /v3/ - protection as oxd-conf.json ships it (off): any Bearer passes the extension',
    async (version) => {
      const stack = stackOf(version);
      const { oxdId } = await setupSite(version);
      // 3.1.4 ignores the forwarded token when protection is off; 3.1.3 validates it.
      const answer = await https(
        version,
        '/v3/get-authorization-url',
        { oxd_id: oxdId },
        bearer('not-a-token-of-the-op'),
      );
      expect(answer.status).toBe(200);
      const data = (answer.json as { data: Record<string, unknown> }).data;
      if (version === '3.1.4') {
        expect(String(data.authorization_url)).toContain(stack.op.issuer);
      } else {
        expect(data.error).toBe('inactive_protection_access_token');
      }
    },
  );
});

describe('5. /v3/ with protection on in oxd-conf.json (ValidationService behind the extension)', () => {
  const V3_PROTECTED = '3.1.4+protect';

  test('a token of another setup client is invalid_protection_access_token with HTTP 200', async () => {
    const [site, other] = [await setupSite(V3_PROTECTED), await setupSite(V3_PROTECTED)];
    const answer = await https(
      V3_PROTECTED,
      '/v3/get-authorization-url',
      { oxd_id: site.oxdId },
      bearer(other.token),
    );
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({
      status: 'error',
      data: {
        error: 'invalid_protection_access_token',
        error_description:
          'Invalid protection_access_token. Command is protected by protection_access_token, please provide valid token or otherwise switch off protection in configuration with protect_commands_with_access_token=false',
        details: null,
      },
    });
  });

  test('an unknown token is inactive_protection_access_token', async () => {
    const site = await setupSite(V3_PROTECTED);
    const answer = await https(
      V3_PROTECTED,
      '/v3/get-authorization-url',
      { oxd_id: site.oxdId },
      bearer('made-up'),
    );
    expect(answer.json).toMatchObject({
      status: 'error',
      data: { error: 'inactive_protection_access_token' },
    });
  });

  test("register_site with a setup client's token links the new site to it", async () => {
    const site = await setupSite(V3_PROTECTED);
    const answer = await https(
      V3_PROTECTED,
      '/v3/register-site',
      { authorization_redirect_uri: REDIRECT },
      bearer(site.token),
    );
    const registered = (answer.json as { data: { oxd_id: string } }).data;
    // Linked to the token's setup client: usable with that token.
    const linked = await https(
      V3_PROTECTED,
      '/v3/get-authorization-url',
      { oxd_id: registered.oxd_id },
      bearer(site.token),
    );
    expect(linked.json).toMatchObject({ status: 'ok' });
  });
});

describe('6. the 3.1.3 profile', () => {
  test('protection tokens without the oxd scope pass: only the client id is compared', async () => {
    const site = await setupSite('3.1.3+protect', []);
    const { reply } = await socketCall('3.1.3+protect', 'get_authorization_url', {
      oxd_id: site.oxdId,
      protection_access_token: site.token,
    });
    expect(reply.status).toBe('ok');
    const newer = await setupSite('3.1.4+protect', []);
    const refused = await socketCall('3.1.4+protect', 'get_authorization_url', {
      oxd_id: newer.oxdId,
      protection_access_token: newer.token,
    });
    expect(refused.reply.data).toMatchObject({
      error: 'protection_access_token_insufficient_scope',
    });
  });

  test('no get_rp: not in its CommandType', async () => {
    const site = await setupSite('3.1.3');
    const { reply, socket } = await socketCall('3.1.3', 'get_rp', { oxd_id: site.oxdId });
    expect(reply).toEqual({
      status: 'error',
      data: {
        error: 'unsupported_operation',
        error_description: 'Operation is not supported by server error.',
        details: null,
      },
    });
    expect(socket.isOpen).toBe(true);
    const newer = await setupSite('3.1.4');
    expect((await socketCall('3.1.4', 'get_rp', { oxd_id: newer.oxdId })).reply.status).toBe('ok');
  });

  test('no http_status_<N>: an OP error status is internal_error, then the socket closes', async () => {
    const site = await setupSite('3.1.3');
    const { reply, socket } = await socketCall('3.1.3', 'get_user_info', {
      oxd_id: site.oxdId,
      access_token: 'not-a-token-of-the-op',
    });
    expect(reply).toEqual(INTERNAL_ERROR_REPLY);
    expect(await socket.closedWith()).toBe('');
    const newer = await setupSite('3.1.4');
    const upstream = await socketCall('3.1.4', 'get_user_info', {
      oxd_id: newer.oxdId,
      access_token: 'not-a-token-of-the-op',
    });
    expect(upstream.reply.data).toMatchObject({ error: 'http_status_401' });
  });

  test('introspect_access_token and introspect_rpt take no protection token', async () => {
    const site = await setupSite('3.1.3+protect');
    const introspection = await socketCall('3.1.3+protect', 'introspect_access_token', {
      oxd_id: site.oxdId,
      access_token: site.token,
    });
    expect(introspection.reply).toMatchObject({ status: 'ok', data: { active: true } });
    const rpt = await socketCall('3.1.3+protect', 'introspect_rpt', {
      oxd_id: site.oxdId,
      rpt: 'not-an-rpt',
    });
    expect(rpt.reply).toMatchObject({ status: 'ok', data: { active: false } });
  });
});

describe('7. oxd-https-extension 3.1.x (/v3/, RestResource)', () => {
  test.each(['get-rp', 'check-id-token', 'check-access-token'])('has no /%s: 404', async (path) => {
    const site = await setupSite('3.1.4');
    const answer = await https('3.1.4', `/v3/${path}`, { oxd_id: site.oxdId }, bearer(site.token));
    expect(answer.status).toBe(404);
  });

  test('an empty body is HTTP 400 "Invalid parameters. Message: …" (RestResource.read)', async () => {
    const site = await setupSite('3.1.4');
    const answer = await https('3.1.4', '/v3/get-authorization-url', '', bearer(site.token));
    expect(answer.status).toBe(400);
    expect(answer.text).toMatch(/^Invalid parameters\. Message: \S/);
  });
});

describe('8. oxd 4.2 REST (RestResource.getObjectForJsonConversion)', () => {
  test.each(['/register-site', '/get-client-token', '/get-discovery'])(
    '%s never reads the Authorization header: "Bearer " (Gluu\'s 4.2 tutorial) passes',
    async (path) => {
      const site = await restSite('4.2');
      const bodies: Record<string, unknown> = {
        '/register-site': { redirect_uris: [REDIRECT] },
        '/get-client-token': {
          client_id: site.clientId,
          client_secret: site.clientSecret,
          scope: ['oxd'],
        },
        '/get-discovery': {},
      };
      const answer = await https('4.2', path, bodies[path], { authorization: 'Bearer ' });
      expect(answer.status).toBe(200);
    },
  );

  test('the header is checked before the oxd_id: 403 blank_access_token, not 400', async () => {
    const answer = await https('4.2', '/get-authorization-url', {});
    expect(answer.status).toBe(403);
    expect(answer.json).toMatchObject({ error: 'blank_access_token' });
  });

  test('an empty body with a valid token: 500 {code, message} (RpSyncService.getRp)', async () => {
    const site = await restSite('4.2');
    const answer = await https('4.2', '/get-authorization-url', '', bearer(site.token));
    expect(answer.status).toBe(500);
    expect(answer.json).toEqual({
      code: 500,
      message: expect.stringMatching(/^There was an error processing your request/),
    });
  });
});

describe('9. oxd 4.1 REST (RestResource.validateAccessToken, ValidationService)', () => {
  const FORBIDDEN = { code: 403, message: 'HTTP 403 Forbidden' };

  test.each([undefined, 'Basic x', 'Bear', 'Bearer '])(
    'Authorization %p: 403 {code, message}',
    async (authorization) => {
      const site = await restSite('4.1');
      const answer = await https(
        '4.1',
        '/get-authorization-url',
        { oxd_id: site.oxdId },
        authorization === undefined ? {} : { authorization },
      );
      expect(answer.status).toBe(403);
      expect(answer.json).toEqual(FORBIDDEN);
    },
  );

  test.each(['/update-site', '/remove-site', '/get-rp'])(
    '%s needs a token (the 4.2 exemptions are not 4.1 ones)',
    async (path) => {
      const site = await restSite('4.1');
      const answer = await https('4.1', path, { oxd_id: site.oxdId });
      expect(answer.status).toBe(403);
      expect(answer.json).toEqual(FORBIDDEN);
    },
  );

  test("another site's token: 403 invalid_access_token", async () => {
    const [site, other] = [await restSite('4.1'), await restSite('4.1')];
    const answer = await https(
      '4.1',
      '/get-authorization-url',
      { oxd_id: site.oxdId },
      bearer(other.token),
    );
    expect(answer.status).toBe(403);
    expect(answer.json).toMatchObject({ error: 'invalid_access_token' });
  });

  test('an empty body: 400 "Invalid parameters. Message: No content to map…"', async () => {
    const site = await restSite('4.1');
    const answer = await https('4.1', '/get-authorization-url', '', bearer(site.token));
    expect(answer.status).toBe(400);
    expect(answer.text).toMatch(/^Invalid parameters\. Message: No content to map/);
  });
});

describe('10. answer shapes', () => {
  test.each(['3.1.4', '4.1', '4.2'] as Profile[])(
    "%s - introspect_access_token's scope as oxAuth's IntrospectionResponse writes it",
    async (version) => {
      let data: Record<string, unknown>;
      if (version.startsWith('3.')) {
        const site = await setupSite(version);
        data = await okSocket(version, 'introspect_access_token', {
          oxd_id: site.oxdId,
          access_token: site.token,
        });
      } else {
        const site = await restSite(version);
        const answer = await https(
          version,
          '/introspect-access-token',
          { oxd_id: site.oxdId, access_token: site.token },
          bearer(site.token),
        );
        data = answer.json as Record<string, unknown>;
      }
      expect([...(data.scope as string[])].sort()).toEqual(['openid', 'oxd']);
      // 3.1 writes the list a second time as `scopes`; 4.1.3 and 4.2.3 do not.
      if (version.startsWith('3.')) expect(data.scopes).toEqual(data.scope);
      else expect(data).not.toHaveProperty('scopes');
    },
  );

  test('3.1 introspect_rpt writes sub, aud and jti as null (CorrectRptIntrospectionResponse)', async () => {
    const site = await setupSite('3.1.4');
    await okSocket('3.1.4', 'uma_rs_protect', { oxd_id: site.oxdId, resources: PHOTOS });
    const check = await okSocket('3.1.4', 'uma_rs_check_access', {
      oxd_id: site.oxdId,
      rpt: '',
      path: '/photos',
      http_method: 'GET',
    });
    const rpt = await okSocket('3.1.4', 'uma_rp_get_rpt', {
      oxd_id: site.oxdId,
      ticket: check.ticket,
    });
    const { reply } = await socketCall('3.1.4', 'introspect_rpt', {
      oxd_id: site.oxdId,
      rpt: rpt.access_token,
    });
    expect(reply.data).toMatchObject({ active: true, sub: null, aud: null, jti: null });
    expect(Object.keys(reply.data as object)).toEqual([
      'active',
      'exp',
      'iat',
      'nbf',
      'permissions',
      'client_id',
      'sub',
      'aud',
      'iss',
      'jti',
    ]);
  });

  test.each(V4)(
    '%s - invalid_ticket comes back through UmaNeedInfoResponse: no error_description',
    async (version) => {
      const site = await restSite(version);
      const answer = await https(
        version,
        '/uma-rp-get-rpt',
        { oxd_id: site.oxdId, ticket: 'a-ticket-the-as-never-issued' },
        bearer(site.token),
      );
      expect(answer.status).toBe(400);
      expect(answer.json).toMatchObject({ error: 'invalid_ticket' });
      expect(answer.json).not.toHaveProperty('error_description');
    },
  );
});

describe('11. smaller things', () => {
  test.each(['3.1.4', '4.2'] as Profile[])(
    '%s - redirect_uri is put unencoded in the authorization URL (GetAuthorizationUrlOperation)',
    async (version) => {
      let url: string;
      if (version.startsWith('3.')) {
        const site = await setupSite(version);
        url = (await okSocket(version, 'get_authorization_url', { oxd_id: site.oxdId }))
          .authorization_url as string;
      } else {
        const site = await restSite(version);
        const answer = await https(
          version,
          '/get-authorization-url',
          { oxd_id: site.oxdId },
          bearer(site.token),
        );
        url = (answer.json as { authorization_url: string }).authorization_url;
      }
      expect(url).toContain(`&redirect_uri=${REDIRECT}&`);
      expect(new URL(url).searchParams.get('redirect_uri')).toBe(REDIRECT);
    },
  );

  test('error_description texts are those of ErrorResponseCode', async () => {
    const { reply } = await socketCall('3.1.4', 'get_authorization_url', { oxd_id: 'unknown' });
    expect(reply.data).toEqual({
      error: 'invalid_oxd_id',
      error_description:
        'Invalid oxd_id. Unable to find site for oxd_id. It does not exist or removed from the server. Please use register_site command to register a site.',
      details: null,
    });
    const missing = await socketCall('3.1.4', 'get_authorization_url', {});
    expect(missing.reply.data).toMatchObject({
      error: 'bad_request',
      error_description:
        'oxd_id is empty or not specified or is otherwise invalid (not registered).',
    });
    const blank = await https('4.2', '/get-authorization-url', { oxd_id: 'unknown' });
    expect(blank.json).toEqual({
      error: 'blank_access_token',
      error_description:
        'access_token is blank. Command is protected by access_token, please provide valid token or otherwise switch off protection in configuration with protect_commands_with_access_token=false',
    });
  });
});
