/**
 * One raw HTTPS request to a local server, for tests that assert exact wire answers
 * (status, content type, body text and its JSON when it parses).
 */
import { request, type Dispatcher } from 'undici';

export interface HttpAnswer {
  status: number;
  type: string;
  text: string;
  /** The body parsed as JSON, or `undefined` when it is not JSON. */
  json: unknown;
}

export interface RawHttpsOptions {
  dispatcher: Dispatcher;
  method?: 'GET' | 'POST';
  /** A string is sent as is (malformed JSON on purpose); anything else as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string | undefined;
}

export async function rawHttps(url: string, options: RawHttpsOptions): Promise<HttpAnswer> {
  const { body } = options;
  const response = await request(url, {
    method: options.method ?? 'POST',
    dispatcher: options.dispatcher,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...options.headers,
    },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.body.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return {
    status: response.statusCode,
    type: String(response.headers['content-type']),
    text,
    json,
  };
}
