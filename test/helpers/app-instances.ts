/**
 * App instances as real processes for multi-instance tests: a Redis server started from
 * Debian's `redis-server` (persistence off, a free loopback port, stopped by pid), instance
 * processes running test/fixtures/instances/instance.js, and a browser-like client whose
 * one cookie jar goes to every instance (as a browser behind a load balancer sees one site).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { DIST_ENTRY, FIXTURES } from './instances';
import { ROOT } from './build';
import { OpCookieJar, submitOpLogin } from '../../src/testing/op-login';

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** A free TCP port on 127.0.0.1 (for servers that cannot be told to pick one). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Waits for `child` to print a line matching `ready`; rejects if it exits first. */
function waitForLine(child: ChildProcess, ready: RegExp, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => fail('not ready within 30 s'), 30_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n').find((text) => ready.test(text));
      if (line === undefined) return;
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      resolve(line);
    };
    const onExit = (code: number | null, signal: string | null) =>
      fail(`exited (${signal ?? `code ${code}`})`);
    function fail(why: string) {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${what}: ${why}\n${out}\n${err}`));
    }
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.once('exit', onExit);
  });
}

function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export interface RedisServer {
  readonly port: number;
  readonly pid: number | undefined;
  /** Stops the server (by its pid) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port (empty: persistence is off). */
  start(): Promise<void>;
}

/** Starts `redis-server` on a free loopback port with persistence off. */
export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async () => {
    const next = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    running.add(next);
    next.once('exit', () => running.delete(next));
    child = next;
    await waitForLine(next, /Ready to accept connections/, 'redis-server');
  };
  await start();
  return {
    port,
    get pid() {
      return child?.pid;
    },
    async stop() {
      await stop(child);
      child = undefined;
    },
    start,
  };
}

export interface Instance {
  readonly port: number;
  readonly pid: number;
  readonly origin: string;
  /** What the process wrote to stderr so far. */
  stderr(): string;
  /** The lines its middleware logged so far (`{ log: level, message, ...fields }`). */
  logs(): Record<string, unknown>[];
  /** True while the process runs. */
  alive(): boolean;
  stop(): Promise<void>;
}

const DROP_FILE_OVERRIDE = [
  '--bounding-set',
  '-dac_override,-dac_read_search',
  '--inh-caps',
  '-dac_override,-dac_read_search',
];

/** Starts one app instance process (see test/fixtures/instances/instance.js). */
export async function startInstance(
  configFile: string,
  options: {
    redisPort?: number;
    leeway?: number;
    withoutFileOverride?: boolean;
    register?: boolean;
    backchannel?: boolean;
  } = {},
): Promise<Instance> {
  const args = [join(FIXTURES, 'instance.js'), DIST_ENTRY, configFile];
  if (options.register) args.push('--register');
  if (options.backchannel) args.push('--backchannel');
  if (options.redisPort !== undefined) args.push('--redis-port', String(options.redisPort));
  if (options.leeway !== undefined) args.push('--leeway', String(options.leeway));
  // Root writes any file whatever its mode; without CAP_DAC_OVERRIDE (dropped by util-linux's
  // setpriv before exec) it is held to the mode bits like any owner, and still reads its files.
  const [command, argv] =
    options.withoutFileOverride && process.getuid?.() === 0
      ? ['setpriv', [...DROP_FILE_OVERRIDE, process.execPath, ...args]]
      : [process.execPath, args];
  const child = spawn(command, argv, {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const line = await waitForLine(child, /^\{"port"/, 'instance');
  let stdout = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const { port, pid } = JSON.parse(line) as { port: number; pid: number };
  return {
    port,
    pid,
    origin: `http://127.0.0.1:${port}`,
    stderr: () => stderr,
    logs: () =>
      stdout
        .split('\n')
        .filter((text) => text.startsWith('{"log"'))
        .map((text) => JSON.parse(text) as Record<string, unknown>),
    alive: () => child.exitCode === null && child.signalCode === null,
    stop: () => stop(child),
  };
}

export interface Reply {
  status: number;
  location: string | undefined;
  contentType: string;
  text: string;
  json<T = Record<string, unknown>>(): T;
}

const HTML = 'text/html,application/xhtml+xml';
const shared = new Agent({ connections: 64, keepAliveTimeout: 2000 });

/** A browser: one cookie jar for the site, whichever instance answers. */
export class SiteBrowser {
  readonly jar = new OpCookieJar();
  readonly #site = new URL('http://site.invalid/');

  /**
   * `headers`: sent with every request (e.g. the `x-forwarded-proto` a load balancer adds);
   * `newConnections`: each request on a connection of its own, so that `node:cluster` hands
   * them to its workers in turn.
   */
  constructor(
    private readonly options: { headers?: Record<string, string>; newConnections?: boolean } = {},
  ) {}

  async get(
    instance: Pick<Instance, 'origin' | 'port'>,
    path: string,
    accept = HTML,
  ): Promise<Reply> {
    const headers: Record<string, string> = { ...this.options.headers, accept };
    const cookie = this.jar.header(new URL(path, this.#site));
    if (cookie) headers.cookie = cookie;
    const response = await request(`${instance.origin}${path}`, {
      headers,
      dispatcher: shared,
      reset: this.options.newConnections === true,
    });
    this.jar.store(new URL(path, this.#site), response.headers['set-cookie']);
    const text = await response.body.text();
    const location = response.headers.location;
    return {
      status: response.statusCode,
      location: typeof location === 'string' ? location : undefined,
      contentType: String(response.headers['content-type'] ?? ''),
      text,
      json: <T>() => JSON.parse(text) as T,
    };
  }

  /**
   * Logs `user` in: the login starts on `start`, the OP's redirect back is followed on
   * `callback`. Resolves with the callback's answer (a redirect to where the login began).
   * `opJar` keeps the OP session (to sign out there later); default a fresh one.
   */
  async login(
    start: Pick<Instance, 'origin' | 'port'>,
    callback: Pick<Instance, 'origin' | 'port'>,
    user: { username: string; password: string },
    opCa: string,
    opJar: OpCookieJar = new OpCookieJar(),
  ): Promise<Reply> {
    const begun = await this.get(start, '/login');
    if (begun.status !== 302 || !begun.location) {
      throw new Error(`login on ${start.port} answered ${begun.status}: ${begun.text}`);
    }
    const back = await submitOpLogin(begun.location, user, opCa, opJar);
    return this.get(callback, back.pathname + back.search);
  }
}

export async function closeSharedAgent(): Promise<void> {
  await shared.close();
}

/** What {@link useRedisAndScratch} gives a test file: filled in by its `beforeAll`. */
export interface RedisAndScratch {
  /** A real redis-server of the file's own. */
  redis: RedisServer;
  /** A scratch directory, removed after the file. */
  dir: string;
}

/**
 * One redis-server and one scratch directory per test file, started before its tests and
 * removed after them (with the shared HTTP agent). Jest runs `afterAll` hooks in the order
 * they are declared: a file whose processes use this Redis declares the `afterAll` that stops
 * them before calling this, so that they stop before Redis does.
 */
export function useRedisAndScratch(prefix: string): RedisAndScratch {
  const files = {} as RedisAndScratch;
  beforeAll(async () => {
    files.dir = await mkdtemp(join(tmpdir(), prefix));
    files.redis = await startRedis();
  }, 60_000);
  afterAll(async () => {
    await closeSharedAgent();
    await files.redis?.stop();
    if (files.dir !== undefined) await rm(files.dir, { recursive: true, force: true });
  });
  return files;
}
