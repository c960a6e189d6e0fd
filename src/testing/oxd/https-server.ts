/**
 * The HTTPS side of the local oxd server, one request handler for two dialects:
 * - `POST /<command-with-dashes>`: oxd-server 4.x REST (bare data; errors with 4.x HTTP
 *   statuses and `{error, error_description}`; `Authorization: Bearer` checked per command);
 * - `POST /v3/<command-with-dashes>`: the oxd-https-extension 3.x envelope with HTTP 200
 *   (`http_status_<N>` errors become HTTP N `{code, message}`; a missing or non-`Bearer `
 *   Authorization header is the extension's 403).
 * Plus `GET /health-check` (`running`), `GET /get-request-object/<id>` (the JWTs of
 * get_request_uri, as text) and the UMA claims-gathering page.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { debuglog } from 'node:util';
import { BodyError, readBody } from '../http';
import { dropwizardError } from './failure';
import type { Dialect } from './params';
import type { OxdProfile } from './profiles';
import type { CommandProcessor, ProcessResult } from './processor';
import { commandForPath, envelope } from './processor';
import { REQUEST_OBJECT_PATH, type RequestObjectStore } from './request-objects';

const debug = debuglog('express-oxd');

/** Largest request body accepted. */
const MAX_BODY_BYTES = 1024 * 1024;
const V3_PREFIX = '/v3/';
/** 3.x commands the https-extension forwards without an Authorization header. */
const V3_OPEN = new Set(['setup_client', 'get_client_token']);
/**
 * The commands oxd-https-extension 3.1.x serves (its `RestResource` paths, the same in 3.1.3
 * and 3.1.4): no get_rp, no check-id-token / check-access-token.
 */
const V3_ROUTES = new Set([
  'setup_client',
  'get_client_token',
  'introspect_access_token',
  'introspect_rpt',
  'register_site',
  'update_site',
  'remove_site',
  'get_authorization_url',
  'get_tokens_by_code',
  'get_user_info',
  'get_logout_uri',
  'get_access_token_by_refresh_token',
  'uma_rs_protect',
  'uma_rs_check_access',
  'uma_rp_get_rpt',
  'uma_rp_get_claims_gathering_url',
]);
/** Jackson's words for an empty body (`RestResource.read` puts them after "Message: "). */
const NO_CONTENT = 'No content to map due to end-of-input';

/** The https-extension's 403: a Dropwizard error whose message is the oxd envelope as text. */
const V3_FORBIDDEN = {
  code: 403,
  message: JSON.stringify({
    status: 'error',
    data: { error: '403', error_description: 'Forbidden Access', details: null },
  }),
};

export interface HttpsHandlerOptions {
  processor: CommandProcessor;
  /** Whether 4.x REST routes check tokens (`protect_commands_with_access_token`). */
  protect: boolean;
  /**
   * Whether the oxd-server behind `/v3/` checks tokens (its `oxd-conf.json`, the socket's
   * setting); the extension's own header check is always made.
   */
  protectV3: boolean;
  /** The UMA claims-gathering page; returns false when the request is not for it. */
  claimsGathering: (req: IncomingMessage, res: ServerResponse) => boolean;
  /** The request objects of get_request_uri. */
  requestObjects: RequestObjectStore;
  /** Which dialects are served: `/v3/` with a 3.x line, root paths with a 4.x line. */
  profile: OxdProfile;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.statusCode = status;
  res.setHeader(
    'Content-Type',
    typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
  );
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.setHeader('Cache-Control', 'no-store');
  res.end(text);
}

/** Dropwizard's answer to an unexpected exception. */
function dropwizard500(res: ServerResponse): void {
  send(res, 500, dropwizardError().options.httpBody);
}

/**
 * Parses the body like oxd's JSON reader. An empty body is `{}` for 4.2+ (`safeToJson`),
 * a 400 for the 3.x extension and 4.1, whose `read` hands it to Jackson as it is.
 */
function parseParams(
  body: string,
  emptyIsObject: boolean,
): { params: Record<string, unknown> } | { problem: string } {
  if (body.trim() === '') return emptyIsObject ? { params: {} } : { problem: NO_CONTENT };
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (err) {
    return { problem: (err as Error).message };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { problem: 'the body must be a JSON object of command parameters' };
  }
  return { params: value as Record<string, unknown> };
}

