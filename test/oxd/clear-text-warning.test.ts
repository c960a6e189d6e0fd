/**
 * The socket protocol is plain TCP: when a connection reaches oxd on an address that is not
 * loopback, the transport warns once (client secrets and tokens travel in clear). Tests may
 * only talk to 127.0.0.1, so the remote address of the (real, loopback) socket is reported
 * as a documentation address (192.0.2.10, RFC 5737) for the non-loopback case.
 */
import { connect, type Socket } from 'node:net';
import type { Logger } from '../../src/logger';
import { isLoopback, SocketTransport } from '../../src/oxd/socket-transport';
import {
  echo,
  startScriptedOxdServer,
  type ScriptedOxdServer,
} from '../fixtures/scripted-oxd-server';

let server: ScriptedOxdServer;
const transports: SocketTransport[] = [];

beforeAll(async () => {
  server = await startScriptedOxdServer({ otherwise: echo() });
});
afterEach(async () => {
  await Promise.all(transports.splice(0).map((transport) => transport.close()));
});
afterAll(() => server.close());

function capture(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, warn: (message) => void warnings.push(message), error: () => undefined };
}

function transport(logger: Logger, remoteAddress?: string): SocketTransport {
  const made = new SocketTransport({
    host: 'oxd.internal.example',
    port: server.port,
    poolSize: 2,
    logger,
    connect: (): Socket => {
      const socket = connect({ host: '127.0.0.1', port: server.port });
      if (remoteAddress !== undefined) {
        Object.defineProperty(socket, 'remoteAddress', { get: () => remoteAddress });
      }
      return socket;
    },
  });
  transports.push(made);
  return made;
}

const request = { command: 'get_rp', path: 'get-rp', params: { oxd_id: 'site-1' } };

test('oxd reached on an address that is not loopback: one warning, whatever the connections', async () => {
  const logger = capture();
  const socket = transport(logger, '192.0.2.10');
  await Promise.all([socket.send(request), socket.send(request), socket.send(request)]);
  await socket.send(request);
  expect(logger.warnings).toHaveLength(1);
  expect(logger.warnings[0]).toContain('192.0.2.10');
  expect(logger.warnings[0]).toMatch(/in clear/);
});

test('oxd on loopback: no warning', async () => {
  const logger = capture();
  await transport(logger).send(request);
  expect(logger.warnings).toEqual([]);
});

test.each([
  ['127.0.0.1', true],
  ['127.8.9.10', true],
  ['::1', true],
  ['::ffff:127.0.0.1', true],
  ['0:0:0:0:0:0:0:1', true],
  ['10.0.0.5', false],
  ['::ffff:192.0.2.10', false],
  ['2001:db8::1', false],
])('isLoopback(%s) is %s', (address, expected) => {
  expect(isLoopback(address)).toBe(expected);
});
