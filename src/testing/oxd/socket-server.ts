/**
 * The oxd 3.x socket protocol: `LLLL` + JSON frames both ways, one command at a time per
 * connection, with oxd's failure behaviour:
 * - a bad length prefix (`abcd`, `0000`) closes the connection without answering;
 * - bytes that arrived after the first frame in the same read are dropped;
 * - unparseable request JSON answers `internal_error`, then closes;
 * - an answer over 9999 characters closes the connection without writing a byte.
 */
import { type Server, type Socket, createServer } from 'node:net';
import { debuglog } from 'node:util';
import { FrameDecoder, prefixFrame } from '../../oxd/framing';
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

function handleConnection(socket: Socket, options: SocketServerOptions): void {
  let decoder = new FrameDecoder();

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
    let payloads: string[];
    try {
      payloads = decoder.push(chunk);
    } catch (err) {
      debug('local oxd socket: bad frame, connection closed: %s', (err as Error).message);
      socket.destroy();
      return;
    }
    const [first] = payloads;
    if (first === undefined) return;
    // oxd keeps no leftover of a read: whatever followed the first frame is dropped.
    // Later data waits in the paused stream, as it waits in the socket buffer for oxd.
    decoder = new FrameDecoder();
    socket.pause();
    answer(first)
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
