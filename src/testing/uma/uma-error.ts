/** The error type of the local UMA authorization server and the checks its modules share. */

/** An UMA failure; `error` is the oxd error code (or the AS's, passed through by oxd). */
export class UmaError extends Error {
  override readonly name = 'UmaError';
  /** HTTP status oxd 4.x answers with: 403 for need_info, 400 otherwise. */
  readonly status: number;

  constructor(
    /** oxd error code: `uma_protection_exists`, `invalid_request`, `need_info`, … */
    readonly error: string,
    /** Human-readable `error_description`. */
    readonly description: string,
    /** The AS's JSON error body, for errors a real AS would send (see authorization-server.ts). */
    readonly details?: unknown,
  ) {
    super(`${error}: ${description}`);
    this.status = error === 'need_info' ? 403 : 400;
  }
}

/** An error a real AS sends itself: its JSON body goes into `details`. */
export function asError(error: string, description: string): UmaError {
  return new UmaError(error, description, { error, error_description: description });
}

export function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.trim() !== '';
}

export function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every(isNonEmptyString);
}
