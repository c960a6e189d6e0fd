/**
 * `error_description` texts as oxd's `ErrorResponseCode` spells them (3.x:
 * `org.xdi.oxd.common.ErrorResponseCode`, 3.1.4; 4.x: `org.gluu.oxd.common.ErrorResponseCode`,
 * 4.1.3 and 4.2.3 agree), for the codes the local server raises with oxd's own text.
 */

const PROTECTION_HINT =
  'Command is protected by protection_access_token, please provide valid token or otherwise switch off protection in configuration with protect_commands_with_access_token=false';
const ACCESS_HINT =
  'Command is protected by access_token, please provide valid token or otherwise switch off protection in configuration with protect_commands_with_access_token=false';

/** Texts of the token codes, per generation (3.x names `protection_access_token`). */
export function tokenTexts(v3: boolean) {
  return v3
    ? {
        blank: `protection_access_token is blank. ${PROTECTION_HINT}`,
        invalid: `Invalid protection_access_token. ${PROTECTION_HINT}`,
        inactive: `Inactive protection_access_token. ${PROTECTION_HINT}`,
        scope:
          "protection_access_token does not have oxd scope. Make sure a) scope exists on AS b) setup_client is registered with 'oxd' scope c) get_client_token has 'oxd' scope in request",
      }
    : {
        blank: `access_token is blank. ${ACCESS_HINT}`,
        invalid: `Invalid access_token. ${ACCESS_HINT}`,
        inactive: `Inactive access_token. ${ACCESS_HINT}`,
        scope:
          "access_token does not have `oxd` scope. Make sure a) scope exists on AS b) register_site is registered with 'oxd' scope c) get_client_token has 'oxd' scope in request",
      };
}

export const NO_SETUP_CLIENT_TEXT =
  'There is no setup client for given oxd_id. Please obtain oxd_id via setup_client command in order to force protection_access_token validation.';

export const NO_CLIENT_ID_IN_INTROSPECTION_TEXT =
  'AS returned introspection response with empty/blank client_id which is required by oxd. Please check your AS installation and make sure AS return client_id for introspection call (CE 3.1.0 or later).';

export const UNSUPPORTED_OPERATION_TEXT = 'Operation is not supported by server error.';

export const BAD_REQUEST_NO_OXD_ID_TEXT =
  'oxd_id is empty or not specified or is otherwise invalid (not registered).';

/** `INVALID_OXD_ID`: 4.x reworded it. */
export function invalidOxdIdText(v3: boolean): string {
  return v3
    ? 'Invalid oxd_id. Unable to find site for oxd_id. It does not exist or removed from the server. Please use register_site command to register a site.'
    : 'Invalid oxd_id. Unable to find the site for oxd_id. It does not exist or has been removed from the server. Please use the register_site command to register a site.';
}

export const AUTHORIZATION_OXD_ID_NOT_FOUND_TEXT =
  '`oxd_id` in `AuthorizationOxdId` header is not registered in oxd.';
