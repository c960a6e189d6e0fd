/**
 * A GET on a connection of its own (no agent, no keep-alive pool), for tests that watch one
 * request's connection: whether the server answers, cuts it, or never answers.
 */
import { request as httpRequest } from 'node:http';

export interface FreshReply {
  /** Absent when the connection was cut before a response began. */
  status?: number;
  text: string;
  /** The first `set-cookie`'s `name=value`. */
  cookie?: string;
  /** Why the connection was cut (before or during the response), if it was. */
  cut?: string;
  /** From the call to the end of the response (or the cut). */
  ms: number;
}

/**
 * GETs `path` from 127.0.0.1:`port` accepting JSON, with `cookie` and `headers` added; with
 * `timeoutMs`, a request not answered by then is cut. Resolves whatever happens.
 */
export function getOnNewConnection(
  port: number,
  path: string,
  options: { cookie?: string; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<FreshReply> {
  const started = Date.now();
  return new Promise((resolve) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        headers: {
          accept: 'application/json',
          ...options.headers,
          ...(options.cookie ? { cookie: options.cookie } : {}),
        },
        agent: false,
        ...(options.timeoutMs !== undefined ? { timeout: options.timeoutMs } : {}),
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode,
            text,
            cookie: res.headers['set-cookie']?.[0]?.split(';')[0],
            ms: Date.now() - started,
          }),
        );
        res.on('error', (err) =>
          resolve({ status: res.statusCode, text, cut: err.message, ms: Date.now() - started }),
        );
      },
    );
    req.on('timeout', () =>
      req.destroy(new Error(`no answer to ${path} within ${options.timeoutMs} ms`)),
    );
    req.on('error', (err) => resolve({ text: '', cut: err.message, ms: Date.now() - started }));
    req.end();
  });
}
