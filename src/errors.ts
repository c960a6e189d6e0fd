/**
 * Every error express-oxd throws or passes to `next(err)` is an {@link OxdError}.
 * Switch on `code` (stable, listed in the README); show `message` to developers.
 */

/** Stable error codes. Adding a code is fine; renaming one is a breaking change. */
export const ERROR_CODES = {
  /** The configuration (file or object) is invalid or incomplete. */
  CONFIG_INVALID: 'OXD_CONFIG_INVALID',
  /** The configuration file cannot be read. */
  CONFIG_READ_FAILED: 'OXD_CONFIG_READ_FAILED',
  /** Registration results could not be written back to the configuration file. */
  CONFIG_WRITE_FAILED: 'OXD_CONFIG_WRITE_FAILED',
  /** The oxd server could not be reached (connection refused, reset, TLS failure). */
  TRANSPORT_FAILED: 'OXD_TRANSPORT_FAILED',
  /** Connecting to the oxd server took longer than the connect timeout. */
  CONNECT_TIMEOUT: 'OXD_CONNECT_TIMEOUT',
  /** The oxd server did not answer within the response timeout. */
  RESPONSE_TIMEOUT: 'OXD_RESPONSE_TIMEOUT',
  /** The oxd server sent something that is not a valid frame or JSON document. */
  PROTOCOL_ERROR: 'OXD_PROTOCOL_ERROR',
  /** A request or response does not fit in one socket frame (9999 characters). */
  FRAME_TOO_LARGE: 'OXD_FRAME_TOO_LARGE',
  /** The oxd server answered the command with an error (`error` / `error_description`). */
  COMMAND_FAILED: 'OXD_COMMAND_FAILED',
  /**
   * Every socket connection to oxd is busy and the queue of waiting commands is full; the
   * command was refused at once instead of waiting (503).
   */
  BUSY: 'OXD_BUSY',
  /** The client was closed; no more requests can be sent. */
  CLIENT_CLOSED: 'OXD_CLIENT_CLOSED',
  /** The login callback carried no state, or a state this session did not create. */
  STATE_MISMATCH: 'OXD_STATE_MISMATCH',
  /** No session object on the request: `express-session` (or compatible) is missing. */
  SESSION_MISSING: 'OXD_SESSION_MISSING',
  /**
   * The session store (Redis, a database) failed to load or save the session: it is down or
   * unreachable (503). Requests succeed again once it is back; nothing has to restart.
   */
  SESSION_STORE_UNAVAILABLE: 'OXD_SESSION_STORE_UNAVAILABLE',
  /** The OpenID Provider answered the authorization request with an error. */
  OP_ERROR: 'OXD_OP_ERROR',
  /** The user cancelled the login at the OpenID Provider (`access_denied`): nobody logged in. */
  LOGIN_CANCELLED: 'OXD_LOGIN_CANCELLED',
  /** The user is not logged in (or the session expired and could not be refreshed). */
  UNAUTHENTICATED: 'OXD_UNAUTHENTICATED',
  /** The user is logged in but a claim check failed. */
  FORBIDDEN: 'OXD_FORBIDDEN',
  /** UMA: the authorization server needs claims about the user before it issues an RPT. */
  UMA_NEED_INFO: 'OXD_UMA_NEED_INFO',
  /** UMA: oxd answered with the site's RPT, obtained for another user (per-user grants). */
  UMA_RPT_OF_ANOTHER_USER: 'OXD_UMA_RPT_OF_ANOTHER_USER',
} as const;

export type OxdErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

export interface OxdErrorOptions {
  cause?: unknown;
  /** HTTP status to answer with when this error reaches an HTTP response. */
  status?: number;
  /**
   * Whether the message may be shown to the person who made the request. Default: true for a
   * status below 500 (the request was at fault), false otherwise (the message may name files,
   * hosts or oxd URLs of the server).
   */
  expose?: boolean;
}

/** Base class of every error this package raises. */
export class OxdError extends Error {
  readonly code: OxdErrorCode;
  /** HTTP status suggested for a response caused by this error. */
  readonly status: number;
  /**
   * True when `message` may be shown to the requester; the default error page shows only a
   * generic explanation and the code otherwise. Default: `status < 500`.
   */
  readonly expose: boolean;

  constructor(code: OxdErrorCode, message: string, options: OxdErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = options.status ?? 500;
    this.expose = options.expose ?? this.status < 500;
  }
}

/** Invalid configuration; `key` names the offending option, `file` the INI file if any. */
export class OxdConfigError extends OxdError {
  readonly key: string | undefined;
  readonly file: string | undefined;

  constructor(
    message: string,
    details: { key?: string; file?: string; code?: OxdErrorCode } = {},
    options: OxdErrorOptions = {},
  ) {
    super(details.code ?? ERROR_CODES.CONFIG_INVALID, message, options);
    this.key = details.key;
    this.file = details.file;
  }
}

