/**
 * The UMA `WWW-Authenticate` challenge (UMA 2.0 Grant, §3.2: `UMA realm="…",as_uri="…",
 * ticket="…"`): reading it on the client side and checking or building it on the resource
 * server side. oxd builds the header itself, without spaces after the commas; it is passed on
 * as is when it is a valid header value.
 */

/** The parameters of a `UMA` challenge. */
export interface UmaChallenge {
  realm?: string;
  as_uri?: string;
  ticket: string;
  error?: string;
}

/** Longest header this module reads or writes. */
const MAX_HEADER_LENGTH = 8192;
/** RFC 9110 token characters. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A value that can stand inside a quoted-string without escapes: printable ASCII, no `"` `\`. */
const QUOTABLE = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
/** A ticket worth sending to oxd: printable ASCII without spaces, bounded. */
const TICKET = /^[\x21-\x7e]{1,2048}$/;

/** Header-value characters Node accepts and HTTP allows: visible ASCII, space and tab. */
export function isValidHeaderValue(value: string): boolean {
  return value.length <= MAX_HEADER_LENGTH && /^[\t\x20-\x7e]*$/.test(value);
}

/**
 * Builds a UMA challenge when oxd sent a ticket but no usable header. Returns `undefined` when
 * a value cannot be quoted safely.
 */
export function formatUmaChallenge(params: {
  realm: string;
  asUri?: string | undefined;
  ticket: string;
}): string | undefined {
  const parts: [string, string][] = [['realm', params.realm]];
  if (params.asUri) parts.push(['as_uri', params.asUri]);
  parts.push(['error', 'insufficient_scope'], ['ticket', params.ticket]);
  if (!parts.every(([, value]) => QUOTABLE.test(value))) return undefined;
  return `UMA ${parts.map(([name, value]) => `${name}="${value}"`).join(',')}`;
}

/** Reads `token` or `quoted-string` at `i`; returns the value and the index after it. */
function readValue(header: string, i: number): [string, number] | undefined {
  if (header[i] === '"') {
    let value = '';
    for (let j = i + 1; j < header.length; j += 1) {
      const char = header[j] as string;
      if (char === '\\') {
        j += 1;
        if (j >= header.length) return undefined;
        value += header[j];
      } else if (char === '"') {
        return [value, j + 1];
      } else {
        value += char;
      }
    }
    return undefined;
  }
  const match = /^[!#$%&'*+\-.^_`|~0-9A-Za-z/=]+/.exec(header.slice(i));
  return match ? [match[0], i + match[0].length] : undefined;
}

function skipSpace(header: string, i: number): number {
  while (header[i] === ' ' || header[i] === '\t') i += 1;
  return i;
}

/**
 * Parses a `WWW-Authenticate` value into challenges (RFC 9110 §11.6.1): scheme (lower case)
 * and its auth-params (names lower case). Returns `[]` for a value it cannot read.
 */
export function parseChallenges(
  header: string,
): { scheme: string; params: Record<string, string> }[] {
  if (header.length > MAX_HEADER_LENGTH) return [];
  const challenges: { scheme: string; params: Record<string, string> }[] = [];
  let i = 0;
  let current: { scheme: string; params: Record<string, string> } | undefined;
  while (i < header.length) {
    i = skipSpace(header, i);
    if (header[i] === ',') {
      i += 1;
      continue;
    }
    const word = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/.exec(header.slice(i))?.[0];
    if (!word) return [];
    const after = skipSpace(header, i + word.length);
    if (header[after] === '=' && current && header[after + 1] !== '=') {
      // An auth-param of the current challenge.
      const read = readValue(header, skipSpace(header, after + 1));
      if (!read) return [];
      current.params[word.toLowerCase()] ??= read[0];
      i = read[1];
    } else {
      current = {
        scheme: word.toLowerCase(),
        params: Object.create(null) as Record<string, string>,
      };
      challenges.push(current);
      i = after;
      // token68 form (`Bearer abc==`): kept out, the scheme still counts.
      const token68 = /^[A-Za-z0-9\-._~+/]+=*(?=\s*(,|$))/.exec(header.slice(i));
      if (token68 && !header.slice(i).startsWith(token68[0] + '=')) i += token68[0].length;
    }
  }
  return challenges.filter((c) => TOKEN.test(c.scheme));
}

/**
 * The UMA challenge of a `WWW-Authenticate` value (a string or the list of a repeated
 * header), or `undefined` when there is none with a usable ticket.
 */
export function readUmaChallenge(
  header: string | readonly string[] | null | undefined,
): UmaChallenge | undefined {
  if (header === null || header === undefined) return undefined;
  for (const value of typeof header === 'string' ? [header] : header) {
    for (const challenge of parseChallenges(value)) {
      if (challenge.scheme !== 'uma') continue;
      const { ticket, realm, as_uri: asUri, error } = challenge.params;
      if (ticket === undefined || !TICKET.test(ticket)) continue;
      return {
        ticket,
        ...(realm === undefined ? {} : { realm }),
        ...(asUri === undefined ? {} : { as_uri: asUri }),
        ...(error === undefined ? {} : { error }),
      };
    }
  }
  return undefined;
}
