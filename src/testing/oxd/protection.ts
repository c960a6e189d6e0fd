/**
 * Command protection as oxd enforces it, checked by introspecting the token at the OP.
 *
 * 3.x (socket and /v3/): `params.protection_access_token` must be a token of the site's
 * setup client with the `oxd` scope; register_site finds its setup client from the token.
 * 4.x: the `Authorization: Bearer` token must be a token of the site's own client with the
 * `oxd` scope; commands of the 4.2+ exempt list need none.
 */
import type { Call, Services } from './call';
import { clientAuthOf } from './call';
import { CommandFailure } from './failure';
import type { Site } from './registration-store';
import { OXD_SCOPE } from './site-commands';

/** 3.x commands usable without a protection token. */
const V3_UNPROTECTED = new Set(['setup_client', 'get_client_token']);

/** 4.2+ commands whose `authorizationRequired` flag is false. */
const V4_UNPROTECTED = new Set([
  'register_site',
  'update_site',
  'remove_site',
  'get_client_token',
  'get_rp',
  'get_jwks',
  'get_discovery',
  'issuer_discovery',
]);

export function needsProtection(command: string, v3: boolean): boolean {
  return !(v3 ? V3_UNPROTECTED : V4_UNPROTECTED).has(command);
}

/** Error codes per generation: 3.x says `protection_access_token`, 4.x `access_token`. */
function codes(v3: boolean) {
  return v3
    ? {
        blank: 'blank_protection_access_token',
        invalid: 'invalid_protection_access_token',
        inactive: 'inactive_protection_access_token',
        scope: 'protection_access_token_insufficient_scope',
        name: 'protection_access_token',
      }
    : {
        blank: 'blank_access_token',
        invalid: 'invalid_access_token',
        inactive: 'inactive_access_token',
        scope: 'access_token_insufficient_scope',
        name: 'access token',
      };
}

/** Checks an introspection result says: an active `oxd` token of `owner`'s client. */
function checkIntrospection(result: Record<string, unknown>, owner: Site, v3: boolean): void {
  const c = codes(v3);
  if (result.active !== true) {
    throw new CommandFailure(
      c.inactive,
      `The ${c.name} is not active (expired or revoked); obtain a new one with get_client_token.`,
    );
  }
  if (typeof result.client_id !== 'string' || result.client_id === '') {
    throw new CommandFailure(
      'invalid_introspection_response',
      'The OP introspection response names no client_id.',
    );
  }
  if (result.client_id !== owner.client_id) {
    throw new CommandFailure(
      c.invalid,
      `The ${c.name} was issued to another client; obtain one with get_client_token using the client_id/client_secret of ${v3 ? 'the setup client' : 'this site'}.`,
    );
  }
  const scopes = typeof result.scope === 'string' ? result.scope.split(' ') : [];
  if (!scopes.includes(OXD_SCOPE)) {
    throw new CommandFailure(
      c.scope,
      `The ${c.name} lacks the '${OXD_SCOPE}' scope; request it in get_client_token (and register the client with it).`,
    );
  }
}

/**
 * 3.x check. Returns the setup client's oxd_id the token belongs to (register_site
 * links the new site to it).
 */
export async function checkV3Protection(
  call: Call,
  services: Services,
): Promise<string | undefined> {
  const c = codes(true);
  const token = call.params.string('protection_access_token');
  if (!token) {
    throw new CommandFailure(
      c.blank,
      'protection_access_token is blank; this command is protected: obtain a token with get_client_token (setup client) and pass it.',
    );
  }
  const site = call.site;
  if (site) {
    const setup = site.setup_oxd_id ? services.store.get(site.setup_oxd_id) : undefined;
    if (!setup) {
      throw new CommandFailure(
        'no_setup_client_for_oxd_id',
        `Site ${site.oxd_id} was not created through setup_client, so its protection token cannot be checked; register it with a protection_access_token of a setup client.`,
      );
    }
    const result = await services.op.introspect(token, clientAuthOf(setup), setup.op_host);
    checkIntrospection(result, setup, true);
    return setup.oxd_id;
  }
  // No site yet (register_site, get_rp list): the token must belong to some setup client.
  const setups = services.store.all().filter((candidate) => candidate.setup_client);
  const first = setups[0];
  if (!first) {
    throw new CommandFailure(
      c.invalid,
      'No setup client is registered; run setup_client and get_client_token first.',
    );
  }
  const result = await services.op.introspect(token, clientAuthOf(first), first.op_host);
  const owner = setups.find((candidate) => candidate.client_id === result.client_id) ?? first;
  checkIntrospection(result, owner, true);
  return owner.oxd_id;
}

/** 4.x check of the Bearer token against the site's own client. */
export async function checkV4Protection(
  services: Services,
  accessToken: string | undefined,
  site: Site | undefined,
): Promise<void> {
  if (!accessToken || accessToken.trim() === '') {
    throw new CommandFailure(
      'blank_access_token',
      'access_token is blank; this command is protected: send Authorization: Bearer <token from get_client_token>.',
    );
  }
  if (!site) {
    throw new CommandFailure('bad_request', "'oxd_id' is empty or not specified.");
  }
  const result = await services.op.introspect(accessToken.trim(), clientAuthOf(site), site.op_host);
  checkIntrospection(result, site, false);
}
