/**
 * `umaFetch()`: `fetch` for a UMA-protected API. When the API answers 401 with a UMA challenge
 * (UMA 2.0 Grant §3.2), the ticket is exchanged for an RPT through oxd and the request is sent
 * once more with that RPT. Everything else is returned as the API answered it.
 *
 * Only the origin that was asked may challenge: redirects are followed within that origin
 * only (a redirect elsewhere is returned as it is), and a challenge from any other origin (the
 * caller chose `redirect: 'follow'`) is not honoured. Otherwise a server the API redirects to
 * would get its own ticket exchanged with the user's RPT and PCT, and replace the kept RPT.
 */
import type { Dispatcher, Headers, RequestInit, Response } from 'undici';
import { undici } from '../lazy-undici';
import type { OxdClient } from '../oxd/client';
import { umaGetRpt, type UmaRpt } from './rpt';
import { readUmaChallenge } from './www-authenticate';

export interface UmaFetchOptions {
  /** The requesting party's oxd client (its site is the UMA client). */
  client: OxdClient;
  /** An RPT to send with the first attempt (kept from an earlier call). */
  rpt?: string | undefined;
  /** The PCT of an earlier exchange, so that claims given before are not asked again. */
  pct?: string | undefined;
  /**
   * Passes `rpt` along when exchanging a ticket, so that the AS adds the new permission to it
   * and one RPT serves every resource. Default true.
   */
  upgrade?: boolean;
  /** Called with each RPT obtained, before the retry, to keep it for the next call. */
  onRpt?: (rpt: UmaRpt) => void | Promise<void>;
  /** undici dispatcher for the API requests (custom CA, proxy). */
  dispatcher?: Dispatcher;
}

/** Bodies that can be sent a second time. Streams cannot: such a request is not retried. */
function isReplayable(body: RequestInit['body']): boolean {
  return (
    body === undefined ||
    body === null ||
    typeof body === 'string' ||
    body instanceof URLSearchParams ||
    body instanceof ArrayBuffer ||
    ArrayBuffer.isView(body) ||
    body instanceof Blob ||
    body instanceof FormData
  );
}

/** Statuses after which fetch follows `Location`. */
const REDIRECTS: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);
/** Redirects followed within one origin before the last answer is returned (as fetch does). */
const MAX_REDIRECTS = 20;
/** Headers that describe a body, dropped when a redirect turns the request into a GET. */
const BODY_HEADERS = ['content-type', 'content-length', 'content-encoding', 'content-language'];

/**
 * Fetches `url`, following redirects within its origin only: a redirect to another origin is
 * returned as it is. With `init.redirect` set, fetch follows the caller's choice.
 */
async function fetchWithinOrigin(
  url: URL,
  init: RequestInit,
  headers: Headers,
  dispatcher: Dispatcher | undefined,
): Promise<Response> {
  const { fetch } = undici();
  const extra = dispatcher ? { dispatcher } : {};
  if (init.redirect !== undefined) return fetch(url, { ...init, headers, ...extra });
  let current = url;
  let method = (init.method ?? 'GET').toUpperCase();
  let body = init.body;
  for (let hops = 0; ; hops += 1) {
    const response = await fetch(current, {
      ...init,
      method,
      body,
      headers,
      redirect: 'manual',
      ...extra,
    });
    const location = response.headers.get('location');
    if (!REDIRECTS.has(response.status) || location === null || hops >= MAX_REDIRECTS) {
      return response;
    }
    const next = URL.canParse(location, current.href) ? new URL(location, current) : undefined;
    if (next?.origin !== url.origin) return response;
    await response.body?.cancel();
    if (response.status === 303 ? method !== 'HEAD' : response.status <= 302 && method === 'POST') {
      method = 'GET';
      body = undefined;
      for (const name of BODY_HEADERS) headers.delete(name);
    }
    current = next;
  }
}

/**
 * Fetches `input`; on a 401 carrying a UMA ticket from the origin of `input`, obtains an RPT
 * for the ticket (`uma_rp_get_rpt`, with `rpt` to upgrade and `pct`) and retries once with
 * `Authorization: Bearer <RPT>`, returning the retry's response. Redirects are followed within
 * that origin only, unless `init.redirect` says otherwise. A 401 without a UMA ticket, from
 * another origin, or with a body that cannot be sent twice, is returned as it is. Rejects with
 * `UmaNeedInfoError` when the AS needs claims first (send the user to claims gathering),
 * and with the oxd error when the exchange fails.
 */
export async function umaFetch(
  input: string | URL,
  init: RequestInit = {},
  options: UmaFetchOptions,
): Promise<Response> {
  const { client, dispatcher } = options;
  if (typeof client?.umaRpGetRpt !== 'function') {
    throw new TypeError('umaFetch needs options.client, the oxd client of the requesting party');
  }
  const { Headers } = undici();
  const url = new URL(input);
  const send = (rpt: string | undefined): Promise<Response> => {
    const headers = new Headers(init.headers);
    if (rpt) headers.set('authorization', `Bearer ${rpt}`);
    return fetchWithinOrigin(url, init, headers, dispatcher);
  };
  const first = await send(options.rpt);
  if (first.status !== 401 || !isReplayable(init.body)) return first;
  if (!URL.canParse(first.url) || new URL(first.url).origin !== url.origin) return first;
  const challenge = readUmaChallenge(first.headers.get('www-authenticate'));
  if (!challenge) return first;
  await first.body?.cancel();
  const obtained = await umaGetRpt(client, {
    ticket: challenge.ticket,
    ...(options.rpt && options.upgrade !== false ? { rpt: options.rpt } : {}),
    ...(options.pct ? { pct: options.pct } : {}),
  });
  await options.onRpt?.(obtained);
  return send(obtained.rpt);
}
