/**
 * Parts of the oxd client that need no client state: the transport a configuration selects,
 * which oxd errors say that the site is unknown to oxd, and the readiness ping.
 */
import type { Dispatcher } from 'undici';
import type { OxdConfig } from '../config/types';
import type { Logger } from '../logger';
import type { CommandName } from './commands';
import { HttpsTransport } from './https-transport';
import { SocketTransport } from './socket-transport';
import type { OxdReply, Transport } from './transport';

/**
 * oxd errors saying the site (or a login state) is unknown to it: the site may have been
 * registered again by another process, whose newer `oxd_id` is then adopted.
 */
export function isUnknownSite(name: CommandName, reply: Extract<OxdReply, { ok: false }>): boolean {
  if (reply.error === 'invalid_oxd_id') return true;
  if (name !== 'getTokensByCode') return false;
  return (
    reply.error === 'invalid_state' ||
    (reply.error === 'bad_request' && /state/i.test(reply.error_description ?? ''))
  );
}

export function defaultTransport(
  config: OxdConfig,
  dispatcher: Dispatcher | undefined,
  logger: Logger,
): Transport {
  const { oxd } = config;
  if (oxd.https) {
    return new HttpsTransport({
      baseUrl: oxd.host,
      serverVersion: oxd.serverVersion,
      ca: oxd.ca,
      dispatcher,
      connectTimeoutMs: oxd.connectTimeoutMs,
      responseTimeoutMs: oxd.responseTimeoutMs,
      maxResponseBytes: oxd.maxResponseBytes,
    });
  }
  return new SocketTransport({
    host: oxd.host,
    port: oxd.port,
    poolSize: oxd.poolSize,
    maxQueued: oxd.maxQueued,
    connectTimeoutMs: oxd.connectTimeoutMs,
    responseTimeoutMs: oxd.responseTimeoutMs,
    logger,
  });
}

/**
 * The transport's own ping, or for a transport without one (the socket transport) `get_rp`
 * without a site: oxd answers it at once from its own storage, with an error (no such site),
 * which is enough to know it is up and answering.
 */
export async function pingTransport(transport: Transport, timeoutMs: number): Promise<void> {
  if (transport.ping) return transport.ping(timeoutMs);
  await transport.send({ command: 'get_rp', path: 'get-rp', params: {}, timeoutMs });
}
