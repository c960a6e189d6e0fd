/**
 * Command protection as each oxd release enforces it, checked by introspecting the token at
 * the OP.
 *
 * 3.x (socket and /v3/, `ValidationService`): `params.protection_access_token` must be a token
 * of the site's setup client with the `oxd` scope; register_site finds its setup client from
 * the token. Protection off (stock `oxd-conf.json`) still validates a non-blank token: on
 * every protected command in 3.1.3 (`ValidationService`), on register_site in 3.1.4
 * (`RegisterSiteOperation.validateAccessToken`). `update_site` on a setup client's own oxd_id
 * is never checked. 3.1.3 compares only the client id (no `oxd` scope check) and its
 * introspection commands take no token.
 * 4.x (`RestResource`): the `Authorization: Bearer` token must be a token of the site's own
 * client with the `oxd` scope. 4.1 checks every params class with a token but register_site
 * and answers a missing or malformed header with Dropwizard's bare 403; 4.2 checks the
 * commands flagged `authorizationRequired` and never reads the header of the others.
 */
import type { Call, Services } from './call';
import { clientAuthOf } from './call';
import {
  NO_CLIENT_ID_IN_INTROSPECTION_TEXT,
  NO_SETUP_CLIENT_TEXT,
  tokenTexts,
} from './error-texts';
import { CommandFailure, dropwizardError } from './failure';
import type { V3Release, V4Release } from './profiles';
import type { Site } from './registration-store';
import { OXD_SCOPE } from './site-commands';

/** Commands each release runs without a token (params without a token field, or exempt). */
const UNPROTECTED: Readonly<Record<V3Release | V4Release, ReadonlySet<string>>> = {
  // 3.1.3: IntrospectAccessTokenParams and IntrospectRptParams have no protection token.
  '3.1.3': new Set([
    'setup_client',
    'get_client_token',
    'introspect_access_token',
    'introspect_rpt',
  ]),
  '3.1.4': new Set(['setup_client', 'get_client_token']),
  // 4.1 RestResource: every HasAccessTokenParams but RegisterSiteParams (GetJwksParams has none).
  '4.1': new Set([
    'register_site',
    'get_client_token',
    'get_jwks',
    'get_discovery',
    'issuer_discovery',
  ]),
  // 4.2+ CommandType.authorizationRequired = false.
  '4.2': new Set([
    'register_site',
    'update_site',
    'remove_site',
    'get_client_token',
    'get_rp',
    'get_jwks',
    'get_discovery',
    'issuer_discovery',
  ]),
};

export function needsProtection(command: string, release: V3Release | V4Release): boolean {
  return !UNPROTECTED[release].has(command);
}

function codes(v3: boolean) {
  return v3
    ? {
        blank: 'blank_protection_access_token',
        invalid: 'invalid_protection_access_token',
        inactive: 'inactive_protection_access_token',
        scope: 'protection_access_token_insufficient_scope',
      }
    : {
        blank: 'blank_access_token',
        invalid: 'invalid_access_token',
        inactive: 'inactive_access_token',
        scope: 'access_token_insufficient_scope',
      };
}

/**
 * Checks an introspection result, in oxd's order: active, a client_id, the `oxd` scope (not
 * in 3.1.3, whose `ErrorResponseCode` has no insufficient-scope code), the owner's client.
 */
function checkIntrospection(
  result: Record<string, unknown>,
  owner: Site,
  release: V3Release | V4Release,
): void {
  const v3 = release.startsWith('3.');
  const c = codes(v3);
  const text = tokenTexts(v3);
  if (result.active !== true) throw new CommandFailure(c.inactive, text.inactive);
  if (typeof result.client_id !== 'string' || result.client_id === '') {
    throw new CommandFailure('invalid_introspection_response', NO_CLIENT_ID_IN_INTROSPECTION_TEXT);
  }
  const scopes = typeof result.scope === 'string' ? result.scope.split(' ') : [];
  if (release !== '3.1.3' && !scopes.includes(OXD_SCOPE)) {
    throw new CommandFailure(c.scope, text.scope);
  }
  if (result.client_id !== owner.client_id) throw new CommandFailure(c.invalid, text.invalid);
}

/**
 * 3.x check. Returns the setup client's oxd_id the token belongs to (register_site links
 * the new site to it); undefined when the command runs unchecked.
 */
export async function checkV3Protection(
  call: Call,
  services: Services,
  protect: boolean,
  release: V3Release,
): Promise<string | undefined> {
  const site = call.site;
  // ValidationService: a setup client may update itself without a token.
  if (call.command === 'update_site' && site?.setup_client) return undefined;
  const c = codes(true);
  const token = call.params.string('protection_access_token');
  if (!protect) {
    if (!token) return undefined;
    if (release === '3.1.4' && call.command !== 'register_site') return undefined;
  }
  if (!token) throw new CommandFailure(c.blank, tokenTexts(true).blank);
  if (site) {
    const setup = site.setup_oxd_id ? services.store.get(site.setup_oxd_id) : undefined;
    if (!setup) throw new CommandFailure('no_setup_client_for_oxd_id', NO_SETUP_CLIENT_TEXT);
    const result = await services.op.introspect(token, clientAuthOf(setup), setup.op_host);
    checkIntrospection(result, setup, release);
    return setup.oxd_id;
  }
  // No site yet (register_site, get_rp list): the token must belong to some setup client.
  const setups = services.store.all().filter((candidate) => candidate.setup_client);
  const first = setups[0];
  if (!first) throw new CommandFailure(c.invalid, tokenTexts(true).invalid);
  const result = await services.op.introspect(token, clientAuthOf(first), first.op_host);
  const owner = setups.find((candidate) => candidate.client_id === result.client_id) ?? first;
  checkIntrospection(result, owner, release);
  return owner.oxd_id;
}

/** Dropwizard's bare 403 of 4.0 and 4.1 (`WebApplicationException(FORBIDDEN)`). */
function forbidden41(): CommandFailure {
  return new CommandFailure('blank_access_token', 'HTTP 403 Forbidden', {
    httpStatus: 403,
    httpBody: { code: 403, message: 'HTTP 403 Forbidden' },
  });
}

/**
 * 4.x: the token of the `Authorization` header, read as the release's `RestResource` reads
 * it, before the body's oxd_id is looked at; undefined when protection is off.
 */
export function bearerToken(
  release: V4Release,
  authorization: string | undefined,
  protect: boolean,
): string | undefined {
  if (!protect) return undefined;
  if (release === '4.1') {
    // 4.1 validateAccessToken: `Bearer ` and a non-blank token, else a bare 403.
    const token = authorization?.startsWith('Bearer ') ? authorization.slice(7) : '';
    if (token.trim() === '') throw forbidden41();
    return token;
  }
  // 4.2+: the header minus its first 7 characters, unchecked (a shorter one throws).
  const blank = () => new CommandFailure('blank_access_token', tokenTexts(false).blank);
  if (authorization === undefined || authorization === '') throw blank();
  if (authorization.length < 7) throw dropwizardError();
  const token = authorization.slice(7);
  if (token === '') throw blank();
  return token;
}

/** 4.x check of the Bearer token against the site's own client. */
export async function checkV4Protection(
  services: Services,
  release: V4Release,
  token: string,
  site: Site,
): Promise<void> {
  if (token.trim() === '') {
    throw new CommandFailure('blank_access_token', tokenTexts(false).blank);
  }
  const result = await services.op.introspect(token.trim(), clientAuthOf(site), site.op_host);
  checkIntrospection(result, site, release);
}
