import type { IncomingMessage, ServerResponse } from 'node:http';
import connect from 'connect';
import express from 'express';
import helmet from 'helmet';
import request from 'supertest';
import {
  ERROR_CODES,
  OxdAuthError,
  OxdCommandError,
  OxdConfigError,
  OxdError,
  OxdProtocolError,
  OxdTimeoutError,
  OxdTransportError,
  oxdErrorHandler,
} from '../../src';
import { redactTokens } from '../../src/middleware/error-page';

const JWT =
  'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIyNDgyODk3NjEwMDEiLCJhdWQiOiJjbGllbnQifQ.c2lnbmF0dXJlLXZhbHVlLWhlcmU';

function appFailingWith(err: unknown, handler = oxdErrorHandler()) {
  const app = connect();
  app.use((_req: IncomingMessage, _res: ServerResponse, next: (err?: unknown) => void) =>
    next(err),
  );
  app.use(handler);
  return app;
}

describe('oxdErrorHandler', () => {
  test.each<[string, OxdError, number, string, string]>([
    [
      'an unreachable oxd',
      new OxdTransportError('connect ECONNREFUSED 127.0.0.1:8099'),
      503,
      'Login is unavailable',
      'oxd_unavailable',
    ],
    [
      'an oxd timeout',
      new OxdTimeoutError(ERROR_CODES.RESPONSE_TIMEOUT, 'no answer within 30000 ms', 30000),
      504,
      'Login is unavailable',
      'oxd_timeout',
    ],
    [
      'a garbled answer',
      new OxdProtocolError('bad frame'),
      502,
      'Login failed',
      'oxd_protocol_error',
    ],
    [
      'an oxd command error',
      new OxdCommandError('get_tokens_by_code', { error: 'bad_request', error_description: 'x' }),
      502,
      'Login failed',
      'oxd_command_failed',
    ],
    [
      'a state mismatch',
      new OxdAuthError(ERROR_CODES.STATE_MISMATCH, 'no such state', { status: 400 }),
      400,
      'Login could not be completed',
      'invalid_state',
    ],
    [
      'a configuration problem',
      new OxdConfigError('bad option', { key: 'routes' }),
      500,
      'Login is not set up correctly',
      'server_misconfigured',
    ],
  ])('renders %s with its status, as HTML or JSON', async (_name, err, status, title, error) => {
    const app = appFailingWith(err);
    const page = await request(app).get('/').set('Accept', 'text/html');
    expect(page.status).toBe(status);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.text).toContain(`<title>${title}</title>`);
    expect(page.text).toContain(err.code);
    const api = await request(app).get('/').set('Accept', 'application/json');
    expect(api.status).toBe(status);
    expect(api.body).toEqual({
      error,
      error_description: err.expose ? err.message : expect.not.stringContaining(err.message),
      code: err.code,
    });
  });

  test('a JSON answer to a 5xx carries general advice, never the message with its file or URL', async () => {
    const err = new OxdConfigError(
      'cannot read /etc/secret/site.cfg via https://oxd.internal:8443/',
      {
        file: '/etc/secret/site.cfg',
      },
    );
    const api = await request(appFailingWith(err)).get('/').set('Accept', 'application/json');
    expect(api.status).toBe(500);
    expect(api.body.code).toBe(err.code);
    expect(api.body.error_description).toEqual(expect.any(String));
    expect(api.body.error_description.length).toBeGreaterThan(0);
    expect(JSON.stringify(api.body)).not.toContain('/etc/secret');
    expect(JSON.stringify(api.body)).not.toContain('oxd.internal');
  });

  test('escapes HTML in messages', async () => {
    const err = new OxdAuthError(ERROR_CODES.OP_ERROR, 'OP said <script>alert(1)</script>', {
      status: 400,
      opError: 'access_denied',
    });
    const page = await request(appFailingWith(err)).get('/').set('Accept', 'text/html');
    expect(page.text).not.toContain('<script>');
    expect(page.text).toContain('&lt;script&gt;');
  });

  test('never shows a token that ended up in an error message', async () => {
    // Exposed, so that the page shows the message at all (a 502 hides it by default).
    const err = new OxdCommandError(
      'get_user_info',
      {
        error: 'http_status_401',
        error_description: `invalid token ${JWT} and opaque ${'a1B2'.repeat(12)}`,
      },
      { expose: true },
    );
    const app = appFailingWith(err);
    const page = await request(app).get('/').set('Accept', 'text/html');
    const api = await request(app).get('/').set('Accept', 'application/json');
    for (const body of [page.text, JSON.stringify(api.body)]) {
      expect(body).not.toContain(JWT);
      expect(body).not.toContain('a1B2a1B2a1B2');
      expect(body).toContain('[redacted]');
    }
  });

  test('passes errors that are not OxdErrors on', async () => {
    const response = await request(appFailingWith(new Error('something else')))
      .get('/')
      .set('Accept', 'application/json');
    expect(response.status).toBe(500);
    expect(response.text).not.toContain('"code"');
  });

  test('uses a custom renderer', async () => {
    const handler = oxdErrorHandler({
      render: (err, _req, res) => {
        res.statusCode = err.status;
        res.end(`custom ${err.code}`);
      },
    });
    const response = await request(appFailingWith(new OxdTransportError('down'), handler)).get('/');
    expect(response.status).toBe(503);
    expect(response.text).toBe(`custom ${ERROR_CODES.TRANSPORT_FAILED}`);
  });

  test('refuses a renderer that is not a function at start-up', () => {
    expect(() => oxdErrorHandler({ render: 'page' as never })).toThrow(OxdConfigError);
  });

  test('redactTokens keeps ordinary text', () => {
    expect(redactTokens('connect ECONNREFUSED 127.0.0.1:8099')).toBe(
      'connect ECONNREFUSED 127.0.0.1:8099',
    );
  });
});

