/**
 * Typed reads of a command's params object. Scalars are coerced the way oxd's JSON mapper
 * does (numbers and booleans become strings); a value of the wrong shape is a malformed
 * request, reported per dialect by {@link malformedParams}.
 */
import { CommandFailure } from './failure';

export type Dialect = 'socket' | 'https3' | 'https4';

export function isV3(dialect: Dialect): boolean {
  return dialect !== 'https4';
}

/**
 * A params object oxd could not map: 3.x answers `internal_error` (the socket stays
 * open), 4.x a plain-text 400 like its JSON reader.
 */
export function malformedParams(dialect: Dialect, why: string): CommandFailure {
  return isV3(dialect)
    ? new CommandFailure(
        'internal_error',
        `Command parameters are not specified or otherwise malformed: ${why}`,
      )
    : new CommandFailure('bad_request', why, {
        httpStatus: 400,
        httpBody: `Invalid parameters. Message: ${why}`,
      });
}

export class Params {
  constructor(
    readonly raw: Readonly<Record<string, unknown>>,
    private readonly dialect: Dialect,
  ) {}

  private malformed(name: string, expected: string): CommandFailure {
    return malformedParams(this.dialect, `'${name}' must be ${expected}`);
  }

  /** A string param; blank strings count as absent. */
  string(name: string): string | undefined {
    const value = this.raw[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    if (typeof value !== 'string') throw this.malformed(name, 'a string');
    return value.trim() === '' ? undefined : value;
  }

  /** A list of strings; an empty list counts as absent. */
  list(name: string): string[] | undefined {
    const value = this.raw[name];
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value)) throw this.malformed(name, 'a list of strings');
    const items = value.map((item) => {
      if (typeof item === 'string') return item;
      if (typeof item === 'number' || typeof item === 'boolean') return String(item);
      throw this.malformed(name, 'a list of strings');
    });
    const nonBlank = items.filter((item) => item.trim() !== '');
    return nonBlank.length > 0 ? nonBlank : undefined;
  }

  /** A boolean; the strings `true` and `false` are accepted too. */
  boolean(name: string): boolean | undefined {
    const value = this.raw[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'boolean') return value;
    if (value === 'true' || value === 'false') return value === 'true';
    throw this.malformed(name, 'true or false');
  }

  number(name: string): number | undefined {
    const value = this.raw[name];
    if (value === undefined || value === null) return undefined;
    const parsed = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
    if (typeof parsed !== 'number' || !Number.isFinite(parsed)) {
      throw this.malformed(name, 'a number');
    }
    return parsed;
  }

  /** A map of string values (`custom_parameters`, 4.x `params`). */
  stringMap(name: string): Record<string, string> | undefined {
    const value = this.raw[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'object' || Array.isArray(value)) {
      throw this.malformed(name, 'an object of string values');
    }
    const out: Record<string, string> = {};
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
      if (item === null || item === undefined) continue;
      if (typeof item === 'object') throw this.malformed(name, 'an object of string values');
      out[key] = String(item);
    }
    return out;
  }

  /** The raw value, for params with a structure of their own (UMA resources). */
  value(name: string): unknown {
    return this.raw[name];
  }
}

/** True for an absolute http(s) URL. */
export function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}
