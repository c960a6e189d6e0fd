/**
 * HTTPS transport: `POST <base>/<command-with-dashes>` with the params as the JSON body and
 * the protection token as `Authorization: Bearer`. Understands both HTTPS dialects — the
 * 3.x https-extension (`{status,data}` envelope in the body, errors mostly on HTTP 200) and
 * oxd-server 4.x (bare data, errors carried by the HTTP status) — and every error body shape
 * those servers produce.
 */
import { debuglog } from 'node:util';
import type { Agent, Dispatcher } from 'undici';
import {
  errorMessage,
  ERROR_CODES,
  OxdConfigError,
  OxdError,
  OxdProtocolError,
  OxdTimeoutError,
  OxdTransportError,
} from '../errors';
import type { ServerVersion } from './commands';
import { undici } from '../lazy-undici';
import { OXD_SETTINGS } from '../config/settings';
import { type Fail, failFor, isPlainObject as isRecord } from '../option-check';
import { errorReply, readEnvelope, type ErrorReply } from './envelope';
import { transportClosedError, type OxdReply, type OxdRequest, type Transport } from './transport';

const debug = debuglog('express-oxd');

/** How long an idle keep-alive connection to oxd stays open. */
const KEEP_ALIVE_TIMEOUT_MS = 30_000;

export interface HttpsTransportOptions {
  /**
   * Base URL of the oxd HTTPS server, e.g. `https://127.0.0.1:8443` or
   * `https://oxd.example.com/v3/`. A bare `host:port` gets `https://` prepended.
   */
  baseUrl: string;
  /** 3 = oxd-https-extension 3.x (`{status,data}` bodies), 4 = oxd-server 4.x (bare data). */
  serverVersion: ServerVersion;
  /** PEM CA certificate(s) to trust for the oxd server (ignored when `dispatcher` is given). */
  ca?: string | Buffer | undefined;
  /** An undici dispatcher to send through instead of an own keep-alive `Agent`. */
  dispatcher?: Dispatcher | undefined;
  /** Time allowed to open a connection (TCP + TLS). */
  connectTimeoutMs: number;
  /** Time allowed for oxd to answer once the request is sent. */
  responseTimeoutMs: number;
  /**
   * Largest answer body read from oxd, in bytes; a larger one fails with
   * `OXD_FRAME_TOO_LARGE` without being read further. Default 1 MiB.
   */
  maxResponseBytes?: number | undefined;
}

/** Defaults of the optional {@link HttpsTransportOptions}. */
export const HTTPS_TRANSPORT_DEFAULTS = {
  /** 1 MiB: oxd's largest answers (discovery-sized, a few kB) fit with a wide margin. */
  maxResponseBytes: OXD_SETTINGS.maxResponseBytes.default,
} as const;

const fail: Fail = failFor('HTTPS transport', OxdConfigError, ' ');

interface Target {
  origin: string;
  /** Path prefix without a trailing slash (`''` or `/v3`). */
  prefix: string;
}

/** Splits and checks the base URL once, at construction. */
function parseBaseUrl(baseUrl: string): Target {
  const trimmed = baseUrl.trim();
  const withScheme = /^[a-z][a-z\d+.-]*:\/\//i.test(trimmed) ? trimmed : `https://${trimmed}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch (cause) {
    throw new OxdConfigError(
      `oxd host ${JSON.stringify(baseUrl)} is not a valid URL; give the oxd HTTPS server as https://host:port`,
      { key: 'host' },
      { cause },
    );
  }
  if (url.protocol !== 'https:') {
    throw new OxdConfigError(
      `oxd host ${JSON.stringify(baseUrl)} uses ${url.protocol.slice(0, -1)}; the oxd HTTPS transport only speaks https://`,
      { key: 'host' },
    );
  }
  if (url.search || url.hash || url.username || url.password) {
    throw new OxdConfigError(
      `oxd host ${JSON.stringify(baseUrl)} must not carry a query, fragment or credentials`,
      { key: 'host' },
    );
  }
  return { origin: url.origin, prefix: url.pathname.replace(/\/+$/, '') };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Reads an error response in any of the shapes oxd servers produce: the `{status,data}`
 * envelope, `{error,error_description}`, Dropwizard's `{code,message}` (whose message may be
 * an envelope serialised as a string), or plain text.
 */