describe('oxdErrorHandler page: what reaches the person in front of the browser', () => {
  const PATH = '/etc/express-oxd/yoursite.cfg';
  const OXD_URL = 'https://oxd.internal.example:8443/get-tokens-by-code';

  test.each<[string, OxdError]>([
    [
      'a configuration error naming a file',
      new OxdConfigError(`cannot rewrite ${PATH}: EACCES`, {
        code: ERROR_CODES.CONFIG_WRITE_FAILED,
      }),
    ],
    ['an unreachable oxd naming its URL', new OxdTransportError(`fetch ${OXD_URL} failed`)],
    [
      'an oxd command error naming its URL',
      new OxdCommandError('get_tokens_by_code', {
        error: 'http_status_500',
        error_description: `POST ${OXD_URL} answered 500`,
      }),
    ],
  ])('%s (5xx) shows a generic explanation and the code, not the message', async (_n, err) => {
    expect(err.status).toBeGreaterThanOrEqual(500);
    expect(err.expose).toBe(false);
    const page = await request(appFailingWith(err)).get('/').set('Accept', 'text/html');
    expect(page.status).toBe(err.status);
    expect(page.text).not.toContain(PATH);
    expect(page.text).not.toContain('oxd.internal.example');
    expect(page.text).not.toContain('EACCES');
    expect(page.text).toContain(`Error code: ${err.code}`);
    expect(page.text).toMatch(/Please try again|The site owner has to fix this/);
  });

  test('a 4xx error shows its message', async () => {
    const err = new OxdAuthError(
      ERROR_CODES.OP_ERROR,
      'The OP answered access_denied: no consent',
      {
        status: 400,
        opError: 'access_denied',
      },
    );
    expect(err.expose).toBe(true);
    const page = await request(appFailingWith(err)).get('/').set('Accept', 'text/html');
    expect(page.status).toBe(400);
    expect(page.text).toContain('The OP answered access_denied: no consent');
  });

  test('expose can be set either way when the error is created', async () => {
    const shown = new OxdError(ERROR_CODES.COMMAND_FAILED, 'safe to show: try another scope', {
      status: 502,
      expose: true,
    });
    const hidden = new OxdAuthError(ERROR_CODES.STATE_MISMATCH, `state kept in ${PATH}`, {
      status: 400,
      expose: false,
    });
    const shownPage = await request(appFailingWith(shown)).get('/').set('Accept', 'text/html');
    expect(shownPage.text).toContain('safe to show: try another scope');
    const hiddenPage = await request(appFailingWith(hidden)).get('/').set('Accept', 'text/html');
    expect(hiddenPage.status).toBe(400);
    expect(hiddenPage.text).not.toContain(PATH);
  });

  test('subclasses default expose from their status', () => {
    expect(new OxdTransportError('x').expose).toBe(false);
    expect(new OxdTimeoutError(ERROR_CODES.CONNECT_TIMEOUT, 'x', 1).expose).toBe(false);
    expect(new OxdProtocolError('x').expose).toBe(false);
    expect(new OxdConfigError('x').expose).toBe(false);
    expect(new OxdAuthError(ERROR_CODES.UNAUTHENTICATED, 'x', { status: 401 }).expose).toBe(true);
    expect(new OxdTransportError('x', { expose: true }).expose).toBe(true);
  });

  test('is styled by itself, with no external resource, and links home', async () => {
    const page = await request(appFailingWith(new OxdTransportError('down')))
      .get('/deep/page?x=1')
      .set('Accept', 'text/html');
    expect(page.text).toMatch(/<style>[^<]*max-width[^<]*<\/style>/);
    expect(page.text).not.toMatch(/<link\b|<script\b|\bsrc=|url\(/);
    expect(page.text).toContain('<a href="/">Back to the home page</a>');
  });

  test('links to the mount point of the application it serves', async () => {
    const sub = express();
    sub.get('/page', (_req, _res, next) => next(new OxdTransportError('down')));
    sub.use(oxdErrorHandler());
    const app = express();
    app.use('/shop', sub);
    const page = await request(app).get('/shop/page').set('Accept', 'text/html');
    expect(page.status).toBe(503);
    expect(page.text).toContain('<a href="/shop/">Back to the home page</a>');
  });

  test('leaves its style out under a CSP that blocks inline styles', async () => {
    const app = express();
    app.use(helmet({ contentSecurityPolicy: { directives: { styleSrc: ["'self'"] } } }));
    app.get('/', (_req, _res, next) => next(new OxdTransportError('down')));
    app.use(oxdErrorHandler());
    const page = await request(app).get('/').set('Accept', 'text/html');
    expect(page.headers['content-security-policy']).toContain("style-src 'self'");
    expect(page.status).toBe(503);
    expect(page.text).not.toContain('<style>');
    expect(page.text).toContain('Login is unavailable');
    expect(page.text).toContain('<a href="/">Back to the home page</a>');
  });

  test("keeps its style under a CSP that allows inline styles (helmet's defaults)", async () => {
    const app = express();
    app.use(helmet());
    app.get('/', (_req, _res, next) => next(new OxdTransportError('down')));
    app.use(oxdErrorHandler());
    const page = await request(app).get('/').set('Accept', 'text/html');
    expect(page.headers['content-security-policy']).toContain("'unsafe-inline'");
    expect(page.text).toContain('<style>');
  });
});
