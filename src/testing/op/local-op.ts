import { generateKeyPair, randomBytes, type JsonWebKey, type KeyObject } from 'node:crypto';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { isIP } from 'node:net';
import { debuglog, promisify } from 'node:util';

import { createSelfSignedCertificate, type Certificate } from './certificate';
import { buildProviderConfiguration, INTERACTION_PATH } from './configuration';
import { OpDataDir } from './data-dir';
import {
  frontchannelLogoutMiddleware,
  includeSidForFrontchannelClients,
} from './frontchannel-logout';
import { handlesReleased, listen } from '../listen';
import { createInteractionHandler } from './interactions';
import type { Provider, ProviderConstructor } from './provider-types';
import { DEFAULT_TEST_USERS, validateUsers, type TestUser } from './users';

export type { TestUser } from './users';

const log = debuglog('express-oxd');

export interface LocalOpOptions {
  /** TCP port; `0` (default) picks a free one. */
  port?: number;
  /** Interface to listen on and host of the issuer URL. Default `127.0.0.1`. */
  host?: string;
  /** Accounts that can sign in. Default: four test users (jane, john, alex, and ada, the administrator). */
  users?: readonly TestUser[];
  /** Lifetime of access tokens and client_credentials tokens, in seconds. Default 3600. */
  accessTokenTtl?: number;
  /** Lifetime of ID tokens, in seconds. Default 3600. */
  idTokenTtl?: number;
  /** Lifetime of refresh tokens, in seconds. Default 86400. */
  refreshTokenTtl?: number;
  /**
   * Issue a new refresh token on every refresh and invalidate the one used (replaying it
   * revokes the whole grant). Default `false`: the same refresh token stays valid.
   */
  rotateRefreshToken?: boolean;
  /**
   * Publish an `end_session_endpoint` (RP-initiated logout, with front-channel logout).
   * Default `true`; `false` stands for an OP without logout (as some public OPs are).
   */
  endSession?: boolean;
  /** TLS key and certificate. Default: a fresh self-signed one for 127.0.0.1 and localhost. */
  certificate?: Certificate;
  /**
   * Directory where registered clients (with their registration access tokens) and the ID
   * token signing keys are kept across restarts; created when missing. Sessions and tokens
   * are never persisted. Default: nothing is written to disk.
   */
  dataDir?: string;
}

/** A running local OpenID Provider. */
export interface LocalOp {
  /** Issuer identifier, `https://127.0.0.1:<port>`; discovery is at `/.well-known/openid-configuration`. */
  readonly issuer: string;
  readonly port: number;
  /** PEM certificate to trust when calling the OP (undici `new Agent({ connect: { ca } })`). */
  readonly ca: string;
  /** The accounts that can sign in. */
  readonly users: readonly TestUser[];
  /** Stops listening and closes every connection, including keep-alive ones. Idempotent. */
  close(): Promise<void>;
}

const DEFAULTS = {
  port: 0,
  host: '127.0.0.1',
  accessTokenTtl: 3600,
  idTokenTtl: 3600,
  refreshTokenTtl: 24 * 60 * 60,
  rotateRefreshToken: false,
  endSession: true,
} as const;

const generateKeyPairAsync = promisify(generateKeyPair);

/**
 * Starts an OpenID Provider (oidc-provider 9) over HTTPS with discovery, open dynamic client
 * registration (RFC 7591) and its management (RFC 7592), the authorization code flow (PKCE
 * optional), refresh tokens for every client allowed the `refresh_token` grant, userinfo,
 * introspection, revocation, client_credentials (scopes `oxd`, `uma_protection`, ...),
 * RP-initiated logout with front-channel logout, and a real HTML login form. Consent is
 * granted automatically. State lives in memory and ends with `close()`, except what
 * `dataDir` keeps.
 */
export async function startLocalOp(options: LocalOpOptions = {}): Promise<LocalOp> {
  const settings = { ...DEFAULTS, ...withoutUndefined(options) };
  checkPort(settings.port);
  checkTtl('accessTokenTtl', settings.accessTokenTtl);
  checkTtl('idTokenTtl', settings.idTokenTtl);
  checkTtl('refreshTokenTtl', settings.refreshTokenTtl);
  if (typeof settings.host !== 'string' || settings.host === '') {
    throw new TypeError('startLocalOp: host must be a non-empty string such as "127.0.0.1"');
  }
  const users = Object.freeze(
    (options.users ?? DEFAULT_TEST_USERS).map((user) => Object.freeze(structuredClone(user))),
  );
  validateUsers(users);

  const dataDir = options.dataDir === undefined ? undefined : await OpDataDir.open(options.dataDir);
  const [module, certificate, keys, persistence] = await Promise.all([
    loadOidcProvider(),
    options.certificate ?? createSelfSignedCertificate(certificateNamesFor(settings.host)),
    dataDir === undefined ? getSigningKeys() : dataDir.signingKeys(createSigningKeys),
    dataDir?.persistence(),
  ]);

  const server = createServer({ key: certificate.key, cert: certificate.cert });
  await listen(server, settings.port, settings.host);
  const { port } = server.address() as AddressInfo;
  const issuer = `https://${isIP(settings.host) === 6 ? `[${settings.host}]` : settings.host}:${port}`;

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= new Promise<void>((resolve, reject) => {
      server.close((err) => (err ? reject(err) : resolve()));
      server.closeAllConnections();
    })
      .then(() => dataDir?.flush())
      .then(handlesReleased);
    return closing;
  };

  try {
    const provider = new module.Provider(
      issuer,
      buildProviderConfiguration({
        users,
        accessTokenTtl: settings.accessTokenTtl,
        idTokenTtl: settings.idTokenTtl,
        refreshTokenTtl: settings.refreshTokenTtl,
        rotateRefreshToken: settings.rotateRefreshToken,
        endSession: settings.endSession,
        signingKeys: structuredClone(keys),
        persistence,
        cookieKeys: [randomBytes(32).toString('base64url')],
        InvalidClientMetadata: module.InvalidClientMetadata,
      }),
    );
    provider.on('server_error', (_ctx, err) => {
      log('local OP server_error: %s', (err as Error)?.stack ?? err);
    });
    acceptUmaTicketGrant(provider, module.InvalidGrant);
    includeSidForFrontchannelClients(provider);
    provider.use(frontchannelLogoutMiddleware(provider));

    const handleProvider = provider.callback();
    const handleInteraction = createInteractionHandler(provider, users);
    server.on('request', (req, res) => {
      if ((req.url ?? '').startsWith(INTERACTION_PATH)) {
        handleInteraction(req, res).catch((err: unknown) => {
          log('local OP interaction failed: %s', (err as Error)?.stack ?? err);
          res.destroy();
        });
      } else {
        handleProvider(req, res);
      }
    });
  } catch (err) {
    await close();
    throw err;
  }

  log('local OP listening at %s', issuer);
  return Object.freeze({ issuer, port, ca: certificate.cert, users, close });
}

