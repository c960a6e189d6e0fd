import type { IncomingMessage, ServerResponse } from 'node:http';
import connect from 'connect';
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
    expect(api.body).toEqual({ error, error_description: err.message, code: err.code });
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
    const err = new OxdCommandError('get_user_info', {
      error: 'http_status_401',
      error_description: `invalid token ${JWT} and opaque ${'a1B2'.repeat(12)}`,
    });
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
    expect(response.text).toBe(`custom ${ERROR_CODES.TRANSPORT}`);
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
