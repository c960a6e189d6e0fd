/**
 * oxd-server 3.x socket transport: length-prefixed JSON over plain TCP.
 *
 * oxd serves one request at a time per connection and silently drops any bytes that follow
 * the first command in a read, so a connection here carries strictly one request at a time
 * and concurrency comes from a small pool of connections; requests beyond the pool wait in a
 * FIFO queue. The queue is bounded by time: every request has one deadline, the response
 * timeout counted from when it was asked, queue wait included, so a stalled oxd fails each
 * waiting request at its own deadline. Its count bound (`maxQueued`) only caps memory: it is
 * set far above any burst a pool can drain in time (a full queue refuses at once with
 * `OXD_BUSY`). Any
 * connection that misbehaves, times out or breaks is destroyed (so a late answer can never
 * reach the next request) and a fresh one is opened on demand.
 */
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import {
  errorMessage,
  ERROR_CODES,
  OxdBusyError,
  OxdConfigError,
  type OxdError,
  OxdProtocolError,
  OxdTimeoutError,
  OxdTransportError,
} from '../errors';
import { OXD_SETTINGS } from '../config/settings';
import { consoleLogger, type Logger } from '../logger';
import { type Fail, failFor } from '../option-check';
import { encodeFrame } from './framing';
import { Connection, type Job, type PoolSide } from './socket-connection';
import { transportClosedError, type OxdReply, type OxdRequest, type Transport } from './transport';
import { watchPool, type PoolGauge } from '../telemetry';

export interface SocketTransportOptions {
  /** oxd-server host name or IP address (oxd 3.x binds 127.0.0.1 unless told otherwise). */
  readonly host: string;
  /** oxd-server socket port (oxd's own default is 8099). */
  readonly port: number;
  /** Connections kept open at most; each carries one request at a time. Default 4. */
  readonly poolSize?: number | undefined;
  /** Time allowed to establish a TCP connection, in milliseconds. Default 5000. */
  readonly connectTimeoutMs?: number | undefined;
  /**
   * Time allowed for a command from the moment it is asked (waiting for a free connection,
   * connecting and oxd's answer together), in milliseconds. Default 30000.
   */
  readonly responseTimeoutMs?: number | undefined;
  /**
   * Commands that may wait for a free connection when all `poolSize` connections are busy:
   * a memory cap, not the working limit (each waiting command holds about 1.6 kB, so the
   * default 10000 is about 16 MB; the deadline of each command is what bounds the wait).
   * One more is refused at once with `OXD_BUSY` (503). `0` refuses whenever every
   * connection is busy. Default 10000.
   */
  readonly maxQueued?: number | undefined;
  /**
   * Opens a TCP connection (default: `net.connect({ host, port })`). The returned socket
   * must emit `connect` once it is usable. For custom networking and fault tests.
   */
  readonly connect?: ((host: string, port: number) => Socket) | undefined;
  /**
   * Warned once when a connection reaches oxd on an address that is not loopback: the
   * socket protocol is plain TCP, so tokens and secrets travel in clear. Default `console`.
   */
  readonly logger?: Logger | undefined;
}

/** Whether `address` (as `socket.remoteAddress` gives it) is a loopback address. */
export function isLoopback(address: string): boolean {
  const bare = address.replace(/^::ffff:/i, '');
  if (isIP(bare) === 4) return bare.startsWith('127.');
  return /^0*:(0*:)*0*1$/.test(bare);
}

/** Defaults of {@link SocketTransportOptions}. */
export const SOCKET_TRANSPORT_DEFAULTS = {
  poolSize: OXD_SETTINGS.poolSize.default,
  connectTimeoutMs: OXD_SETTINGS.connectTimeoutMs.default,
  responseTimeoutMs: OXD_SETTINGS.responseTimeoutMs.default,
  maxQueued: OXD_SETTINGS.maxQueued.default,
} as const;

const fail: Fail = failFor('socket transport', OxdConfigError, ' ');

function closedError(): OxdError {
  return transportClosedError('socket');
}

