/**
 * Gluu's own Node client, oxd-node 3.1.4, against the local oxd server reproducing oxd 3.1.4:
 * register (or set up) a site, build the authorization URL, log jane in at the local OP,
 * exchange the code, read user info and get the logout URI, over the socket and over the
 * https-extension envelope. oxd-node's own limits are respected: it opens one connection
 * per command, reads the first chunk as the whole answer and silently sends nothing of
 * 1000 characters or more (so no id_token_hint over its socket). Where it is wrong, a
 * 100-character request framed as `00100…`, the test shows what real oxd answers.
 */
import { globalAgent } from 'node:https';
import { useLocalStack } from '../helpers/local-stack';
import { submitOpLogin } from '../../src/testing/op-login';

// oxd-node is plain CommonJS without type declarations.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const createOxdNode = require('oxd-node') as (config: Record<string, unknown>) => OxdNode;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const oxdNodeUtility = require('oxd-node/utility') as {
  oxdSocketRequest(
    port: number,
    host: string,
    params: Record<string, unknown>,
    command: string,
    callback: (err: unknown, response: Envelope) => void,
  ): void;
};

type Envelope = { status: string; data: Record<string, unknown> };
type Callback = (err: unknown, response: Envelope) => void;
type OxdNode = Record<string, (params: Record<string, unknown>, callback: Callback) => void>;

const REDIRECT = 'https://rp.example/oxd-node/callback';
const BYE = 'https://rp.example/oxd-node/bye';
const INTERNAL_ERROR_REPLY = {
  status: 'error',
  data: {
    error: 'internal_error',
    error_description: 'Unknown internal server error occurs.',
    details: null,
  },
};

const stack = useLocalStack({ oxdVersion: '3.1.4' });

beforeEach(() => {
  // oxd-node logs every request and answer, tokens included.
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
});

afterEach(() => {
  jest.restoreAllMocks();
});

/**
 * One oxd-node call. Its HTTPS helper sets `NODE_TLS_REJECT_UNAUTHORIZED=0` to accept any
 * certificate; the previous value is put back once it answered (and the HTTPS tests make it
 * trust the local oxd's certificate instead, see below).
 */
function call(client: OxdNode, method: string, params: Record<string, unknown>): Promise<Envelope> {
  const saved = process.env.NODE_TLS_REJECT_UNAUTHORIZED;
  const restore = () => {
    if (saved === undefined) delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
    else process.env.NODE_TLS_REJECT_UNAUTHORIZED = saved;
  };
  const fn = client[method];
  if (!fn) throw new Error(`oxd-node has no ${method}`);
  return new Promise<Envelope>((resolve, reject) => {
    const timer = setTimeout(() => {
      restore();
      reject(new Error(`oxd-node ${method}: no answer within 15 s`));
    }, 15_000);
    fn(params, (err, response) => {
      clearTimeout(timer);
      restore();
      if (err) reject(new Error(`oxd-node ${method} failed: ${JSON.stringify(err)}`));
      else resolve(response);
    });
  });
}

async function ok(
  client: OxdNode,
  method: string,
  params: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const response = await call(client, method, params);
  if (response.status !== 'ok') {
    throw new Error(`oxd-node ${method} answered ${JSON.stringify(response)}`);
  }
  return response.data;
}

/** The login every transport shares, from the authorization URL to the logout URI. */
async function loginFlow(client: OxdNode, oxdId: string, token?: string) {
  const auth = token ? { protection_access_token: token } : {};
  const { authorization_url: url } = await ok(client, 'get_authorization_url', {
    oxd_id: oxdId,
    ...auth,
  });
  const authorization = new URL(url as string);
  expect(authorization.origin).toBe(stack.op.issuer);
  expect(authorization.searchParams.get('redirect_uri')).toBe(REDIRECT);
  const user = stack.op.users[0];
  if (!user) throw new Error('the local OP has no users');
  const callback = await submitOpLogin(url as string, user, stack.op.ca);
  expect(callback.origin + callback.pathname).toBe(REDIRECT);

  const tokens = await ok(client, 'get_tokens_by_code', {
    oxd_id: oxdId,
    code: callback.searchParams.get('code'),
    state: callback.searchParams.get('state'),
    ...auth,
  });
  expect(tokens.access_token).toEqual(expect.any(String));
  expect((tokens.id_token_claims as Record<string, string[]>).sub).toEqual([user.claims.sub]);

  const userInfo = await ok(client, 'get_user_info', {
    oxd_id: oxdId,
    access_token: tokens.access_token,
    ...auth,
  });
  expect((userInfo.claims as Record<string, string[]>).email).toEqual(['jane.doe@example.com']);
  return tokens;
}

