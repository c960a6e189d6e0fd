/**
 * Test doubles for the client's own seam: an explicit configuration builder and a
 * transport that records requests and answers from a script.
 */
import type { ClientSettings, OxdConfig, OxdSettings } from '../../src/config/types';
import type { OxdReply, OxdRequest, Transport } from '../../src/oxd/transport';

export function testConfig(
  oxd: Partial<OxdSettings> = {},
  client: Partial<ClientSettings> = {},
  file?: string,
): OxdConfig {
  return {
    oxd: {
      host: '127.0.0.1',
      port: 8099,
      https: false,
      serverVersion: 3,
      oxdId: undefined,
      protectCommands: false,
      connectTimeoutMs: 5000,
      responseTimeoutMs: 10000,
      poolSize: 2,
      maxQueued: 100,
      maxResponseBytes: 1048576,
      ca: undefined,
      caFile: undefined,
      ...oxd,
    },
    client: {
      opHost: 'https://op.example.test',
      opDiscoveryPath: undefined,
      opConfigurationEndpoint: undefined,
      opCaFile: undefined,
      opCa: undefined,
      authorizationRedirectUri: 'https://rp.example.test/callback',
      redirectUris: [],
      postLogoutRedirectUri: 'https://rp.example.test/bye',
      clientFrontchannelLogoutUris: ['https://rp.example.test/logout'],
      scope: ['openid', 'profile'],
      responseTypes: ['code'],
      grantTypes: ['authorization_code'],
      acrValues: [],
      contacts: [],
      uiLocales: [],
      claimsLocales: [],
      claimsRedirectUri: [],
      clientRequestUris: [],
      clientName: 'Test RP',
      clientJwksUri: undefined,
      clientTokenEndpointAuthMethod: undefined,
      clientSectorIdentifierUri: undefined,
      applicationType: undefined,
      clientId: undefined,
      clientSecret: undefined,
      clientRegistrationAccessToken: undefined,
      clientRegistrationClientUri: undefined,
      protectionAccessToken: undefined,
      ...client,
    },
    file,
  };
}

export type Answer = (request: OxdRequest, index: number) => OxdReply | Promise<OxdReply>;

export function ok(data: Record<string, unknown>): OxdReply {
  return { ok: true, data };
}

export function fail(
  error: string,
  extra: Partial<Extract<OxdReply, { ok: false }>> = {},
): OxdReply {
  return { ok: false, error, error_description: `${error} happened`, ...extra };
}

/** Records every request; answers asynchronously (a macrotask later) from `answer`. */
export class ScriptedTransport implements Transport {
  readonly requests: OxdRequest[] = [];
  closed = false;

  constructor(
    readonly kind: 'socket' | 'https',
    private readonly answer: Answer,
  ) {}

  async send(request: OxdRequest): Promise<OxdReply> {
    const index = this.requests.push(request) - 1;
    await new Promise((resolve) => setImmediate(resolve));
    return this.answer(request, index);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  commands(): string[] {
    return this.requests.map((r) => r.command);
  }

  count(command: string): number {
    return this.requests.filter((r) => r.command === command).length;
  }
}

/**
 * A well-behaved oxd: registration commands succeed, tokens are numbered `tok-1`, `tok-2`…,
 * the other commands answer a well-formed result (`{oxd_id}` for the rest).
 */
export function oxdScript(overrides: Record<string, Answer> = {}): Answer {
  let tokens = 0;
  return (request, index) => {
    const override = overrides[request.command];
    if (override) return override(request, index);
    switch (request.command) {
      case 'register_site':
        return ok({ oxd_id: 'site-1', client_id: 'c-1', client_secret: 's-1', op_host: null });
      case 'setup_client':
        return ok({
          oxd_id: 'site-1',
          client_id: 'setup-c',
          client_secret: 'setup-s',
          client_registration_access_token: 'rat-1',
          client_registration_client_uri: 'https://op.example.test/register/1',
          client_id_issued_at: 1700000000,
        });
      case 'get_client_token':
        tokens += 1;
        return ok({ access_token: `tok-${tokens}`, expires_in: 300, scope: 'openid oxd' });
      case 'get_authorization_url':
        return ok({
          authorization_url: `https://op.example.test/authorize?for=${String(request.params.oxd_id)}`,
        });
      case 'get_logout_uri':
        return ok({ uri: 'https://op.example.test/end_session' });
      case 'get_tokens_by_code':
        return ok({
          access_token: 'at',
          expires_in: 300,
          id_token: 'idt',
          refresh_token: null,
          id_token_claims: { sub: 'jane' },
        });
      case 'id_token_status':
        return ok({ active: true });
      default:
        return ok({ oxd_id: request.params.oxd_id ?? null });
    }
  };
}