type TableNumber = keyof typeof SOCKET_TRANSPORT_DEFAULTS;

/**
 * A number option of the transport, checked by the settings table's own parser (the same
 * range as the INI setting it comes from); the table's default when it is absent.
 */
function fromTable(options: SocketTransportOptions, key: TableNumber): number {
  const value = options[key];
  if (value === undefined) return SOCKET_TRANSPORT_DEFAULTS[key];
  if (typeof value !== 'number') fail(key, `must be a number, got ${String(value)}`);
  return OXD_SETTINGS[key].parse(value, (problem) => fail(key, problem));
}

/** {@link Transport} for oxd-server 3.x over its length-prefixed socket protocol. */
export class SocketTransport implements Transport {
  readonly kind = 'socket' as const;
  private readonly host: string;
  private readonly port: number;
  private readonly poolSize: number;
  private readonly responseTimeoutMs: number;
  private readonly maxQueued: number;
  private readonly open: (host: string, port: number) => Socket;
  private readonly side: PoolSide;
  /** Every live connection, busy or idle. */
  private readonly connections = new Set<Connection>();
  /** Idle connections; the most recently used is reused first. */
  private readonly idle: Connection[] = [];
  /** Requests waiting for a connection, oldest first. */
  private readonly queue: Job[] = [];
  private readonly logger: Logger;
  private warnedClear = false;
  private closed = false;
  /** What the pool metrics read: reported while the transport lives (0 and 0 once closed). */
  private readonly gauge: PoolGauge;

