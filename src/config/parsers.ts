/**
 * The value parsers of the settings table: each takes a value as given (INI text, or what an
 * object holds) and returns it parsed, or calls `fail` with what is wrong with it.
 */

/** Throws the error about the setting being parsed; `problem` completes "`<where>` ...". */
export type Fail = (problem: string) => never;
export type Parser<T> = (raw: unknown, fail: Fail) => T;

const TRUE_WORDS = new Set(['true', 'yes', '1']);
const FALSE_WORDS = new Set(['false', 'no', '0']);
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);
export const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----/;

/** A value quoted for a message, cut to 80 characters. */
export function show(raw: unknown): string {
  const text = typeof raw === 'string' ? raw : JSON.stringify(raw);
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 77)}...` : text);
}

export const text: Parser<string> = (raw, fail) =>
  typeof raw === 'string' ? raw.trim() : fail(`must be a string (got ${show(raw)})`);

/** PEM text, kept exactly as given. */
export const pem: Parser<string> = (raw, fail) => {
  if (typeof raw !== 'string') return fail('must be a string of PEM text');
  return PEM_CERTIFICATE.test(raw) ? raw : fail('is not PEM text with a certificate');
};

/** Like `text`, for values that must never appear in a message. */
export const secret: Parser<string> = (raw, fail) =>
  typeof raw === 'string' ? raw.trim() : fail('must be a string');

export const bool: Parser<boolean> = (raw, fail) => {
  if (typeof raw === 'boolean') return raw;
  const word = typeof raw === 'string' ? raw.trim().toLowerCase() : undefined;
  if (word !== undefined && TRUE_WORDS.has(word)) return true;
  if (word !== undefined && FALSE_WORDS.has(word)) return false;
  return fail(`must be true or false (yes/no and 1/0 are accepted too), got ${show(raw)}`);
};

export function integer(min: number, max: number): Parser<number> {
  return (raw, fail) => {
    const value =
      typeof raw === 'number'
        ? raw
        : typeof raw === 'string' && /^\s*\d+\s*$/.test(raw)
          ? +raw
          : NaN;
    if (!Number.isInteger(value) || value < min || value > max) {
      return fail(`must be a whole number from ${min} to ${max}, got ${show(raw)}`);
    }
    return value;
  };
}

/**
 * The oxd server generation: 3 (oxd-server 3.x socket / oxd-https-extension 3.x) or 4
 * (oxd-server 4.x REST, HTTPS only).
 */
export type ServerVersion = 3 | 4;

export const serverVersion: Parser<ServerVersion> = (raw, fail) => {
  const value = integer(3, 4)(raw, () => fail(`must be 3 or 4, got ${show(raw)}`));
  return value as ServerVersion;
};

export function oneOf(values: readonly string[]): Parser<string> {
  return (raw, fail) => {
    const value = text(raw, fail);
    return values.includes(value)
      ? value
      : fail(`must be one of ${values.join(', ')}, got ${show(raw)}`);
  };
}

/**
 * An absolute URL. `op`: https only. `app` (the application's own URLs): https, or http on
 * a loopback host for local development. `redirect`: `app` without a `#fragment`.
 */
export function url(rule: 'op' | 'app' | 'redirect'): Parser<string> {
  return (raw, fail) => {
    const value = text(raw, fail);
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch {
      return fail(`is not an absolute URL, got ${show(value)}`);
    }
    const loopbackHttp =
      rule !== 'op' && parsed.protocol === 'http:' && LOOPBACK_HOSTS.has(parsed.hostname);
    if (parsed.protocol !== 'https:' && !loopbackHttp) {
      return fail(
        rule === 'op'
          ? `must be an https URL, got ${show(value)}`
          : `must be an https URL (http is accepted only for localhost, 127.0.0.1 and [::1]), got ${show(value)}`,
      );
    }
    if (parsed.username !== '' || parsed.password !== '') {
      return fail('must not contain a user name or password');
    }
    if (rule === 'redirect' && parsed.hash !== '') {
      return fail(`must not have a #fragment (redirect URIs cannot), got ${show(value)}`);
    }
    return value;
  };
}

/** A comma-separated string or an array of strings; empty items are dropped. */
export function list(item?: Parser<string>): Parser<readonly string[]> {
  return (raw, fail) => {
    let items: string[];
    if (typeof raw === 'string') items = raw.split(',');
    else if (Array.isArray(raw) && raw.every((entry) => typeof entry === 'string')) {
      items = raw as string[];
    } else {
      return fail(`must be a comma-separated string or an array of strings, got ${show(raw)}`);
    }
    const values = items.map((entry) => entry.trim()).filter((entry) => entry !== '');
    return item === undefined ? values : values.map((entry) => item(entry, fail));
  };
}

/** One scope: no whitespace inside. */
export const scopeItem: Parser<string> = (raw, fail) => {
  const value = text(raw, fail);
  return /\s/.test(value) ? fail(`has a value with a space (${show(value)})`) : value;
};
