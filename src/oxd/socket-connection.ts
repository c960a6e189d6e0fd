/**
 * One TCP connection to oxd-server 3.x, carrying at most one request at a time. It sends the
 * request's frame, reads exactly one answer frame, and destroys itself on anything else
 * (a second frame, a bad frame, an early close, a socket error, its connect deadline), so a
 * late answer can never reach the next request. The pool in `socket-transport.ts` decides
 * which request it carries and when a new connection is opened.
 */
import type { Socket } from 'node:net';
import { debuglog } from 'node:util';
import {
  ERROR_CODES,
  errorMessage,
  OxdProtocolError,
  OxdTimeoutError,
  OxdTransportError,
} from '../errors';
import { readEnvelope } from './envelope';
import { FrameDecoder, MAX_FRAME_PAYLOAD } from './framing';
import type { OxdReply } from './transport';

const debug = debuglog('express-oxd');

/** One command on its way: queued in the pool, then carried by a connection. */
export interface Job {
  readonly command: string;
  readonly frame: string;
  /** `performance.now()` when the command was asked. */
  readonly askedAt: number;
  /** Its deadline, counted from `askedAt`, in milliseconds. */
  readonly timeoutMs: number;
  /** Settles the caller's promise and stops the deadline timer; later calls do nothing. */
  readonly resolve: (reply: OxdReply) => void;
  readonly reject: (error: Error) => void;
  /** The connection carrying it, once it has left the queue. */
  connection?: Connection | undefined;
  /** Whether its frame was written to oxd (a new connection may still be connecting). */
  sent?: boolean | undefined;
}

/** What a connection needs from its pool. */
export interface PoolSide {
  readonly where: string;
  readonly connectTimeoutMs: number;
  /** The connection finished a request and can take another. */
  release(connection: Connection): void;
  /** The connection is unusable and has been destroyed. */
  remove(connection: Connection): void;
}

/** Turns one `{status, data}` payload into an {@link OxdReply}; null fields count as absent. */
function parseReply(payload: string, command: string, where: string): OxdReply {
  let body: unknown;
  try {
    body = JSON.parse(payload);
  } catch (error) {
    throw new OxdProtocolError(
      `oxd-server at ${where} answered ${command} with a frame that is not JSON; ` +
        'check that host and port point at an oxd-server 3.x socket',
      ERROR_CODES.PROTOCOL_ERROR,
      { cause: error },
    );
  }
  const reply = readEnvelope(body);
  if (!reply) {
    throw new OxdProtocolError(
      `oxd-server at ${where} answered ${command} with JSON that is not an oxd ` +
        '{"status":"ok"|"error","data":{…}} response; check that host and port point at an oxd-server 3.x socket',
    );
  }
  return reply;
}

let nextConnectionId = 1;

/** One TCP connection to oxd; at most one request in flight. */
export class Connection {
  readonly id = nextConnectionId++;
  /** Settles once the socket has fully closed. */
  readonly closed: Promise<void>;
  private readonly socket: Socket;
  private readonly decoder = new FrameDecoder();
  private connected = false;
  private dead = false;
  private job: Job | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Bytes received since the current request was written. */
  private received = 0;

  constructor(
    private readonly pool: PoolSide,
    open: (host: string, port: number) => Socket,
    host: string,
    port: number,
  ) {
    this.socket = open(host, port);
    this.closed = new Promise((resolve) => this.socket.once('close', () => resolve()));
    this.socket.on('connect', () => this.onConnect());
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('end', () => this.onEnd());
    this.socket.on('error', (error) => this.onError(error));
    this.socket.on('close', () => this.discard('socket closed'));
    this.timer = setTimeout(() => {
      this.fail(
        new OxdTimeoutError(
          ERROR_CODES.CONNECT_TIMEOUT,
          `could not connect to oxd-server at ${pool.where} within ${pool.connectTimeoutMs} ms; ` +
            'check that oxd-server is running and that [oxd] host and port are right',
          pool.connectTimeoutMs,
        ),
      );
    }, pool.connectTimeoutMs);
    debug('oxd socket #%d connecting to %s', this.id, pool.where);
  }

  /** Gives the connection its next request; it is sent as soon as the socket is connected. */
  run(job: Job): void {
    this.job = job;
    job.connection = this;
    this.socket.ref();
    if (this.connected) this.write();
  }

