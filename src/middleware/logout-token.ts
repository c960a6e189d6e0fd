/**
 * The signature of a back-channel `logout_token` (OpenID Connect Back-Channel Logout 1.0
 * §2.6): verified with one of the OP's keys, under an algorithm bound to that key's type and
 * curve (RFC 8725 §3.1). A key of another type (an Ed25519 key under `RS256`) is skipped, never
 * an error. The claims are checked by the back-channel route.
 */
import { constants, verify, type KeyObject } from 'node:crypto';

export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

/** A token (or request) that is refused with 400 and this message. */
export class LogoutTokenError extends Error {}

/** Where the OP's keys come from: candidates for a `kid` (any when absent) and an `alg`. */
export interface KeySource {
  find(kid: string | undefined, alg: string): Promise<KeyObject[]>;
}

interface Algorithm {
  hash: string;
  /** The only key type (`KeyObject.asymmetricKeyType`) that may verify it. */
  keyType: 'rsa' | 'ec';
  /** For ECDSA: the only curve (`asymmetricKeyDetails.namedCurve`). */
  curve?: string;
  padding?: number;
}

/** The JWS algorithms accepted (asymmetric only; never `none`), each bound to its key type. */
const ALGORITHMS: Readonly<Record<string, Algorithm>> = {
  RS256: { hash: 'sha256', keyType: 'rsa' },
  RS384: { hash: 'sha384', keyType: 'rsa' },
  RS512: { hash: 'sha512', keyType: 'rsa' },
  PS256: { hash: 'sha256', keyType: 'rsa', padding: constants.RSA_PKCS1_PSS_PADDING },
  PS384: { hash: 'sha384', keyType: 'rsa', padding: constants.RSA_PKCS1_PSS_PADDING },
  PS512: { hash: 'sha512', keyType: 'rsa', padding: constants.RSA_PKCS1_PSS_PADDING },
  ES256: { hash: 'sha256', keyType: 'ec', curve: 'prime256v1' },
  ES384: { hash: 'sha384', keyType: 'ec', curve: 'secp384r1' },
  ES512: { hash: 'sha512', keyType: 'ec', curve: 'secp521r1' },
};

/** True when `key` is of the type (and curve) `algorithm` is defined for. */
function keyFits(key: KeyObject, algorithm: Algorithm): boolean {
  if (key.asymmetricKeyType !== algorithm.keyType) return false;
  return algorithm.curve === undefined || key.asymmetricKeyDetails?.namedCurve === algorithm.curve;
}

/** Whether `signature` over `data` verifies with `key`; a key node:crypto refuses is `false`. */
function signatureVerifies(
  algorithm: Algorithm,
  key: KeyObject,
  data: Buffer,
  signature: Buffer,
): boolean {
  try {
    return verify(
      algorithm.hash,
      data,
      {
        key,
        ...(algorithm.padding === undefined
          ? {}
          : { padding: algorithm.padding, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }),
        ...(algorithm.keyType === 'ec' ? { dsaEncoding: 'ieee-p1363' as const } : {}),
      },
      signature,
    );
  } catch {
    return false;
  }
}

function decodeJson(part: string, what: string): Record<string, unknown> {
  try {
    const value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as unknown;
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      return value as Record<string, unknown>;
    }
  } catch {
    // fall through
  }
  throw new LogoutTokenError(`the logout_token ${what} is not a JSON object`);
}

/**
 * Checks the signature with one of the OP's keys whose type (and curve) the header's `alg`
 * is defined for; resolves the payload, whose claims the caller checks.
 */
export async function verifiedPayload(
  keys: KeySource,
  token: string,
): Promise<Record<string, unknown>> {
  const parts = token.split('.');
  if (parts.length !== 3 || parts.some((part) => !/^[\w-]+$/.test(part))) {
    throw new LogoutTokenError('the logout_token is not a signed JWT');
  }
  const [head = '', body = '', signature = ''] = parts;
  const header = decodeJson(head, 'header');
  const alg = typeof header.alg === 'string' ? header.alg : '';
  const algorithm = Object.hasOwn(ALGORITHMS, alg) ? ALGORITHMS[alg] : undefined;
  if (!algorithm) {
    throw new LogoutTokenError(`the logout_token algorithm ${alg || '(none)'} is not accepted`);
  }
  const kid = typeof header.kid === 'string' ? header.kid : undefined;
  const candidates = (await keys.find(kid, alg)).filter((key) => keyFits(key, algorithm));
  const data = Buffer.from(`${head}.${body}`);
  const sig = Buffer.from(signature, 'base64url');
  if (!candidates.some((key) => signatureVerifies(algorithm, key, data, sig))) {
    throw new LogoutTokenError(
      `the logout_token signature does not verify with an OP key of the type ${alg} needs`,
    );
  }
  return decodeJson(body, 'payload');
}
