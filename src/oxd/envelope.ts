/**
 * oxd's reply shapes, read once for every transport: the 3.x `{status, data}` envelope (socket
 * frames and https-extension bodies) and the `{error, error_description, details?}` error object
 * (inside the envelope on 3.x, the body itself on 4.x). `null` fields count as absent (§8.2).
 */
import { isPlainObject as isRecord } from '../option-check';
import type { OxdReply } from './transport';

export type ErrorReply = Extract<OxdReply, { ok: false }>;

function optionalString(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

const ERROR_OBJECT_KEYS = new Set(['error', 'error_description', 'details', 'reason']);

/**
 * `{error, error_description, details?}` → an error reply. Keys beyond those mean the object is
 * an authorization server's own error body (oxd 4.x need_info): it becomes `details` whole.
 */
export function errorReply(
  body: Record<string, unknown>,
  fallbackError: string,
  httpStatus?: number,
): ErrorReply {
  const hasExtra = Object.keys(body).some(
    (key) => !ERROR_OBJECT_KEYS.has(key) && body[key] !== null,
  );
  const details = body.details ?? (hasExtra ? body : undefined);
  return {
    ok: false,
    error: optionalString(body.error) ?? fallbackError,
    error_description: optionalString(body.error_description),
    details,
    ...(httpStatus === undefined ? {} : { httpStatus }),
  };
}

/**
 * Reads a `{status, data}` envelope. Returns `undefined` when `body` is not a well-formed one,
 * so each transport can report that in its own words.
 */
export function readEnvelope(body: unknown, httpStatus?: number): OxdReply | undefined {
  if (!isRecord(body) || !isRecord(body.data)) return undefined;
  if (body.status === 'ok') return { ok: true, data: body.data };
  if (body.status !== 'error' || typeof body.data.error !== 'string') return undefined;
  return errorReply(body.data, body.data.error, httpStatus);
}