  constructor(options: SocketTransportOptions) {
    if (typeof options.host !== 'string' || options.host === '') {
      fail('host', 'must be a non-empty string');
    }
    if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) {
      fail('port', `must be an integer from 1 to 65535, got ${String(options.port)}`);
    }
    this.host = options.host;
    this.port = options.port;
    this.poolSize = fromTable(options, 'poolSize');
    this.responseTimeoutMs = fromTable(options, 'responseTimeoutMs');
    this.maxQueued = fromTable(options, 'maxQueued');
    this.logger = options.logger ?? consoleLogger;
    const open = options.connect ?? ((host, port) => netConnect({ host, port }));
    this.open = (host, port) => {
      const socket = open(host, port);
      if (!this.warnedClear) socket.once('connect', () => this.checkLoopback(socket));
      return socket;
    };
    this.gauge = {
      address: this.host,
      port: this.port,
      inUse: () => this.connections.size - this.idle.length,
      waiting: () => this.queue.length,
    };
    watchPool(this.gauge);
    this.side = {
      where: `${options.host}:${options.port}`,
      connectTimeoutMs: fromTable(options, 'connectTimeoutMs'),
      release: (connection) => this.release(connection),
      remove: (connection) => this.remove(connection),
    };
  }

  send(request: OxdRequest): Promise<OxdReply> {
    if (this.closed) return Promise.reject(closedError());
    const params =
      request.token === undefined
        ? request.params
        : { ...request.params, protection_access_token: request.token };
    let frame: string;
    try {
      frame = encodeFrame({ command: request.command, params });
    } catch (error) {
      const detail = errorMessage(error);
      return Promise.reject(
        new OxdProtocolError(
          `cannot send ${request.command}: ${detail}`,
          ERROR_CODES.FRAME_TOO_LARGE,
          {
            cause: error,
          },
        ),
      );
    }
    if (this.idle.length === 0 && this.connections.size >= this.poolSize) {
      if (this.queue.length >= this.maxQueued) return Promise.reject(this.busyError(request));
    }
    return new Promise<OxdReply>((resolve, reject) => {
      let settled = false;
      const settle = () => {
        if (settled) return false;
        settled = true;
        clearTimeout(timer);
        return true;
      };
      const timeoutMs = Math.min(request.timeoutMs ?? Infinity, this.responseTimeoutMs);
      const job: Job = {
        command: request.command,
        frame,
        askedAt: performance.now(),
        timeoutMs,
        resolve: (reply) => {
          if (settle()) resolve(reply);
        },
        reject: (error) => {
          if (settle()) reject(error);
        },
      };
      // Declared after the job, used only once the job is queued: nothing settles it earlier.
      const timer = setTimeout(() => this.expire(job), timeoutMs);
      this.queue.push(job);
      this.dispatch();
    });
  }

  /** Warns once when oxd is reached on an address that is not loopback. */
  private checkLoopback(socket: Socket): void {
    const address = socket.remoteAddress;
    if (this.warnedClear || address === undefined || isLoopback(address)) return;
    this.warnedClear = true;
    this.logger.warn(
      `express-oxd: the oxd socket at ${this.side.where} is reached on ${address}, not on ` +
        'loopback: its protocol is plain TCP, so client secrets and tokens travel in clear. ' +
        'Run oxd-server on the same host (127.0.0.1), tunnel the port, or use oxd over HTTPS',
      { host: this.host, port: this.port, address },
    );
  }

  /** The job's deadline passed: fail it wherever it is. */
  private expire(job: Job): void {
    const error = this.timeoutError(job);
    if (job.connection) {
      // Destroying the connection makes sure a late answer never reaches another request.
      job.connection.fail(error);
      return;
    }
    const index = this.queue.indexOf(job);
    if (index !== -1) this.queue.splice(index, 1);
    job.reject(error);
  }

  private timeoutError(job: Job): OxdTimeoutError {
    const ms = job.timeoutMs;
    // Not yet written to oxd: it spent its time waiting for a connection (one that was
    // handed a fresh connection at the last moment is still such a job).
    const where =
      job.sent === true
        ? ''
        : ` (it waited all that time for a free connection: all ${this.poolSize} were busy)`;
    return new OxdTimeoutError(
      ERROR_CODES.RESPONSE_TIMEOUT,
      `oxd-server at ${this.side.where} did not answer ${job.command} within ${ms} ms${where}; ` +
        'check that oxd-server and the OpenID Provider are responsive, or raise [oxd] response_timeout',
      ms,
    );
  }

  private busyError(request: OxdRequest): OxdBusyError {
    return new OxdBusyError(
      `oxd-server at ${this.side.where} is busy: all ${this.poolSize} connections are in use and ` +
        `${this.maxQueued} commands are already waiting, so ${request.command} was refused at once; ` +
        'retry later, or raise [oxd] pool_size if oxd-server can take more connections',
      this.maxQueued,
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(closedError());
    const connections = [...this.connections];
    for (const connection of connections) connection.fail(closedError());
    await Promise.all(connections.map((connection) => connection.closed));
  }

  /** Hands queued requests to idle connections, opening new ones up to the pool size. */
  private dispatch(): void {
    while (this.queue.length > 0) {
      if (this.idle.length === 0 && this.connections.size >= this.poolSize) return;
      const job = this.queue.shift() as Job;
      if (performance.now() - job.askedAt >= job.timeoutMs) {
        job.reject(this.timeoutError(job));
        continue;
      }
      const idle = this.idle.pop();
      if (idle) {
        idle.run(job);
        continue;
      }
      let connection: Connection;
      try {
        connection = new Connection(this.side, this.open, this.host, this.port);
      } catch (error) {
        const detail = errorMessage(error);
        job.reject(
          new OxdTransportError(
            `cannot open a connection to oxd-server at ${this.side.where}: ${detail}`,
            { cause: error },
          ),
        );
        continue;
      }
      this.connections.add(connection);
      connection.run(job);
    }
  }

  private release(connection: Connection): void {
    for (let job = this.queue.shift(); job; job = this.queue.shift()) {
      if (performance.now() - job.askedAt >= job.timeoutMs) {
        job.reject(this.timeoutError(job));
        continue;
      }
      connection.run(job);
      return;
    }
    connection.park();
    this.idle.push(connection);
  }

  private remove(connection: Connection): void {
    this.connections.delete(connection);
    const index = this.idle.indexOf(connection);
    if (index !== -1) this.idle.splice(index, 1);
    if (!this.closed) this.dispatch();
  }
}
