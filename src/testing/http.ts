/**
 * The few HTTP chores every server of the local stack shares: escaping text into HTML,
 * sending an HTML page with headers that keep it out of frames, caches and referrers, and
 * reading a request body with a size limit.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendHtml } from '../http/response';

/** A request body that cannot be accepted; `status` is the HTTP answer to give (413, 415). */
export class BodyError extends Error {
  override readonly name = 'BodyError';
  constructor(
    readonly status: 413 | 415,
    message: string,
  ) {
    super(message);
  }
}

/** Escapes text for HTML element content and quoted attribute values (numeric entities). */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * Sends an HTML page, not cached, with `csp` as its Content-Security-Policy and headers that
 * forbid framing, MIME sniffing and referrer leaks.
 */
export function sendPage(res: ServerResponse, status: number, html: string, csp: string): void {
  res.setHeader('Content-Security-Policy', csp);
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  sendHtml(res, status, html);
}

/**
 * Reads a request body of at most `maxBytes` as UTF-8. A larger body is drained (not kept),
 * so that the connection can still carry the 413 answer, and then rejected with a
 * {@link BodyError}.
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) chunks.push(chunk);
    });
    req.on('error', reject);
    req.on('end', () => {
      if (size > maxBytes) reject(new BodyError(413, 'The request body is too large.'));
      else resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}

/** Reads an `application/x-www-form-urlencoded` body of at most `maxBytes`. */
export async function readForm(req: IncomingMessage, maxBytes: number): Promise<URLSearchParams> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    req.resume();
    throw new BodyError(415, 'Send the form as application/x-www-form-urlencoded.');
  }
  try {
    return new URLSearchParams(await readBody(req, maxBytes));
  } catch (err) {
    if (err instanceof BodyError) throw new BodyError(413, 'The form is too large.');
    throw err;
  }
}
