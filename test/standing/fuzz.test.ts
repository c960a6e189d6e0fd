/**
 * Fuzzing with fast-check (10,000 cases per property under CI, a few hundred locally): the
 * socket frame decoder and the socket transport fed arbitrary bytes, the INI reader and
 * editor fed arbitrary text and bytes, and the callback route fed arbitrary query strings.
 * Each property states what must hold for any input: a typed error or a correct result,
 * never a crash, a hang, a 5xx, or input reflected unescaped.
 */
import { createServer, type Server } from 'node:http';
import { Agent, request as httpRequest } from 'node:http';
import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import fc from 'fast-check';
import session from 'express-session';
import request from 'supertest';
import {
  OxdConfigError,
  OxdError,
  OxdProtocolError,
  oxdAuth,
  type OxdAuthHandler,
} from '../../src';
import { parseIni } from '../../src/config/ini';
import { FrameDecoder, prefixFrame } from '../../src/oxd/framing';
import { SocketTransport } from '../../src/oxd/socket-transport';
import {
  ok,
  respond,
  startScriptedOxdServer,
  type ScriptedOxdServer,
} from '../fixtures/scripted-oxd-server';
import { buildApp } from '../fixtures/apps';

const CASES = process.env.CI ? 10_000 : 300;
/** Cases that each cost a network round trip to a child-free local server. */
const NETWORK_CASES = process.env.CI ? 10_000 : 200;

/** Totals printed at the end, for the README's figures. */
const tried: Record<string, number> = {};
function count(name: string): void {
  tried[name] = (tried[name] ?? 0) + 1;
}
afterAll(() => {
  process.stdout.write(`fuzz cases tried: ${JSON.stringify(tried)}\n`);
});

describe('frame decoder', () => {
  /** Bytes that look like frames some of the time: digits, JSON punctuation, UTF-8, anything. */
  const byte = fc.oneof(
    fc.integer({ min: 0x30, max: 0x39 }),
    fc.constantFrom(...Buffer.from('{}[]":,0 \\')),
    fc.integer({ min: 0, max: 255 }),
  );
  const chunk = fc.array(byte, { maxLength: 40 }).map((bytes) => Buffer.from(bytes));

  it('any byte stream gives whole frames or OXD_PROTOCOL_ERROR, and what it returns re-frames to what it read', () => {
    fc.assert(
      fc.property(fc.array(chunk, { maxLength: 12 }), (chunks) => {
        count('frame decoder, arbitrary bytes');
        const decoder = new FrameDecoder();
        const payloads: string[] = [];
        try {
          for (const piece of chunks) payloads.push(...decoder.push(piece));
        } catch (error) {
          expect(error).toBeInstanceOf(OxdProtocolError);
          return;
        }
        // What came out, framed again, is exactly the start of the text that went in (bytes
        // of a character not yet complete are held back, as the decoder does).
        const utf8 = new StringDecoder('utf8');
        const input = chunks.map((piece) => utf8.write(piece)).join('');
        const reframed = payloads.map((payload) => prefixFrame(payload)).join('');
        expect(input.startsWith(reframed)).toBe(true);
        expect(decoder.pending).toBe(input.length > reframed.length);
      }),
      { numRuns: CASES },
    );
  });

  it('valid frames followed by garbage: every frame before the garbage comes out intact', () => {
    const frames = fc.array(
      fc.jsonValue().map((value) => JSON.stringify(value)),
      { maxLength: 5 },
    );
    const junk = fc.string({ minLength: 4, maxLength: 20 }).filter((s) => !/^\d{4}/.test(s));
    fc.assert(
      fc.property(frames, junk, fc.nat(), (jsons, tail, cutSeed) => {
        count('frame decoder, frames then garbage');
        fc.pre(jsons.every((json) => json.length > 0 && json.length <= 9999));
        const stream = Buffer.from(jsons.map((json) => prefixFrame(json)).join('') + tail);
        const cut = cutSeed % (stream.length + 1);
        const decoder = new FrameDecoder();
        const payloads: string[] = [];
        let refused: unknown;
        try {
          payloads.push(...decoder.push(stream.subarray(0, cut)));
          payloads.push(...decoder.push(stream.subarray(cut)));
        } catch (error) {
          refused = error;
        }
        expect(refused).toBeInstanceOf(OxdProtocolError);
        expect(payloads).toEqual(jsons.slice(0, payloads.length));
      }),
      { numRuns: CASES },
    );
  });
});

