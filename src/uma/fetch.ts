/**
 * `umaFetch()`: `fetch` for a UMA-protected API. When the API answers 401 with a UMA challenge
 * (UMA 2.0 Grant §3.2), the ticket is exchanged for an RPT through oxd and the request is sent
 * once more with that RPT. Everything else is returned as the API answered it.
 */
import type { Dispatcher, RequestInit, Response } from 'undici';
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

/**
 * Fetches `input`; on a 401 carrying a UMA ticket, obtains an RPT for the ticket
 * (`uma_rp_get_rpt`, with `rpt` to upgrade and `pct`) and retries once with
 * `Authorization: Bearer <RPT>`, returning the retry's response. A 401 without a UMA
 * ticket, or with a body that cannot be sent twice, is returned as it is. Rejects with
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
  const { fetch, Headers } = undici();
  const send = (rpt: string | undefined): Promise<Response> => {
    const headers = new Headers(init.headers);
    if (rpt) headers.set('authorization', `Bearer ${rpt}`);
    return fetch(input, {
      ...init,
      headers,
      ...(dispatcher ? { dispatcher } : {}),
    });
  };
  const first = await send(options.rpt);
  if (first.status !== 401 || !isReplayable(init.body)) return first;
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