describe('oxd-node 3.1.4 over the socket', () => {
  let client: OxdNode;
  beforeAll(() => {
    client = createOxdNode({ host: stack.oxd.host, port: stack.oxd.port, https_extension: false });
  });

  test('register_site, login, get_tokens_by_code, get_user_info, get_logout_uri', async () => {
    const { oxd_id: oxdId } = await ok(client, 'register_site', {
      authorization_redirect_uri: REDIRECT,
      post_logout_redirect_uri: BYE,
      scope: ['openid', 'profile', 'email'],
    });
    expect(oxdId).toEqual(expect.any(String));
    await loginFlow(client, oxdId as string);
    // An ID token would push the request past oxd-node's 999 characters: it would send
    // nothing. oxd 3.1.4 ignores the hint anyway.
    const { uri } = await ok(client, 'get_logout_uri', { oxd_id: oxdId, state: 'bye' });
    expect(uri).toBe(
      `${stack.op.issuer}/session/end?post_logout_redirect_uri=${encodeURIComponent(BYE)}&state=bye`,
    );
  });

  test("oxd-node's 5-digit prefix for a 100-character request gets real oxd's internal_error", async () => {
    const params = { oxd_id: '' };
    const base = JSON.stringify({ command: 'get_rp', params }).length;
    params.oxd_id = 'x'.repeat(100 - base);
    expect(JSON.stringify({ command: 'get_rp', params })).toHaveLength(100);
    const answer = await new Promise<Envelope>((resolve, reject) => {
      oxdNodeUtility.oxdSocketRequest(stack.oxd.port, stack.oxd.host, params, 'get_rp', (err, r) =>
        err ? reject(err) : resolve(r),
      );
    });
    expect(answer).toEqual(INTERNAL_ERROR_REPLY);
  });
});

describe('oxd-node 3.1.4 over the https-extension envelope', () => {
  let client: OxdNode;
  let savedCa: unknown;
  beforeAll(() => {
    client = createOxdNode({ host: `${stack.oxd.httpsUrl}/v3`, https_extension: true });
    // oxd-node's `request` calls go through the global HTTPS agent: trust exactly the local
    // oxd's certificate there rather than rely on turning verification off.
    savedCa = globalAgent.options.ca;
    globalAgent.options.ca = stack.oxd.ca;
  });
  afterAll(() => {
    globalAgent.options.ca = savedCa as typeof globalAgent.options.ca;
  });

  test('setup_client, get_client_token, login, get_tokens_by_code, get_user_info, get_logout_uri', async () => {
    const setup = await ok(client, 'setup_client', {
      authorization_redirect_uri: REDIRECT,
      post_logout_redirect_uri: BYE,
      scope: ['openid', 'profile', 'email'],
    });
    const token = await ok(client, 'get_client_token', {
      client_id: setup.client_id,
      client_secret: setup.client_secret,
      scope: ['oxd'],
    });
    expect(String(token.scope).split(' ').sort()).toEqual(['openid', 'oxd']);
    const accessToken = token.access_token as string;
    const tokens = await loginFlow(client, setup.oxd_id as string, accessToken);
    const { uri } = await ok(client, 'get_logout_uri', {
      oxd_id: setup.oxd_id,
      id_token_hint: tokens.id_token,
      state: 'bye',
      protection_access_token: accessToken,
    });
    // oxd 3.1.4 ignores the hint: a client that needs it on the OP appends it itself.
    expect(uri).toBe(
      `${stack.op.issuer}/session/end?post_logout_redirect_uri=${encodeURIComponent(BYE)}&state=bye`,
    );
  });

  test('without the protection token the extension answers its 403, as oxd-node reports it', async () => {
    await expect(call(client, 'get_authorization_url', { oxd_id: 'any' })).rejects.toThrow(
      /Forbidden Access/,
    );
  });
});
