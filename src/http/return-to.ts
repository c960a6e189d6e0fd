/**
 * Validation of the `returnTo` target of a login: only same-origin relative paths are
 * accepted, so the login flow can never be used as an open redirect.
 */

/** Longest `returnTo` accepted; longer values fall back. */
const MAX_RETURN_TO_LENGTH = 2048;

/** How many rounds of percent-decoding are inspected before a value is given up on. */
const MAX_DECODE_ROUNDS = 4;

/** C0 controls, DEL and C1 controls: browsers strip or mangle them inside URLs. */
function hasControlChar(value: string): boolean {
  for (let i = 0; i < value.length; i += 1) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) return true;
  }
  return false;
}

/** Characters written into `Location` percent-encoded: everything outside printable ASCII. */
const NEEDS_ENCODING = /[^\u0021-\u007e]/gu;

function isSafeForm(value: string): boolean {
  if (value.charCodeAt(0) !== 0x2f /* / */) return false;
  const second = value.charCodeAt(1);
  if (second === 0x2f /* / */ || second === 0x5c /* \ */) return false;
  if (value.includes('\\')) return false;
  return !hasControlChar(value);
}

/**
 * True when `value` is a path on this origin: it starts with exactly one `/`, and neither
 * the value nor any percent-decoded form of it starts with `//` or `/\`, holds a backslash
 * or a control character. Values that do not decode cleanly are refused.
 */
export function isSafeReturnTo(value: unknown): value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_RETURN_TO_LENGTH) {
    return false;
  }
  let current = value;
  for (let round = 0; round <= MAX_DECODE_ROUNDS; round += 1) {
    if (!isSafeForm(current)) return false;
    let decoded: string;
    try {
      decoded = decodeURIComponent(current);
    } catch {
      return false;
    }
    if (decoded === current) return true;
    current = decoded;
  }
  // Still decoding after that many rounds: nobody writes a legitimate path like that.
  return false;
}

/**
 * Returns `value` when it is a safe same-origin path (non-ASCII characters percent-encoded
 * so it can go into a `Location` header), otherwise `fallback`.
 */
export function safeReturnTo(value: unknown, fallback = '/'): string {
  if (!isSafeReturnTo(value)) return fallback;
  try {
    return value.replace(NEEDS_ENCODING, (char) => encodeURIComponent(char));
  } catch {
    // A lone surrogate cannot be encoded.
    return fallback;
  }
}
