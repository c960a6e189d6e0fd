/**
 * The one seam between the oxd client and the network. A transport sends one command
 * and returns oxd's answer normalised to {@link OxdReply}; it never throws for an
 * oxd-level error (those come back as `ok: false`), only for transport, timeout and
 * protocol failures (as `OxdTransportError`, `OxdTimeoutError`, `OxdProtocolError`).
 */
import { ERROR_CODES, OxdError } from '../errors';

/** One oxd command as both transports need it. */
export interface OxdRequest {
  /** Command name as on the socket (`get_authorization_url`). */
  readonly command: string;
  /** REST path segment without a leading slash (`get-authorization-url`). */
  readonly path: string;
  /** Command params, wire names; never contains the protection token. */
  readonly params: Readonly<Record<string, unknown>>;
  /**
   * Protection access token. The socket transport puts it into
   * `params.protection_access_token`; the HTTPS transport sends `Authorization: Bearer`.
   */
  readonly token?: string | undefined;
  /** A deadline shorter than the transport's response timeout, in milliseconds. */
  readonly timeoutMs?: number | undefined;
}

/** oxd's answer, whatever the dialect it arrived in. */
export type OxdReply =
  | { readonly ok: true; readonly data: Record<string, unknown> }
  | {
      readonly ok: false;
      /** oxd's `error` (for a bare HTTP failure: `http_status_<N>`). */
      readonly error: string;
      readonly error_description?: string | undefined;
      readonly details?: unknown;
      /** HTTP status of the response (HTTPS transport only). */
      readonly httpStatus?: number | undefined;
    };

export interface Transport {
  /** `socket` (oxd-server 3.x) or `https` (https-extension 3.x / oxd-server 4.x). */
  readonly kind: 'socket' | 'https';
  send(request: OxdRequest): Promise<OxdReply>;
  /**
   * Optional: asks oxd something cheap that needs no site, registration or token, and
   * resolves once oxd answered (whatever it answered) within `timeoutMs`. Rejects with the
   * transport's errors (`OXD_RESPONSE_TIMEOUT`, `OXD_TRANSPORT_FAILED`, …) otherwise.
   */
  ping?(timeoutMs: number): Promise<void>;
  /** Closes pooled connections. Pending requests fail with `OXD_CLIENT_CLOSED`. */
  close(): Promise<void>;
}

/** What a transport answers once it is closed: `OXD_CLIENT_CLOSED`. */
export function transportClosedError(name: 'socket' | 'HTTPS', cause?: unknown): OxdError {
  return new OxdError(
    ERROR_CODES.CLIENT_CLOSED,
    `the oxd ${name} transport is closed; create a new client to send more commands`,
    cause === undefined ? {} : { cause },
  );
}