function parseErrorBody(text: string, httpStatus: number): ErrorReply {
  const body = parseJson(text);
  if (isRecord(body)) {
    const envelope = readEnvelope(body, httpStatus);
    if (envelope && !envelope.ok) return envelope;
    if (typeof body.error === 'string') return errorReply(body, body.error, httpStatus);
    if (typeof body.message === 'string' && 'code' in body) {
      const inner = parseJson(body.message);
      const envelope = readEnvelope(inner, httpStatus);
      if (envelope && !envelope.ok) return envelope;
      const code = typeof body.code === 'number' ? body.code : httpStatus;
      return {
        ok: false,
        error: `http_status_${code}`,
        error_description: body.message,
        httpStatus,
      };
    }
  }
  return {
    ok: false,
    error: `http_status_${httpStatus}`,
    error_description: text.trim() || undefined,
    httpStatus,
  };
}

const TLS_CODE = /CERT|SELF_SIGNED|TLS|SSL|ISSUER/i;

function errorCode(error: unknown): string | undefined {
  if (!isRecord(error) && !(error instanceof Error)) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

export class HttpsTransport implements Transport {
  readonly kind = 'https' as const;
  private readonly target: Target;
  private readonly serverVersion: ServerVersion;
  private readonly dispatcher: Dispatcher;
  private readonly ownedAgent: Agent | undefined;
  private readonly connectTimeoutMs: number;
  private readonly responseTimeoutMs: number;
  private readonly maxResponseBytes: number;
  private readonly inFlight = new Set<AbortController>();
  private closed = false;

  constructor(options: HttpsTransportOptions) {
    this.target = parseBaseUrl(options.baseUrl);
    this.serverVersion = options.serverVersion;
    this.connectTimeoutMs = options.connectTimeoutMs;
    this.responseTimeoutMs = options.responseTimeoutMs;
    const cap = options.maxResponseBytes ?? HTTPS_TRANSPORT_DEFAULTS.maxResponseBytes;
    if (!Number.isSafeInteger(cap) || cap < 1) {
      fail(
        'maxResponseBytes',
        `must be a positive integer, got ${String(options.maxResponseBytes)}`,
      );
    }
    this.maxResponseBytes = cap;
    if (options.dispatcher) {
      this.dispatcher = options.dispatcher;
    } else {
      const { Agent } = undici();
      this.ownedAgent = new Agent({
        keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
        connect: {
          timeout: options.connectTimeoutMs,
          ...(options.ca !== undefined ? { ca: options.ca } : {}),
        },
      });
      this.dispatcher = this.ownedAgent;
    }
  }

  async send(request: OxdRequest): Promise<OxdReply> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/json',
    };
    if (request.token !== undefined) headers.authorization = `Bearer ${request.token}`;
    return this.request(
      {
        method: 'POST',
        path: request.path,
        headers,
        body: JSON.stringify(request.params),
        deadlineMs: this.responseTimeoutMs,
        // Connecting has its own timeout (undici's) on top of the answer's.
        totalMs: this.connectTimeoutMs + this.responseTimeoutMs,
      },
      async (response, url) => {
        const text = await this.readBody(response, url);
        debug('POST %s -> %d', url, response.statusCode);
        return this.parse(response.statusCode, text, url);
      },
    );
  }

  /**
   * `GET /health-check` (oxd-https-extension 3.x and oxd-server 4.x answer `running`):
   * resolves on a 2xx answer, and on 401/403 (oxd 4.0 wants a token there: it answered).
   */
  async ping(timeoutMs: number): Promise<void> {
    const { status, url } = await this.request(
      { method: 'GET', path: 'health-check', deadlineMs: timeoutMs, totalMs: timeoutMs },
      async (response, url) => {
        await response.body.dump({ limit: this.maxResponseBytes });
        return { status: response.statusCode, url };
      },
    );
    if ((status >= 200 && status < 300) || status === 401 || status === 403) return;
    throw new OxdTransportError(
      `oxd at ${url} answered its health check with HTTP ${status}; check the oxd server`,
    );
  }

  /**
   * One request to oxd: `path` under the base URL, undici's headers and body timeouts at
   * `deadlineMs` (the time named when the answer is late) and the transport's own timer at
   * `totalMs`, so an injected dispatcher is bounded too. `read` takes the answer while the
   * timer still runs; the request can be aborted by {@link close}.
   */
  private async request<T>(
    call: {
      method: 'GET' | 'POST';
      path: string;
      headers?: Record<string, string>;
      body?: string;
      deadlineMs: number;
      totalMs: number;
    },
    read: (response: Dispatcher.ResponseData, url: string) => Promise<T>,
  ): Promise<T> {
    if (this.closed) throw this.closedError();
    const path = `${this.target.prefix}/${call.path.replace(/^\/+/, '')}`;
    const url = this.target.origin + path;
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, call.totalMs);
    this.inFlight.add(controller);
    try {
      const response = await this.dispatcher.request({
        origin: this.target.origin,
        path,
        method: call.method,
        ...(call.headers !== undefined ? { headers: call.headers } : {}),
        ...(call.body !== undefined ? { body: call.body } : {}),
        headersTimeout: call.deadlineMs,
        bodyTimeout: call.deadlineMs,
        signal: controller.signal,
      });
      return await read(response, url);
    } catch (error) {
      if (error instanceof OxdError) throw error;
      throw this.translate(error, url, timedOut, call.deadlineMs, controller);
    } finally {
      clearTimeout(timer);
      this.inFlight.delete(controller);
    }
  }

  /** Reads the answer as UTF-8 text, refusing it as soon as it exceeds the size cap. */
  private async readBody(response: Dispatcher.ResponseData, url: string): Promise<string> {
    const cap = this.maxResponseBytes;
    const tooLarge = (what: string) => {
      response.body.destroy();
      return new OxdProtocolError(
        `oxd at ${url} answered with ${what}, more than the ${cap}-byte limit for an oxd answer; ` +
          'the answer was not read. Check that [oxd] host points at the oxd HTTPS server ' +
          '(or raise the transport option maxResponseBytes if such answers are expected)',
        ERROR_CODES.FRAME_TOO_LARGE,
      );
    };
    const declared = Number(response.headers['content-length']);
    if (Number.isFinite(declared) && declared > cap) throw tooLarge(`${declared} bytes`);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > cap) throw tooLarge(`at least ${size} bytes`);
      chunks.push(chunk);
    }
    return new TextDecoder().decode(Buffer.concat(chunks, size));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const controller of this.inFlight) controller.abort();
    if (this.ownedAgent) await this.ownedAgent.close();
  }

  private parse(status: number, text: string, url: string): OxdReply {
    if (status < 200 || status > 299) return parseErrorBody(text, status);
    const body = text.trim() === '' ? (this.serverVersion === 4 ? {} : undefined) : parseJson(text);
    if (!isRecord(body)) {
      throw new OxdProtocolError(
        `oxd at ${url} answered HTTP ${status} with a body that is not a JSON object; ` +
          'check that [oxd] host points at the oxd HTTPS server',
      );
    }
    if (this.serverVersion === 4) return { ok: true, data: body };
    const reply = readEnvelope(body, status);
    if (!reply) {
      throw new OxdProtocolError(
        `oxd at ${url} answered without the {status,data} envelope of oxd-https-extension 3.x; ` +
          'if this is oxd-server 4.x, set [oxd] server_version=4',
      );
    }
    return reply;
  }

  private translate(
    error: unknown,
    url: string,
    timedOut: boolean,
    deadlineMs: number,
    controller: AbortController,
  ): OxdError {
    const code = errorCode(error);
    const reason = errorMessage(error);
    if (code === 'UND_ERR_CONNECT_TIMEOUT') {
      return new OxdTimeoutError(
        ERROR_CODES.CONNECT_TIMEOUT,
        `connecting to oxd at ${url} took longer than ${this.connectTimeoutMs} ms; check [oxd] host and that the server is running`,
        this.connectTimeoutMs,
        { cause: error },
      );
    }
    if (timedOut || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
      return new OxdTimeoutError(
        ERROR_CODES.RESPONSE_TIMEOUT,
        `oxd at ${url} did not answer within ${deadlineMs} ms`,
        deadlineMs,
        { cause: error },
      );
    }
    if (this.closed && (controller.signal.aborted || code === 'UND_ERR_DESTROYED')) {
      return this.closedError(error);
    }
    if (code !== undefined && TLS_CODE.test(code)) {
      return new OxdTransportError(
        `TLS connection to oxd at ${url} failed (${code}: ${reason}); if the server uses a self-signed ` +
          'certificate, set [oxd] ca_file to the PEM of the certificate or its CA',
        { cause: error },
      );
    }
    return new OxdTransportError(
      `request to oxd at ${url} failed (${code ?? reason}${code ? `: ${reason}` : ''}); ` +
        'check [oxd] host and that the oxd server is running (for a self-signed certificate set [oxd] ca_file)',
      { cause: error },
    );
  }

  private closedError(cause?: unknown): OxdError {
    return transportClosedError('HTTPS', cause);
  }
}
