/**
 * `oxdReadiness()`: a route for a load balancer's readiness probe, answering from
 * `client.ping()` with a short timeout. It says "not ready" while oxd cannot be reached or
 * does not answer in time, and from the moment `client.close()` began (an instance shutting
 * down), so that the balancer stops sending it logins.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { OxdError } from './errors';
import type { OxdClient } from './oxd/client';

export interface ReadinessOptions {
  /** How long oxd may take to answer the probe, in milliseconds. Default 2000. */
  timeoutMs?: number;
}

function answer(res: ServerResponse, status: number, body: Record<string, unknown>): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.end(JSON.stringify(body));
}

/**
 * A request handler (Express, Connect or `http`) answering 200 `{"status":"ready","oxdMs":…}`
 * when oxd answered within `timeoutMs`, else 503 `{"status":"unavailable","code":…}`, and
 * 503 `{"status":"closing"}` once the client is closing.
 *
 * @example
 * app.get('/ready', oxdReadiness(auth.client, { timeoutMs: 1000 }));
 */
export function oxdReadiness(
  client: Pick<OxdClient, 'ping' | 'closing'>,
  options: ReadinessOptions = {},
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  if (typeof client?.ping !== 'function') {
    throw new TypeError('oxdReadiness() takes an oxd client (createOxdClient(), auth.client)');
  }
  const timeoutMs = options.timeoutMs ?? 2000;
  if (!(typeof timeoutMs === 'number' && timeoutMs > 0 && Number.isFinite(timeoutMs))) {
    throw new TypeError(`oxdReadiness() timeoutMs must be a positive number, got ${timeoutMs}`);
  }
  return async (_req, res) => {
    // Before: any client given (only ping and closing are required) may answer a ping while
    // closing. After a failure: close() may have begun while the ping waited.
    if (client.closing) return answer(res, 503, { status: 'closing' });
    try {
      const oxdMs = await client.ping({ timeoutMs });
      answer(res, 200, { status: 'ready', oxdMs });
    } catch (error) {
      if (client.closing) return answer(res, 503, { status: 'closing' });
      const code = error instanceof OxdError ? error.code : 'OXD_UNAVAILABLE';
      answer(res, 503, { status: 'unavailable', code });
    }
  };
}
