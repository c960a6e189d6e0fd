/**
 * The look of the local OP's and UMA server's pages, after the demo site's (palette, card,
 * buttons): one inline style allowed by its hash, and an inline icon, so that the pages load
 * nothing else under a strict Content-Security-Policy.
 */
import { createHash } from 'node:crypto';
import { escapeHtml } from './http';

/** The demo's look (palette, card, buttons), small enough to inline. */
export const PAGE_STYLE =
  ':root{--ink:#1d2433;--muted:#5b6478;--line:#dfe3ec;--brand:#1f6f5c;--err:#b3261e;' +
  'color:var(--ink);background:#f4f6fa;font-family:system-ui,-apple-system,"Segoe UI",Roboto,' +
  'Arial,sans-serif;line-height:1.5}*{box-sizing:border-box}body{margin:0;padding:1rem}' +
  'main{max-width:26rem;margin:3rem auto;padding:1.5rem 1.75rem;background:#fff;' +
  'border:1px solid var(--line);border-radius:10px;overflow-wrap:anywhere}' +
  '.brand{color:var(--brand);font-weight:700;margin:0 0 1rem}' +
  'h1{font-size:1.45rem;line-height:1.25;margin:0 0 .75rem}a{color:var(--brand)}' +
  'label{display:block;margin:.8rem 0 .25rem;font-weight:500}' +
  'input{width:100%;padding:.55rem .7rem;font:inherit;border:1px solid var(--line);' +
  'border-radius:8px}input:focus{outline:2px solid var(--brand);outline-offset:1px}' +
  'button,.button{display:inline-block;margin:1rem .5rem 0 0;padding:.55rem 1.1rem;font:inherit;' +
  'font-weight:600;color:#fff;background:var(--brand);border:1px solid var(--brand);' +
  'border-radius:8px;cursor:pointer;text-decoration:none}' +
  '.quiet{color:var(--brand);background:#fff}' +
  '.error{color:var(--err);background:#fdecec;border:1px solid #f0a6a6;border-radius:8px;' +
  'padding:.5rem .75rem}.hint{color:var(--muted);font-size:.9rem}' +
  'code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9em;background:#eef1f6;' +
  'padding:.05em .35em;border-radius:4px}details{margin-top:1rem;color:var(--muted)}' +
  'dt{font-weight:600}dd{margin:0 0 .5rem}iframe{display:none}';

/** The demo's diamond mark as the page icon, so that browsers do not ask for /favicon.ico. */
export const PAGE_ICON =
  'data:image/svg+xml,%3Csvg xmlns=%22http://www.w3.org/2000/svg%22 viewBox=%220 0 32 32%22%3E' +
  '%3Crect width=%2232%22 height=%2232%22 rx=%226%22 fill=%22%231f6f5c%22/%3E' +
  '%3Cpath d=%22M16 6l10 10-10 10L6 16z%22 fill=%22%23fff%22/%3E%3C/svg%3E';

/** The CSP source that allows {@link PAGE_STYLE}. */
export const PAGE_STYLE_HASH = `'sha256-${createHash('sha256').update(PAGE_STYLE).digest('base64')}'`;

/**
 * The Content-Security-Policy directives that let a {@link styledPage} load its style and
 * icon; each page adds `default-src 'none'` and its own frame rules.
 */
export const PAGE_CSP_SOURCES: readonly string[] = [
  `style-src ${PAGE_STYLE_HASH}`,
  'img-src data:',
];

export interface StyledPageInput {
  /** The document title (escaped here). */
  title: string;
  /** The brand line above the content, e.g. `Local OpenID Provider`. */
  brand: string;
  /** The content of `<main>` after the brand line, already HTML. */
  body: string;
  /** Further `<head>` lines before `<title>`, already HTML, each ending in a newline. */
  head?: string;
}

/** A whole page in the shared look: doctype, meta, icon, inline style, brand line, `body`. */
export function styledPage({ title, brand, body, head = '' }: StyledPageInput): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${head}<title>${escapeHtml(title)}</title>
<link rel="icon" href="${PAGE_ICON}">
<style>${PAGE_STYLE}</style>
</head>
<body>
<main>
<p class="brand">◆ ${escapeHtml(brand)}</p>
${body}
</main>
</body>
</html>
`;
}
