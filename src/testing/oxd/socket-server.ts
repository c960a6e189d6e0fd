/**
 * The oxd 3.x socket protocol: `LLLL` + JSON frames both ways, one command at a time per
 * connection, read the way oxd 3.x's `CoreUtils.readCommand` reads (`SocketProcessor`):
 * - a length prefix that is not a number (`abcd`), negative or `0000` closes the connection
 *   without answering;
 * - the first frame of a read is answered and whatever followed it in the same read is
 *   dropped, even when it is not a frame at all;
 * - a prefix that parses but does not match the JSON (oxd-node's `00100{…}`: length 10)
 *   yields unparseable JSON, answered with `internal_error`, then the connection closes;
 * - an answer over 9999 characters closes the connection without writing a byte.
 */
import { type Server, type Socket, createServer } from 'node:net';
import { debuglog } from 'node:util';
import { StringDecoder } from 'node:string_decoder';
import { prefixFrame } from '../../oxd/framing';
import { UNKNOWN_INTERNAL_ERROR } from './failure';
import { listen } from '../listen';
import type { CommandProcessor, ProcessResult } from './processor';
import { envelope } from './processor';

const debug = debuglog('express-oxd');

const INTERNAL_ERROR: ProcessResult = {
  ok: false,
  error: 'internal_error',
  error_description: UNKNOWN_INTERNAL_ERROR,
  details: null,
  httpStatus: 500,
  closeConnection: true,
};

export interface SocketServerOptions {
  processor: CommandProcessor;
  /** Whether commands need `protection_access_token`. */
  protect: boolean;
}

/** oxd's four-character length prefix. */
const PREFIX_LENGTH = 4;

/** Java's `Long.parseLong` on the prefix, -1 when it fails (`CoreUtils.parseSilently`). */
function parseSilently(prefix: string): number {
  return /^[+-]?\d+$/.test(prefix) ? Number(prefix) : -1;
}

function handleConnection(socket: Socket, options: SocketServerOptions): void {
  const utf8 = new StringDecoder('utf8');
  let buffered = '';

  const answer = async (payload: string): Promise<void> => {
    let result: ProcessResult;
    let request: unknown;
    try {
      request = JSON.parse(payload);
    } catch {
      request = undefined;
    }
    if (typeof request !== 'object' || request === null || Array.isArray(request)) {
      result = INTERNAL_ERROR;
    } else {
      const { command, params } = request as { command?: unknown; params?: unknown };
      result = await options.processor.process(typeof command === 'string' ? command : '', params, {
        dialect: 'socket',
        protect: options.protect,
      });
    }
    let frame: string;
    try {
      frame = prefixFrame(JSON.stringify(envelope(result)));
    } catch (err) {
      debug('local oxd socket: answer not sent, connection closed: %s', (err as Error).message);
      socket.destroy();
      return;
    }
    if (socket.destroyed) return;
    if (!result.ok && result.closeConnection) {
      socket.end(frame, 'utf8');
      return;
    }
    socket.write(frame, 'utf8');
  };

  socket.on('data', (chunk: Buffer) => {
    buffered += utf8.write(chunk);
    if (buffered.length < PREFIX_LENGTH) return;
    const size = parseSilently(buffered.slice(0, PREFIX_LENGTH));
    if (size <= 0) {
      debug('local oxd socket: bad length prefix, connection closed');
      socket.destroy();
      return;
    }
    if (buffered.length < PREFIX_LENGTH + size) return;
    const command = buffered.slice(PREFIX_LENGTH, PREFIX_LENGTH + size);
    // oxd keeps no leftover of a read: whatever followed the first frame is dropped.
    // Later data waits in the paused stream, as it waits in the socket buffer for oxd.
    buffered = '';
    if (command.trim() === '') {
      socket.destroy();
      return;
    }
    socket.pause();
    answer(command)
      .catch((err: unknown) => {
        debug('local oxd socket: %s', (err as Error)?.stack ?? err);
        socket.destroy();
      })
      .finally(() => {
        if (!socket.destroyed) socket.resume();
      });
  });
  socket.on('error', (err) => debug('local oxd socket: %s', err.message));
}

export interface RunningSocketServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startSocketServer(
  host: string,
  port: number,
  options: SocketServerOptions,
): Promise<RunningSocketServer> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    handleConnection(socket, options);
  });
  await listen(server, port, host);
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  let closing: Promise<void> | undefined;
  return {
    port: actualPort,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        for (const socket of sockets) socket.destroy();
      });
      return closing;
    },
  };
}