/** The oxd server could not be reached or the connection broke. */
export class OxdTransportError extends OxdError {
  constructor(message: string, options: OxdErrorOptions = {}) {
    super(ERROR_CODES.TRANSPORT_FAILED, message, { status: 503, ...options });
  }
}

/** Every connection to oxd is busy and the wait queue is full; retry later (503). */
export class OxdBusyError extends OxdError {
  /** How many commands may wait for a connection (the queue bound that was reached). */
  readonly queueLimit: number;

  constructor(message: string, queueLimit: number, options: OxdErrorOptions = {}) {
    super(ERROR_CODES.BUSY, message, { status: 503, ...options });
    this.queueLimit = queueLimit;
  }
}

/** Connect or response timeout. */
export class OxdTimeoutError extends OxdError {
  readonly timeoutMs: number;

  constructor(
    code: typeof ERROR_CODES.CONNECT_TIMEOUT | typeof ERROR_CODES.RESPONSE_TIMEOUT,
    message: string,
    timeoutMs: number,
    options: OxdErrorOptions = {},
  ) {
    super(code, message, { status: 504, ...options });
    this.timeoutMs = timeoutMs;
  }
}

/** Bad frame, bad JSON, unexpected response shape, or an oversized frame. */
export class OxdProtocolError extends OxdError {
  constructor(
    message: string,
    code:
      | typeof ERROR_CODES.PROTOCOL_ERROR
      | typeof ERROR_CODES.FRAME_TOO_LARGE = ERROR_CODES.PROTOCOL_ERROR,
    options: OxdErrorOptions = {},
  ) {
    super(code, message, { status: 502, ...options });
  }
}

/** oxd answered a command with an error. Fields keep oxd's own spelling. */
export class OxdCommandError extends OxdError {
  /** The oxd command, snake_case as on the wire (`get_tokens_by_code`). */
  readonly command: string;
  /** oxd's `error` value (`invalid_oxd_id`, `need_info`, `http_status_400`, …). */
  readonly error: string;
  readonly error_description: string | undefined;
  /** oxd's `details` (UMA need_info payload, for instance), if any. */
  readonly details: unknown;
  /** HTTP status of the oxd HTTPS response, when the HTTPS transport was used. */
  readonly httpStatus: number | undefined;

  constructor(
    command: string,
    reply: { error: string; error_description?: string; details?: unknown; httpStatus?: number },
    options: OxdErrorOptions = {},
  ) {
    const description = reply.error_description ? `: ${reply.error_description}` : '';
    super(ERROR_CODES.COMMAND_FAILED, `oxd ${command} failed with ${reply.error}${description}`, {
      status: 502,
      ...options,
    });
    this.command = command;
    this.error = reply.error;
    this.error_description = reply.error_description;
    this.details = reply.details;
    this.httpStatus = reply.httpStatus;
  }
}

/** Failures of the login flow itself (state, session, OP error, not logged in). */
export class OxdAuthError extends OxdError {
  /** The OP's `error` parameter, for {@link ERROR_CODES.OP_ERROR}. */
  readonly opError: string | undefined;
  readonly opErrorDescription: string | undefined;

  constructor(
    code:
      | typeof ERROR_CODES.STATE_MISMATCH
      | typeof ERROR_CODES.SESSION_MISSING
      | typeof ERROR_CODES.OP_ERROR
      | typeof ERROR_CODES.LOGIN_CANCELLED
      | typeof ERROR_CODES.UNAUTHENTICATED
      | typeof ERROR_CODES.FORBIDDEN
      | typeof ERROR_CODES.UMA_RPT_OF_ANOTHER_USER,
    message: string,
    options: OxdErrorOptions & { opError?: string; opErrorDescription?: string } = {},
  ) {
    super(code, message, options);
    this.opError = options.opError;
    this.opErrorDescription = options.opErrorDescription;
  }
}

/** The message of a thrown value, for a message or log line that names the cause. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The error a failed session load or save becomes: `OXD_SESSION_STORE_UNAVAILABLE`, status
 * 503, message not shown. An `OxdError` is passed on as it is.
 */
export function sessionStoreUnavailable(cause: unknown): OxdError {
  if (cause instanceof OxdError) return cause;
  const reason = errorMessage(cause);
  return new OxdError(
    ERROR_CODES.SESSION_STORE_UNAVAILABLE,
    `the session store failed (${reason}); requests succeed again once it is reachable`,
    { status: 503, cause },
  );
}

/**
 * A callback (login or UMA claims gathering) whose state this session did not start, or no
 * longer has in progress: `OXD_STATE_MISMATCH`, 400.
 */
export function stateMismatch(message: string): OxdAuthError {
  return new OxdAuthError(ERROR_CODES.STATE_MISMATCH, message, { status: 400 });
}
