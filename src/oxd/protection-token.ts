/**
 * The protection access token oxd wants with every command (HTTPS always, the 3.x socket when
 * `protect_commands` is on): how it is requested, when it counts as expired or rejected, and
 * a cache that renews it one fetch at a time.
 */
import type { ClientSettings, ServerVersion } from '../config/types';
import { OxdConfigError } from '../errors';
import type { ResultOf } from './commands';
import type { OxdReply } from './transport';

/** Scope of the protection access token: oxd checks for `oxd`. */
const TOKEN_SCOPE = ['openid', 'oxd'];
/** A token is renewed this long before oxd's `expires_in` runs out (at most 10% of it). */
const TOKEN_EXPIRY_MARGIN_MS = 30_000;

/** oxd errors meaning the protection token was missing, unknown or expired. */
const REJECTED_TOKEN_ERRORS = new Set([
  'blank_access_token',
  'invalid_access_token',
  'inactive_access_token',
  'blank_protection_access_token',
  'invalid_protection_access_token',
  'inactive_protection_access_token',
  // 3.x https-extension: `Forbidden Access` for a missing or malformed Bearer header.
  '403',
]);

export interface Token {
  value: string;
  /** Epoch milliseconds after which the token is renewed before use. */
  expiresAt: number;
}

/**
 * True when oxd refused a command because of its protection token: one of oxd's token
 * errors, or a bare HTTP 401/403 (a Dropwizard or proxy answer without oxd's own error).
 */
export function isRejectedToken(reply: Extract<OxdReply, { ok: false }>): boolean {
  return (
    REJECTED_TOKEN_ERRORS.has(reply.error) ||
    ((reply.httpStatus === 401 || reply.httpStatus === 403) &&
      reply.error === `http_status_${reply.httpStatus}`)
  );
}

/** `get_client_token` params for the site's client (3.x: the setup client). */
export function clientTokenParams(
  credentials: { clientId?: string | undefined; clientSecret?: string | undefined },
  client: ClientSettings,
  version: ServerVersion,
): Record<string, unknown> {
  const { clientId, clientSecret } = credentials;
  if (!clientId || !clientSecret) {
    throw new OxdConfigError(
      'a protection access token is needed but [client] client_id/client_secret are not known; ' +
        'clear [oxd] id so that the site is registered again',
      { key: 'client_id' },
    );
  }
  const where = {
    op_host: client.opHost,
    op_discovery_path: client.opDiscoveryPath,
    op_configuration_endpoint: version === 4 ? client.opConfigurationEndpoint : undefined,
  };
  return {
    client_id: clientId,
    client_secret: clientSecret,
    ...Object.fromEntries(Object.entries(where).filter(([, v]) => v !== undefined && v !== null)),
    scope: TOKEN_SCOPE,
  };
}

/** The token of a `get_client_token` answer; without a lifetime it is used until rejected. */
export function tokenOf(result: ResultOf<'getClientToken'>, now: number): Token {
  const lifetimeMs = result.expires_in === undefined ? 0 : result.expires_in * 1000;
  const expiresAt =
    lifetimeMs > 0
      ? now + lifetimeMs - Math.min(TOKEN_EXPIRY_MARGIN_MS, lifetimeMs / 10)
      : Number.POSITIVE_INFINITY;
  return { value: result.access_token, expiresAt };
}

/** The cached token. Concurrent renewals share one fetch. */
export class ProtectionToken {
  private token: Token | undefined;
  private renewing: Promise<string> | undefined;

  /**
   * @param fetch obtains a new token from oxd.
   * @param onFetched runs once a fetched token is cached (to save it); its failure fails
   *   the renewal, the token stays cached.
   */
  constructor(
    private readonly fetch: () => Promise<Token>,
    private readonly onFetched: (token: Token) => Promise<void>,
    private readonly now: () => number,
  ) {}

  /** Whether a token is cached (expired or not). */
  get known(): boolean {
    return this.token !== undefined;
  }

  /** Caches a token whose lifetime is unknown (from the configuration): used until rejected. */
  adopt(value: string): void {
    this.token = { value, expiresAt: Number.POSITIVE_INFINITY };
  }

  clear(): void {
    this.token = undefined;
  }

  /** A usable token: the cached one unless it is about to expire. */
  current(): Promise<string> {
    const token = this.token;
    if (token && this.now() < token.expiresAt) return Promise.resolve(token.value);
    return this.renew(token?.value);
  }

  /** Renews the token unless someone already replaced `stale`; one fetch at a time. */
  renew(stale: string | undefined): Promise<string> {
    const token = this.token;
    if (token && token.value !== stale && this.now() < token.expiresAt) {
      return Promise.resolve(token.value);
    }
    this.renewing ??= this.fetchAndCache().finally(() => {
      this.renewing = undefined;
    });
    return this.renewing;
  }

  private async fetchAndCache(): Promise<string> {
    const token = await this.fetch();
    this.token = token;
    await this.onFetched(token);
    return token.value;
  }
}