/** The UMA 2.0 grant type, which Gluu's OP accepts in client metadata. */
export const UMA_TICKET_GRANT = 'urn:ietf:params:oauth:grant-type:uma-ticket';

/**
 * Lets clients register `UMA_TICKET_GRANT` (oxd sites ask for it, and Gluu's OP accepts it).
 * Tickets themselves are exchanged at the local oxd server's UMA authorization server
 * (uma_rp_get_rpt), so this token endpoint answers such a request with `invalid_grant`.
 */
function acceptUmaTicketGrant(
  provider: Provider,
  InvalidGrant: new (description: string) => Error,
): void {
  provider.registerGrantType(UMA_TICKET_GRANT, async () => {
    throw new InvalidGrant(
      'UMA tickets are exchanged at the local oxd server (uma_rp_get_rpt), not at this OP',
    );
  }, ['ticket', 'rpt', 'pct', 'claim_token', 'claim_token_format']);
}

interface OidcProviderModule {
  Provider: ProviderConstructor;
  InvalidClientMetadata: new (description: string) => Error;
  InvalidGrant: new (description: string) => Error;
}

/** oidc-provider is ESM-only: `import()` keeps working from this CommonJS build. */
async function loadOidcProvider(): Promise<OidcProviderModule> {
  const specifier = 'oidc-provider';
  let loaded: {
    default: ProviderConstructor;
    errors: {
      InvalidClientMetadata: new (description: string) => Error;
      InvalidGrant: new (description: string) => Error;
    };
  };
  try {
    loaded = await import(specifier);
  } catch (cause) {
    throw new Error(
      'The local OpenID Provider needs the optional package "oidc-provider" (npm install --save-dev oidc-provider@9).',
      { cause },
    );
  }
  return {
    Provider: loaded.default,
    InvalidClientMetadata: loaded.errors.InvalidClientMetadata,
    InvalidGrant: loaded.errors.InvalidGrant,
  };
}

let signingKeys: Promise<JsonWebKey[]> | undefined;

/**
 * The ID token signing keys, made once per process: RSA key generation dominates start-up
 * time, and each OP still has its own issuer, so tokens of one OP never verify at another.
 */
function getSigningKeys(): Promise<JsonWebKey[]> {
  signingKeys ??= createSigningKeys().catch((err: unknown) => {
    signingKeys = undefined;
    throw err;
  });
  return signingKeys;
}

/** One RSA key (RS256, what oxd expects by default) and one P-256 key (ES256). */
async function createSigningKeys(): Promise<JsonWebKey[]> {
  const [rsa, ec] = await Promise.all([
    generateKeyPairAsync('rsa', { modulusLength: 2048 }),
    generateKeyPairAsync('ec', { namedCurve: 'P-256' }),
  ]);
  const toJwk = (key: KeyObject, kid: string): JsonWebKey => ({
    ...key.export({ format: 'jwk' }),
    kid,
    use: 'sig',
  });
  const suffix = randomBytes(6).toString('base64url');
  return [toJwk(rsa.privateKey, `rsa-${suffix}`), toJwk(ec.privateKey, `ec-${suffix}`)];
}

function certificateNamesFor(host: string) {
  return isIP(host) === 0
    ? { altIps: ['127.0.0.1'], altNames: [...new Set(['localhost', host])] }
    : { altIps: [...new Set(['127.0.0.1', host])], altNames: ['localhost'] };
}

function checkPort(port: unknown): void {
  if (!Number.isInteger(port) || (port as number) < 0 || (port as number) > 65535) {
    throw new TypeError(
      `startLocalOp: port must be an integer from 0 to 65535, got ${String(port)}`,
    );
  }
}

function checkTtl(name: string, value: unknown): void {
  if (!Number.isInteger(value) || (value as number) < 1) {
    throw new TypeError(
      `startLocalOp: ${name} must be a whole number of seconds (1 or more), got ${String(value)}`,
    );
  }
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(value).filter(([, entry]) => entry !== undefined),
  ) as Partial<T>;
}
