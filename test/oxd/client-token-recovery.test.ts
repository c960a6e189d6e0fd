/**
 * The client token when its renewal fails, against the local oxd with protection on and
 * short-lived OP tokens. The OP refuses the renewal (a client secret it does not know):
 * every oxd release answers `internal_error` (`GetClientTokenOperation`), and oxd 3.x then
 * closes the socket (`SocketProcessor`). The command that needed the token fails with a
 * typed error after one renewal attempt; the connection pool recovers and the next command
 * renews the token and works.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { OxdCommandError } from '../../src/errors';
import { resolveConfig } from '../../src/config/resolve';
import { OxdClient } from '../../src/oxd/client';
import type { OxdReply, OxdRequest, Transport } from '../../src/oxd/transport';
import { dedicatedStack, type LocalStack } from '../helpers/local-stack';
import {
  configFor,
  countingTransport,
  type CountingTransport,
  type TransportName,
} from '../helpers/stack-fixture';

/** OP access-token (and client-token) lifetime of this stack, seconds. */
const TOKEN_TTL = 3;
const CLIENT_TOKEN = 'get_client_token';

/** Sends a client secret the OP never issued in get_client_token while `spoil` is set. */
class SpoilingTransport implements Transport {
  readonly kind: 'socket' | 'https';
  spoil = false;
  readonly replies: OxdReply[] = [];

  constructor(readonly inner: CountingTransport) {
    this.kind = inner.kind;
  }

  async send(request: OxdRequest): Promise<OxdReply> {
    if (request.command !== CLIENT_TOKEN || !this.spoil) return this.inner.send(request);
    const reply = await this.inner.send({
      ...request,
      params: { ...request.params, client_secret: 'not-the-secret' },
    });
    this.replies.push(reply);
    return reply;
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

let stack: LocalStack;
const clients: OxdClient[] = [];

beforeAll(async () => {
  stack = await dedicatedStack({ protectCommands: true, accessTokenTtl: TOKEN_TTL });
}, 120_000);

afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
});

test.each(['socket', 'https3', 'https4'] as TransportName[])(
  '%s - a refused renewal fails the command once with a typed error; the next one recovers',
  async (name) => {
    const base = configFor(stack, name);
    const config = { ...base, oxd: { ...base.oxd, protectCommands: true } };
    const transport = new SpoilingTransport(countingTransport(stack, name));
    const client = new OxdClient(resolveConfig(config), { transport, writeBack: false });
    clients.push(client);
    await client.register();
    expect((await client.getAuthorizationUrl({})).authorization_url).toContain(stack.op.issuer);

    // The client token expires; its renewal is refused.
    await sleep((TOKEN_TTL + 1.5) * 1000);
    transport.spoil = true;
    const before = transport.inner.count(CLIENT_TOKEN);
    let failure: unknown;
    try {
      await client.getAuthorizationUrl({});
    } catch (err) {
      failure = err;
    }
    expect(failure).toBeInstanceOf(OxdCommandError);
    expect(failure).toMatchObject({ command: CLIENT_TOKEN, error: 'internal_error' });
    // One renewal, answered as oxd answers (GetClientTokenOperation: internal_error; HTTP 500
    // on 4.x).
    expect(transport.inner.count(CLIENT_TOKEN)).toBe(before + 1);
    expect(transport.replies).toEqual([
      expect.objectContaining({
        ok: false,
        error: 'internal_error',
        ...(name === 'https4' ? { httpStatus: 500 } : {}),
      }),
    ]);

    // Nothing stays stuck: with the OP accepting again, the next command renews and works.
    transport.spoil = false;
    expect((await client.getAuthorizationUrl({})).authorization_url).toContain(stack.op.issuer);
    expect(transport.inner.count(CLIENT_TOKEN)).toBe(before + 2);
  },
  60_000,
);
