/**
 * ID token checks as oxd makes them: signature against the OP's JWKS, issuer, audience,
 * expiry, nonce and the `at_hash` / `c_hash` claims, each failure with oxd's error code.
 * jose is ESM-only, so it is loaded with a dynamic import.
 */
import { createHash } from 'node:crypto';
import { CommandFailure } from './failure';
import type { OpClient } from './op-client';

type Jose = typeof import('jose', { with: { 'resolution-mode': 'import' } });
let jose: Promise<Jose> | undefined;
function loadJose(): Promise<Jose> {
  jose ??= import('jose');
  return jose;
}

/** Clock skew allowed on `exp`, in seconds. */
const CLOCK_TOLERANCE_S = 30;

export type IdTokenClaims = Record<string, unknown>;

export interface IdTokenExpectations {
  opHost: string;
  clientId: string;
  /** When given, the token's `nonce` must equal it. */
  nonce?: string | undefined;
  /** When given and the token has `at_hash`, it must match. */
  accessToken?: string | undefined;
  /** When given and the token has `c_hash`, it must match. */
  code?: string | undefined;
  /** Reject expired tokens (default true). */
  checkExpiry?: boolean;
}

function fail(error: string, description: string): never {
  throw new CommandFailure(error, description);
}

/** The left half of the alg's SHA-2 digest of `value`, base64url (OIDC `at_hash`/`c_hash`). */
export function halfHash(alg: string, value: string): string {
  const bits = /(384|512)$/.exec(alg)?.[1] ?? (alg === 'EdDSA' ? '512' : '256');
  const digest = createHash(`sha${bits}`).update(value, 'ascii').digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}

/** Decodes a JWT's claims without checking anything; fails with `invalid_id_token`. */
export async function decodeIdToken(idToken: string): Promise<IdTokenClaims> {
  const { decodeJwt } = await loadJose();
  try {
    return decodeJwt(idToken) as IdTokenClaims;
  } catch (err) {
    return fail('invalid_id_token', `id_token is not a JWT: ${(err as Error).message}`);
  }
}

/** Verifies the signature; resolves the alg used, or fails with `invalid_id_token_bad_signature`. */
async function verifySignature(op: OpClient, opHost: string, idToken: string): Promise<string> {
  const { compactVerify, createLocalJWKSet, decodeProtectedHeader } = await loadJose();
  let alg: string | undefined;
  try {
    alg = decodeProtectedHeader(idToken).alg;
  } catch (err) {
    fail('invalid_id_token', `id_token is not a JWT: ${(err as Error).message}`);
  }
  if (!alg || alg === 'none' || alg.startsWith('HS')) {
    fail(
      'invalid_id_token_bad_signature',
      `id_token must be signed with one of the OP's keys, not with alg ${alg ?? '(none)'}.`,
    );
  }
  for (const refresh of [false, true]) {
    const keys = createLocalJWKSet(
      (await op.jwks(opHost, refresh)) as Parameters<typeof createLocalJWKSet>[0],
    );
    try {
      await compactVerify(idToken, keys);
      return alg;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ERR_JWKS_NO_MATCHING_KEY' && !refresh) continue;
      fail(
        'invalid_id_token_bad_signature',
        `id_token signature is invalid: ${(err as Error).message}`,
      );
    }
  }
  return fail(
    'invalid_id_token_bad_signature',
    'id_token is signed with a key the OP does not publish.',
  );
}

/** Verifies `idToken` fully and returns its claims. */
export async function verifyIdToken(
  op: OpClient,
  idToken: string,
  expected: IdTokenExpectations,
): Promise<IdTokenClaims> {
  const claims = await decodeIdToken(idToken);
  const alg = await verifySignature(op, expected.opHost, idToken);
  const issuer = (await op.discovery(expected.opHost)).issuer;
  if (claims.iss !== issuer) {
    fail('invalid_id_token_bad_issuer', `id_token iss ${String(claims.iss)} is not ${issuer}.`);
  }
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!audiences.includes(expected.clientId)) {
    fail(
      'invalid_id_token_bad_audience',
      `id_token aud does not contain the site's client_id ${expected.clientId}.`,
    );
  }
  if (expected.checkExpiry !== false && isExpired(claims)) {
    fail('invalid_id_token_expired', 'id_token has expired.');
  }
  if (expected.nonce !== undefined && claims.nonce !== expected.nonce) {
    fail(
      'invalid_id_token_bad_nonce',
      'id_token nonce does not match the nonce of the authorization request.',
    );
  }
  if (
    expected.accessToken !== undefined &&
    typeof claims.at_hash === 'string' &&
    claims.at_hash !== halfHash(alg, expected.accessToken)
  ) {
    fail('invalid_access_token_bad_hash', 'id_token at_hash does not match the access token.');
  }
  if (
    expected.code !== undefined &&
    typeof claims.c_hash === 'string' &&
    claims.c_hash !== halfHash(alg, expected.code)
  ) {
    fail(
      'invalid_authorization_code_bad_hash',
      'id_token c_hash does not match the authorization code.',
    );
  }
  return claims;
}

export function isExpired(claims: IdTokenClaims, nowMs: number = Date.now()): boolean {
  return typeof claims.exp !== 'number' || claims.exp + CLOCK_TOLERANCE_S <= nowMs / 1000;
}

/** The signing alg named in the token's header. */
export async function idTokenAlg(idToken: string): Promise<string> {
  const { decodeProtectedHeader } = await loadJose();
  return decodeProtectedHeader(idToken).alg ?? 'RS256';
}
