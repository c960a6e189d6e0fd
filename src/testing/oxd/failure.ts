/**
 * The failures a local oxd command can end in, with the HTTP status oxd 4.x gives each
 * error code. Handlers throw {@link CommandFailure}; the processor turns it into a reply.
 */
import { randomBytes } from 'node:crypto';

/** HTTP status oxd 4.x answers with, per error code (anything not listed: 500). */
const HTTP_STATUS: Readonly<Record<string, number>> = {
  bad_request: 400,
  invalid_oxd_id: 400,
  invalid_request: 400,
  invalid_state: 400,
  invalid_nonce: 400,
  invalid_op_host: 400,
  invalid_redirect_uri: 400,
  invalid_authorization_redirect_uri: 400,
  redirect_uri_has_fragment_component: 400,
  redirect_uri_is_not_registered: 400,
  invalid_scope: 400,
  invalid_acr_values: 400,
  invalid_client_id: 400,
  invalid_client_secret: 400,
  invalid_authorization_oxd_id: 400,
  authorization_oxd_id_not_found: 400,
  invalid_subject_identifier: 400,
  bad_request_no_resource: 400,
  invalid_uma_request: 400,
  invalid_http_method: 400,
  invalid_path_parameter: 400,
  invalid_ticket_parameter: 400,
  invalid_claims_redirect_uri_parameter: 400,
  invalid_rpt_parameter: 400,
  invalid_uma_scope_parameter: 400,
  invalid_claim_token_or_claim_token_form: 400,
  http_method_not_unique: 400,
  invalid_scope_expression: 400,
  invalid_scope_expressioin: 400,
  uma_protection_exists: 400,
  invalid_ticket: 400,
  invalid_claim_token_format: 400,
  bad_request_no_oxd_host: 400,
  request_object_not_found: 404,
  blank_access_token: 403,
  invalid_access_token: 403,
  inactive_access_token: 403,
  access_token_insufficient_scope: 403,
  oxd_access_denied: 403,
  need_info: 403,
};

export function httpStatusOf(error: string): number {
  return HTTP_STATUS[error] ?? 500;
}

export interface FailureOptions {
  details?: unknown;
  /** Overrides the 4.x HTTP status of {@link httpStatusOf}. */
  httpStatus?: number;
  /**
   * What a 4.x HTTPS response carries instead of `{error, error_description}`: an object
   * is sent as JSON, a string as plain text.
   */
  httpBody?: unknown;
  /** Socket only: close the connection after answering (oxd does so after `internal_error`). */
  closeConnection?: boolean;
}

/** An oxd-level error: `error` and `error_description` as oxd spells them. */
export class CommandFailure extends Error {
  readonly error: string;
  readonly description: string;
  readonly options: FailureOptions;

  constructor(error: string, description: string, options: FailureOptions = {}) {
    super(`${error}: ${description}`);
    this.name = 'CommandFailure';
    this.error = error;
    this.description = description;
    this.options = options;
  }
}

/** Description oxd gives its generic internal error (the socket closes after it). */
export const UNKNOWN_INTERNAL_ERROR = 'Unknown internal server error occurs.';

/**
 * oxd's generic internal error: 3.x `CommandResponse.INTERNAL_ERROR_RESPONSE` (the socket
 * closes after it, `SocketProcessor`), 4.x `HttpException.internalError()` (HTTP 500). Every
 * release answers so when the OP refuses a token or registration request
 * (`GetAccessTokenByRefreshTokenOperation`, `GetClientTokenOperation`, `RegisterSiteOperation`):
 * the OP's own error (`invalid_grant`, `invalid_client`, ...) is logged, never passed on.
 */
export function internalError(): CommandFailure {
  return new CommandFailure('internal_error', UNKNOWN_INTERNAL_ERROR, { closeConnection: true });
}

/**
 * Dropwizard's answer to an exception oxd 4.x does not map (an NPE, a bad substring): HTTP 500
 * `{code, message}` with a log id.
 */
export function dropwizardError(): CommandFailure {
  const id = randomBytes(8).toString('hex');
  return new CommandFailure('internal_error', UNKNOWN_INTERNAL_ERROR, {
    httpStatus: 500,
    httpBody: {
      code: 500,
      message: `There was an error processing your request. It has been logged (ID ${id}).`,
    },
  });
}

export function badRequest(description: string): CommandFailure {
  return new CommandFailure('bad_request', description);
}

/** The OP (or UMA AS) answered HTTP `status` with `body`: oxd's `http_status_<N>` error. */
export function upstreamFailure(status: number, body: string): CommandFailure {
  return new CommandFailure(`http_status_${status}`, body, {
    httpStatus: status,
    httpBody: { code: status, message: body },
  });
}