  /** Destroys the socket; a pending request rejects with `error`. */
  fail(error: Error): void {
    const job = this.job;
    this.job = undefined;
    this.discard(error.message);
    job?.reject(error);
  }

  private discard(reason: string): void {
    if (this.dead) return;
    this.dead = true;
    clearTimeout(this.timer);
    this.socket.destroy();
    debug('oxd socket #%d discarded: %s', this.id, reason);
    this.pool.remove(this);
    // A socket that closes on its own while a request is pending has already failed it
    // through 'end' or 'error'; this only guards against a close with neither.
    this.job?.reject(this.brokenError('closed the connection'));
    this.job = undefined;
  }

  private onConnect(): void {
    clearTimeout(this.timer);
    this.connected = true;
    this.socket.setNoDelay(true);
    debug('oxd socket #%d connected', this.id);
    if (this.job) this.write();
  }

  private write(): void {
    const job = this.job;
    if (!job) return;
    this.received = 0;
    debug('oxd socket #%d -> %s (%d chars)', this.id, job.command, job.frame.length);
    job.sent = true;
    this.socket.write(job.frame);
  }

  private onData(chunk: Buffer): void {
    if (this.dead) return;
    const job = this.job;
    if (!job) {
      this.discard(`${chunk.length} unexpected bytes while no request was pending`);
      return;
    }
    this.received += chunk.length;
    let payloads: string[];
    try {
      payloads = this.decoder.push(chunk);
    } catch (error) {
      const detail = errorMessage(error);
      this.fail(
        new OxdProtocolError(
          `oxd-server at ${this.pool.where} answered ${job.command} with a bad frame: ${detail}`,
          ERROR_CODES.PROTOCOL_ERROR,
          { cause: error },
        ),
      );
      return;
    }
    const [payload] = payloads;
    if (payload === undefined) return;
    if (payloads.length > 1 || this.decoder.pending) {
      this.fail(
        new OxdProtocolError(
          `oxd-server at ${this.pool.where} sent more than one response to ${job.command}; ` +
            'the connection has been discarded',
        ),
      );
      return;
    }
    let reply: OxdReply;
    try {
      reply = parseReply(payload, job.command, this.pool.where);
    } catch (error) {
      this.fail(error as Error);
      return;
    }
    clearTimeout(this.timer);
    this.job = undefined;
    debug('oxd socket #%d <- %s %s', this.id, job.command, reply.ok ? 'ok' : reply.error);
    // oxd closes the connection after its generic internal_error answer (and possibly after
    // other internal errors): do not hand this one to the next request.
    if (!reply.ok && reply.error === 'internal_error') this.discard('after internal_error');
    else this.pool.release(this);
    job.resolve(reply);
  }

  private onEnd(): void {
    if (this.dead) return;
    const job = this.job;
    if (!job) {
      this.discard('closed by oxd-server while idle');
      return;
    }
    this.fail(
      this.received === 0
        ? new OxdTransportError(
            `oxd-server at ${this.pool.where} closed the connection without answering ${job.command}. ` +
              `The response was probably larger than the ${MAX_FRAME_PAYLOAD}-character limit of the ` +
              'socket protocol (oxd then closes without sending anything): use the HTTPS transport ' +
              '(oxd-https-extension) for such responses; otherwise check that oxd-server is running',
          )
        : this.brokenError(
            `closed the connection in the middle of the answer (${this.received} bytes)`,
          ),
    );
  }

  private onError(error: Error): void {
    if (this.dead) return;
    const code = (error as NodeJS.ErrnoException).code ?? error.message;
    const job = this.job;
    if (!job) {
      this.discard(`socket error ${code} while idle`);
      return;
    }
    const message = this.connected
      ? `the connection to oxd-server at ${this.pool.where} failed during ${job.command} (${code}); ` +
        'check that oxd-server is running'
      : `cannot connect to oxd-server at ${this.pool.where} (${code}); ` +
        'check that oxd-server is running and that [oxd] host and port are right';
    this.fail(new OxdTransportError(message, { cause: error }));
  }

  private brokenError(what: string): OxdTransportError {
    const command = this.job?.command ?? 'a request';
    return new OxdTransportError(
      `oxd-server at ${this.pool.where} ${what} while handling ${command}; check that oxd-server is running`,
    );
  }

  /** Marks the connection idle: it must not keep the process alive. */
  park(): void {
    this.socket.unref();
  }
}
