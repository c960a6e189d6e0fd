/**
 * HTML and form plumbing of the claims-gathering page: rendering (escaped, no script, no
 * style), the response headers that keep the page out of frames and caches, and reading an
 * urlencoded POST body with a size limit.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Largest accepted form body. */
export const MAX_FORM_BYTES = 16 * 1024;

/** One input of the claims form. */
export interface ClaimField {
  /** Claim name: the input's `name` and `id`. */
  name: string;
  label: string;
  type: 'email' | 'text';
}

/** A request body that cannot be read as a form; `status` is the HTTP answer to give. */
export class FormBodyError extends Error {
  override readonly name = 'FormBodyError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
</head>
<body>
<main>
<h1>${escapeHtml(title)}</h1>
${body}
</main>
</body>
</html>
`;
}

/** The form asking for `fields`; posts back to `action` with the ticket in a hidden input. */
export function renderClaimsForm(options: {
  action: string;
  ticket: string;
  fields: readonly ClaimField[];
  values?: Readonly<Record<string, string>>;
  error?: string;
}): string {
  const { action, ticket, fields, values = {}, error } = options;
  const intro =
    fields.length === 0
      ? '<p>No further information is needed. Continue to return to the application.</p>'
      : '<p>The application needs the following information before it can grant access.</p>';
  const alert = error ? `<p role="alert" id="error">${escapeHtml(error)}</p>\n` : '';
  const inputs = fields
    .map((field) => {
      const id = escapeHtml(field.name);
      const value = values[field.name];
      const valueAttr = value === undefined ? '' : ` value="${escapeHtml(value)}"`;
      return `<p><label for="${id}">${escapeHtml(field.label)}</label>
<input id="${id}" name="${id}" type="${field.type}" required${valueAttr}></p>`;
    })
    .join('\n');
  return page(
    'Additional information required',
    `${alert}${intro}
<form method="post" action="${escapeHtml(action)}">
<input type="hidden" name="ticket" value="${escapeHtml(ticket)}">
${inputs}
<p><button type="submit" id="submit">Continue</button></p>
</form>`,
  );
}

/** A page with a single message (invalid link, server failure). */
export function renderMessagePage(title: string, message: string): string {
  return page(title, `<p role="alert" id="error">${escapeHtml(message)}</p>`);
}

/** Sends an HTML page with headers that forbid framing, caching and referrer leaks. */
export function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(html));
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'");
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.end(html);
}

/**
 * Reads an `application/x-www-form-urlencoded` body of at most {@link MAX_FORM_BYTES}. A larger
 * body is drained (not kept) so that the connection can still carry the 413 answer.
 */
export function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    req.resume();
    return Promise.reject(
      new FormBodyError(415, 'Send the form as application/x-www-form-urlencoded.'),
    );
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_FORM_BYTES) chunks.push(chunk);
    });
    req.on('error', reject);
    req.on('end', () => {
      if (size > MAX_FORM_BYTES) {
        reject(new FormBodyError(413, 'The form is too large.'));
      } else {
        resolve(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
      }
    });
  });
}
