/**
 * Writing responses on a bare node:http `ServerResponse` (no `res.redirect` / `res.json`,
 * which Connect does not have).
 */
import type { ServerResponse } from 'node:http';
import { OxdProtocolError } from '../errors';

/**
 * A URL oxd answered (`command` names the command) that the browser is to be sent to: an
 * absolute http(s) URL, else an `OxdProtocolError`.
 */
export function oxdUrl(value: string, command: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new OxdProtocolError(`oxd ${command} answered without a valid URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new OxdProtocolError(`oxd ${command} answered with a non-HTTP URL`);
  }
  return url;
}

/** 302 to `location`, not cached. */
export function redirect(res: ServerResponse, location: string): void {
  res.statusCode = 302;
  res.setHeader('Location', location);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Length', '0');
  res.end();
}

/** JSON escapes for characters that mean something to an HTML parser (the value is the same). */
const JSON_HTML_ESCAPES: Record<string, string> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
};

/**
 * A JSON body with `status`, not cached. `<`, `>` and `&` are written as `\u003c`, `\u003e`
 * and `\u0026`, and the type is marked `nosniff`: text taken from the request (the OP's
 * `error`, say) never appears as markup, even to a client that guesses the type.
 */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body).replace(/[<>&]/g, (char) => JSON_HTML_ESCAPES[char] ?? char);
  sendBody(res, status, 'application/json; charset=utf-8', text);
}

/** An HTML body with `status`, not cached, its type marked `nosniff`. */
export function sendHtml(res: ServerResponse, status: number, html: string): void {
  sendBody(res, status, 'text/html; charset=utf-8', html);
}

function sendBody(res: ServerResponse, status: number, type: string, body: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', type);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char] ?? char);
}

/** Extras of {@link htmlPage}. */
export interface HtmlPageOptions {
  /** CSS for a `<style>` element in the head; none when absent. */
  style?: string | undefined;
  /** A link after the paragraphs (`href` is escaped, not checked). */
  link?: { href: string; text: string } | undefined;
  /** A form of one button POSTing to `action` (escaped, not checked), before the link. */
  form?: { action: string; button: string } | undefined;
}

/** A minimal, self-contained HTML page: no scripts, no external resources. */
export function htmlPage(
  title: string,
  paragraphs: readonly string[],
  options: HtmlPageOptions = {},
): string {
  const body = paragraphs.map((text) => `<p>${escapeHtml(text)}</p>`).join('\n');
  const style = options.style ? `<style>${options.style}</style>` : '';
  const form = options.form
    ? `\n<form method="post" action="${escapeHtml(options.form.action)}">` +
      `<button type="submit">${escapeHtml(options.form.button)}</button></form>`
    : '';
  const link = options.link
    ? `\n<p><a href="${escapeHtml(options.link.href)}">${escapeHtml(options.link.text)}</a></p>`
    : '';
  return (
    '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    `<title>${escapeHtml(title)}</title>${style}</head>\n` +
    `<body><h1>${escapeHtml(title)}</h1>\n${body}${form}${link}\n</body></html>\n`
  );
}
