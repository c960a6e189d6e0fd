/**
 * The form a back-channel logout POST carries. A body parser mounted before `oxdAuth()`
 * (`express.urlencoded()`, `express.text({ type: '*\/*' })`, `express.raw(...)`, …) may have
 * read the body already: its `req.body` (object, string or Buffer) is used then. Otherwise the
 * body is read here, at most `MAX_BODY_BYTES`, and a body that does not arrive within
 * `BODY_WAIT_MS` is refused rather than waited for (the answer then closes the connection).
 */
import type { IncomingMessage } from 'node:http';

/** Largest request body read; logout tokens are a few kilobytes. */
const MAX_BODY_BYTES = 64 * 1024;
/** How long the body may take to arrive once the headers are in. */
const BODY_WAIT_MS = 5_000;

/** The body cannot be read as a back-channel logout form; the message says why. */
export class LogoutBodyError extends Error {}

interface ParsedRequest extends IncomingMessage {
  body?: unknown;
  /** Set by body-parser (Express) once it has read the body. */
  _body?: unknown;
}

/** A form from what a body parser left in `req.body`, or `undefined` when it read nothing. */
function formFromParsed(req: ParsedRequest): URLSearchParams | undefined {
  const body = req.body;
  if (typeof body === 'string') return new URLSearchParams(body);
  if (Buffer.isBuffer(body)) return new URLSearchParams(body.toString('utf8'));
  const consumed = req._body === true || req.readableEnded;
  if (typeof body !== 'object' || body === null) {
    return consumed ? new URLSearchParams() : undefined;
  }
  const entries = Object.entries(body as Record<string, unknown>);
  if (entries.length === 0 && !consumed) return undefined;
  const form = new URLSearchParams();
  for (const [name, value] of entries) {
    for (const item of Array.isArray(value) ? value : [value]) {
      // A nested value (qs's extended syntax) is not a token: kept as a marker that fails.
      form.append(name, typeof item === 'string' ? item : '');
    }
  }
  return form;
}

function readStream(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (error: Error | undefined, text?: string) => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      if (error) reject(error);
      else resolve(text ?? '');
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        finish(new LogoutBodyError('the request body is too large'));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => finish(undefined, Buffer.concat(chunks).toString('utf8'));
    const onError = (err: Error) => finish(err);
    const timer = setTimeout(() => {
      finish(new LogoutBodyError(`the request body did not arrive within ${BODY_WAIT_MS} ms`));
    }, BODY_WAIT_MS);
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

/** The request's form: from a body parser's `req.body`, else read from the request. */
export async function readLogoutForm(req: IncomingMessage): Promise<URLSearchParams> {
  return formFromParsed(req as ParsedRequest) ?? new URLSearchParams(await readStream(req));
}