describe('socket transport', () => {
  let server: NetServer;
  let port: number;
  /** What the server answers next: its bytes, and whether to close afterwards. */
  let next: { bytes: Buffer; close: boolean } = { bytes: Buffer.alloc(0), close: true };

  beforeAll(async () => {
    server = createNetServer((socket) => {
      socket.on('error', () => socket.destroy());
      socket.once('data', () => {
        socket.write(next.bytes);
        if (next.close) socket.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('every command settles with a reply or an OxdError, whatever oxd sends back', async () => {
    const transport = new SocketTransport({
      host: '127.0.0.1',
      port,
      poolSize: 1,
      connectTimeoutMs: 2000,
      responseTimeoutMs: 300,
    });
    const answer = fc.oneof(
      fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
      fc.jsonValue().map((value) => Buffer.from(prefixFrame(JSON.stringify(value)))),
      fc
        .record({ status: fc.constantFrom('ok', 'error', 'other'), data: fc.jsonValue() })
        .map((value) => Buffer.from(prefixFrame(JSON.stringify(value)))),
    );
    try {
      await fc.assert(
        fc.asyncProperty(answer, fc.boolean(), async (bytes, close) => {
          count('socket transport, arbitrary answers');
          next = { bytes, close: close || bytes.length === 0 };
          try {
            const reply = await transport.send({ command: 'get_rp', path: 'get-rp', params: {} });
            expect(typeof reply.ok).toBe('boolean');
          } catch (error) {
            expect(error).toBeInstanceOf(OxdError);
          }
        }),
        // Each case may wait for the 300 ms deadline: fewer of them.
        { numRuns: process.env.CI ? 500 : 60 },
      );
    } finally {
      await transport.close();
    }
  }, 600_000);
});

describe('INI reader', () => {
  const iniChar = fc.oneof(
    {
      arbitrary: fc.constantFrom(
        '[',
        ']',
        '=',
        ':',
        '#',
        ';',
        ' ',
        '\t',
        '\n',
        '\r',
        '%',
        '\uFEFF',
      ),
      weight: 3,
    },
    {
      arbitrary: fc.constantFrom('oxd', 'client', 'DEFAULT', 'id', 'host', 'op_host', 'a'),
      weight: 3,
    },
    { arbitrary: fc.string({ unit: 'binary', maxLength: 3 }), weight: 1 },
  );
  const iniText = fc.array(iniChar, { maxLength: 60 }).map((parts) => parts.join(''));

  it('any text is read and written back byte for byte, or refused with OXD_CONFIG_INVALID naming the line', () => {
    fc.assert(
      fc.property(iniText, (text) => {
        count('INI reader, arbitrary text');
        let document;
        try {
          document = parseIni(text);
        } catch (error) {
          expect(error).toBeInstanceOf(OxdConfigError);
          expect((error as OxdConfigError).message).toMatch(/^line \d+: /);
          return;
        }
        expect(document.toString()).toBe(text);
      }),
      { numRuns: CASES },
    );
  });

  it('any bytes are read as UTF-8 or refused with OXD_CONFIG_INVALID, never re-encoded', () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 80 }),
      iniText.map((text) => new TextEncoder().encode(text)),
    );
    fc.assert(
      fc.property(bytes, (data) => {
        count('INI reader, arbitrary bytes');
        let document;
        try {
          document = parseIni(data);
        } catch (error) {
          expect(error).toBeInstanceOf(OxdConfigError);
          return;
        }
        expect(Buffer.from(document.toString(), 'utf8').equals(Buffer.from(data))).toBe(true);
      }),
      { numRuns: CASES },
    );
  });

  it('setting a value reads back as set and leaves every other setting as it was, or changes nothing', () => {
    const header = fc.constantFrom('[oxd]', '[client]', '[DEFAULT]', '[other]');
    const key = fc.constantFrom('id', 'host', 'client_id', 'op_host', 'name', 'Key');
    const value = fc.string({ maxLength: 12 }).map((s) => s.replace(/[\r\n]/g, ''));
    const line = fc.oneof(
      header,
      fc.tuple(key, fc.constantFrom(' = ', '=', ': ', ' :'), value).map((p) => p.join('')),
      fc.constantFrom('# comment', '; note', '', '  continued value'),
    );
    const file = fc
      .tuple(header, fc.array(line, { maxLength: 10 }), fc.constantFrom('\n', '\r\n'))
      .map(([first, rest, eol]) => [first, ...rest].join(eol) + eol);
    const section = fc.constantFrom('oxd', 'client', 'other', 'new_section');
    fc.assert(
      fc.property(file, section, key, value, (text, where, name, newValue) => {
        count('INI editor, set on random files');
        let document;
        try {
          document = parseIni(text);
        } catch {
          return; // refused files are covered above
        }
        const before = document.sections().map((s) => [s, document.ownEntries(s)] as const);
        try {
          document.set(where, name, newValue);
        } catch (error) {
          expect(error).toBeInstanceOf(RangeError);
          expect(document.toString()).toBe(text);
          return;
        }
        const reread = parseIni(document.toString());
        expect(reread.get(where, name)).toBe(newValue.trim());
        for (const [s, entries] of before) {
          const now = reread.ownEntries(s);
          for (const [k, v] of entries) {
            if (s === where && k === name.toLowerCase()) continue;
            expect([s, k, now.get(k)]).toEqual([s, k, v]);
          }
        }
      }),
      { numRuns: CASES },
    );
  });
});

describe('callback route', () => {
  let oxd: ScriptedOxdServer;
  let auth: OxdAuthHandler;
  let server: Server;
  let port: number;
  let cookie: string;
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });

  beforeAll(async () => {
    oxd = await startScriptedOxdServer({
      otherwise: [
        respond(
          ok({ authorization_url: 'https://op.example/authorize?state=known-state&nonce=n1' }),
        ),
      ],
    });
    auth = oxdAuth({
      config: {
        oxd: { host: oxd.host, port: oxd.port, oxdId: 'site-1' },
        client: {
          opHost: 'https://op.example',
          authorizationRedirectUri: 'https://app.example/callback',
        },
      },
    });
    server = createServer(buildApp('express5', auth, { store: new session.MemoryStore() }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
    // A session with a login in progress, so that states are checked against a real one.
    const login = await request(server).get('/login').set('Accept', 'text/html');
    expect(login.status).toBe(302);
    cookie = String(login.headers['set-cookie']).split(';')[0] as string;
  });

  afterAll(async () => {
    agent.destroy();
    await auth.client.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await oxd.close();
  });

  /** Payloads that would do harm if reflected as they are; `fz` marks them. */
  const PAYLOADS = [
    '<script>fz()</script>',
    '"><img src=x onerror=fz()>',
    "'><svg onload=fz()>",
    '</title><b>fz</b>',
    '\r\nX-Fz: 1',
    '%0d%0aX-Fz:%201',
    '%3Cscript%3Efz()%3C/script%3E',
  ];
  const HARMFUL = [/<script>fz/i, /<img src=x onerror=fz/i, /<svg onload=fz/i, /<b>fz<\/b>/i];

  const name = fc.constantFrom(
    'state',
    'code',
    'error',
    'error_description',
    'error_uri',
    'iss',
    'session_state',
    'state[]',
    'x',
  );
  const value = fc.oneof(
    fc.string({ unit: 'grapheme', maxLength: 30 }),
    fc.string({ unit: 'binary', maxLength: 30 }),
    fc.constantFrom(...PAYLOADS),
    fc.tuple(fc.string({ maxLength: 10 }), fc.constantFrom(...PAYLOADS)).map(([a, b]) => a + b),
    fc.constant('known-state'.slice(0, 5)),
  );
  /** A query of encoded pairs, or raw text with broken percent-escapes and stray separators. */
  const query = fc.oneof(
    fc
      .array(fc.tuple(name, value), { maxLength: 6 })
      .map((pairs) =>
        pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&'),
      ),
    fc
      .array(
        fc.oneof(
          fc.constantFrom(
            '%',
            '%zz',
            '%0',
            '%c3',
            '&',
            '=',
            ';',
            '+',
            '?',
            '#',
            'state=',
            'error=',
          ),
          fc.string({ maxLength: 8 }),
          fc.constantFrom(...PAYLOADS),
        ),
        { maxLength: 10 },
      )
      .map((parts) => parts.join('')),
  );

  /** Percent-encodes what may not appear in a request target, keeping `%` as it is. */
  const target = (raw: string) =>
    `/callback?${raw.replace(/[^\u0021-\u007e]|[#]/gu, (ch) => {
      try {
        return encodeURIComponent(ch);
      } catch {
        return '%EF%BF%BD';
      }
    })}`;

  function get(path: string, accept: string) {
    return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>(
      (resolve, reject) => {
        const req = httpRequest(
          { host: '127.0.0.1', port, path, agent, headers: { accept, cookie } },
          (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (piece: string) => (body += piece));
            res.on('end', () =>
              resolve({ status: res.statusCode ?? 0, headers: res.headers, body }),
            );
          },
        );
        req.on('error', reject);
        req.end();
      },
    );
  }

  it('random query strings never give a 5xx, never reflect input unescaped, never log in', async () => {
    const before = oxd.requests.length;
    await fc.assert(
      fc.asyncProperty(
        query,
        fc.constantFrom('text/html', 'application/json', '*/*'),
        async (raw, accept) => {
          count('callback route, random queries');
          const answer = await get(target(raw), accept);
          expect(answer.status).toBeGreaterThanOrEqual(300);
          expect(answer.status).toBeLessThan(500);
          expect(answer.headers['x-fz']).toBeUndefined();
          for (const harmful of HARMFUL) expect(answer.body).not.toMatch(harmful);
          if (String(answer.headers['content-type']).startsWith('application/json')) {
            expect(() => JSON.parse(answer.body)).not.toThrow();
          }
          const location = answer.headers.location;
          if (location !== undefined) expect(String(location)).toMatch(/^\/(?![/\\])/);
        },
      ),
      { numRuns: NETWORK_CASES },
    );
    // No random query got as far as a code exchange, and the session is still not logged in.
    expect(oxd.requests.slice(before).map((r) => r.command)).toEqual([]);
    const me = await get('/api/me', 'application/json');
    expect(me.status).toBe(401);
  }, 600_000);
});