function sendV3(res: ServerResponse, result: ProcessResult): void {
  const upstream = result.ok ? null : /^http_status_(\d{3})$/.exec(result.error);
  if (!result.ok && upstream) {
    const status = Number(upstream[1]);
    send(res, status, { code: status, message: result.error_description });
    return;
  }
  send(res, 200, envelope(result));
}

function sendV4(res: ServerResponse, result: ProcessResult): void {
  if (result.ok) {
    send(res, 200, result.data);
    return;
  }
  const body =
    result.httpBody ??
    (result.details === undefined || result.details === null
      ? { error: result.error, error_description: result.error_description }
      : {
          error: result.error,
          error_description: result.error_description,
          details: result.details,
        });
  send(res, result.httpStatus, body);
}

export function createHttpsHandler(options: HttpsHandlerOptions): RequestListener {
  const { processor, protect } = options;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (options.claimsGathering(req, res)) return;
    const { pathname } = new URL(req.url ?? '/', 'https://oxd.invalid');
    if (pathname === '/health-check' && req.method === 'GET') {
      send(res, 200, 'running');
      return;
    }
    if (pathname.startsWith(REQUEST_OBJECT_PATH) && req.method === 'GET') {
      const id = pathname.slice(REQUEST_OBJECT_PATH.length);
      const jwt = options.requestObjects.get(id);
      if (jwt === undefined) {
        send(res, 404, {
          error: 'request_object_not_found',
          error_description:
            'No request object has this id: it never existed or has expired; ask get_request_uri for a new one.',
        });
      } else {
        send(res, 200, jwt);
      }
      return;
    }
    const dialect: Dialect = pathname.startsWith(V3_PREFIX) ? 'https3' : 'https4';
    const name = pathname.slice(dialect === 'https3' ? V3_PREFIX.length : 1);
    const served = dialect === 'https3' ? options.profile.v3 : options.profile.v4;
    let command = served === undefined ? undefined : commandForPath(dialect, name);
    if (dialect === 'https3' && command !== undefined && !V3_ROUTES.has(command)) {
      command = undefined;
    }
    if (!command) {
      req.resume();
      send(res, 404, { code: 404, message: 'HTTP 404 Not Found' });
      return;
    }
    if (req.method !== 'POST') {
      req.resume();
      res.setHeader('Allow', 'POST');
      send(res, 405, { code: 405, message: 'HTTP 405 Method Not Allowed' });
      return;
    }
    let body: string;
    try {
      body = await readBody(req, MAX_BODY_BYTES);
    } catch (err) {
      if (err instanceof BodyError) {
        send(res, 413, { code: 413, message: 'HTTP 413 Request Entity Too Large' });
        return;
      }
      throw err;
    }
    const parsed = parseParams(body, served === '4.2');
    if ('problem' in parsed) {
      send(res, 400, `Invalid parameters. Message: ${parsed.problem}`);
      return;
    }
    const { params } = parsed;
    const authorization = req.headers.authorization;

    if (dialect === 'https3') {
      if (!V3_OPEN.has(command)) {
        const token = authorization?.startsWith('Bearer ') ? authorization.slice(7).trim() : '';
        if (token === '') {
          send(res, 403, V3_FORBIDDEN);
          return;
        }
        params.protection_access_token = token;
      }
      sendV3(
        res,
        await processor.process(command, params, { dialect, protect: options.protectV3 }),
      );
      return;
    }

    const oxdIdHeader = req.headers.authorizationoxdid;
    sendV4(
      res,
      await processor.process(command, params, {
        dialect,
        protect,
        authorization,
        authorizationOxdId: typeof oxdIdHeader === 'string' ? oxdIdHeader : undefined,
      }),
    );
  }

  return (req, res) => {
    handle(req, res).catch((err: unknown) => {
      debug('local oxd https: %s', (err as Error)?.stack ?? err);
      if (res.headersSent) res.destroy();
      else dropwizard500(res);
    });
  };
}
