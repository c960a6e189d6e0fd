/**
 * The local stack for integration tests: the local OpenID Provider and the local oxd server,
 * each in a child process started from the built package (`node dist/testing/cli.js`), since
 * jest cannot load their ESM-only dependencies.
 *
 *   const stack = await startLocalStack();            // builds dist/ first when needed
 *   // stack.op.issuer / stack.op.ca / stack.op.users  -> [client] op_host, test logins
 *   // stack.oxd.host + stack.oxd.port                 -> socket transport
 *   // stack.oxd.httpsUrl + '/v3' / stack.oxd.httpsUrl -> https 3.x / 4.x, trust stack.oxd.ca
 *   await stack.stopOxd(); await stack.startOxd();     // oxd restart, same ports and data
 *   await stack.killOxd(); await stack.startOxd();     // oxd crash (SIGKILL) and restart
 *   await stack.stopOp();                              // OP outage (for good: no restart)
 *   await stack.close();                               // in afterAll
 *
 * Everything listens on 127.0.0.1 with free ports. The oxd keeps its registrations and its
 * HTTPS certificate in a temporary data directory, so both survive `stopOxd()`/`startOxd()`
 * (`oxd.ca` stays valid); `close()` removes it. Children are also killed when the test
 * process exits, and stop by themselves when their stdin closes (the parent died).
 * Options: `accessTokenTtl` (OP access and client tokens, seconds; small values let tests
 * see expired tokens), `protectCommands` (true: socket commands need a protection token too;
 * false: neither socket nor HTTPS check tokens; default: socket and /v3/ no, 4.x REST yes),
 * `umaClaimsPolicy` (claims the UMA server requires per scope, to provoke need_info).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestUser } from '../../src/testing/op/users';
import type { ClaimsPolicy } from '../../src/testing/uma';
import { ROOT, ensureBuilt } from './build';

export type { TestUser };

export interface LocalStack {
  op: { issuer: string; ca: string; users: TestUser[] };
  oxd: { host: string; port: number; httpsUrl: string; ca: string };
  /** The oxd's data directory (holds registrations.json). */
  dataDir: string;
  /** Stops the oxd child only; the OP stays up. */
  stopOxd(): Promise<void>;
  /** Kills the oxd child with SIGKILL (no shutdown of any kind) and waits for it to exit. */
  killOxd(): Promise<void>;
  /** Starts the oxd child again on the same ports with the same data directory. */
  startOxd(): Promise<void>;
  /**
   * Stops the OP child only; the oxd stays up and finds the OP's port closed. The OP keeps
   * its grants in memory, so there is no restart that would bring the same logins back.
   */
  stopOp(): Promise<void>;
  /** Stops both children and removes the data directory. Idempotent. */
  close(): Promise<void>;
}

export interface LocalStackOptions {
  accessTokenTtl?: number;
  /** The OP issues a new refresh token on each refresh and refuses (revokes) a used one. */
  rotateRefreshToken?: boolean;
  protectCommands?: boolean;
  umaClaimsPolicy?: ClaimsPolicy;
  /** `false`: the OP publishes no end_session_endpoint (`--no-end-session`). */
  endSession?: boolean;
  /** `--oxd-version`: the oxd release line the local oxd reproduces (default: both lines). */
  oxdVersion?: '3.1.3' | '3.1.4' | '4.1' | '4.2';
}

const CLI = join(ROOT, 'dist', 'testing', 'cli.js');
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

/** Spawns the CLI and resolves with the child and the JSON line it prints once ready. */
function startChild(
  args: string[],
): Promise<{ child: ChildProcess; ready: Record<string, unknown> }> {
  installExitHook();
  const child = spawn(process.execPath, [CLI, ...args, '--json', '--until-stdin-closes'], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    const fail = (why: string) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`express-oxd-local ${args.join(' ')}: ${why}\n${stderr}`));
    };
    const timer = setTimeout(
      () => fail(`not ready within ${START_TIMEOUT_MS} ms`),
      START_TIMEOUT_MS,
    );
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const newline = stdout.indexOf('\n');
      if (newline < 0) return;
      clearTimeout(timer);
      child.removeListener('exit', onExit);
      try {
        resolve({ child, ready: JSON.parse(stdout.slice(0, newline)) as Record<string, unknown> });
      } catch (err) {
        fail(`printed no JSON line: ${(err as Error).message}`);
      }
    });
    const onExit = (code: number | null, signal: string | null) =>
      fail(`exited (${signal ?? `code ${code}`}) before it was ready`);
    child.once('exit', onExit);
    child.once('error', (err) => fail(err.message));
  });
}

/** Stops a child (SIGTERM, then SIGKILL after a timeout) and waits for it to exit. */
function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  await ensureBuilt();
  const dataDir = await mkdtemp(join(tmpdir(), 'express-oxd-stack-'));
  let opChild: ChildProcess | undefined;
  let oxdChild: ChildProcess | undefined;

  const closeAll = async () => {
    await Promise.all([stopChild(oxdChild), stopChild(opChild)]);
    await rm(dataDir, { recursive: true, force: true });
  };

  try {
    const opArgs = ['op', '--op-port', '0', '--data-dir', dataDir];
    if (options.accessTokenTtl !== undefined) {
      opArgs.push('--access-token-ttl', String(options.accessTokenTtl));
    }
    if (options.endSession === false) opArgs.push('--no-end-session');
    if (options.rotateRefreshToken) opArgs.push('--rotate-refresh-token');
    const started = await startChild(opArgs);
    opChild = started.child;
    const op = started.ready.op as LocalStack['op'];
    const opCaFile = join(dataDir, 'op-ca.pem');
    await writeFile(opCaFile, op.ca);

    const policyFile = join(dataDir, 'uma-claims-policy.json');
    if (options.umaClaimsPolicy) {
      await writeFile(policyFile, JSON.stringify(options.umaClaimsPolicy));
    }
    const oxdArgs = (port: number, httpsPort: number) => {
      const args = [
        'oxd',
        '--op-issuer',
        op.issuer,
        '--op-ca-file',
        opCaFile,
        '--data-dir',
        dataDir,
        '--port',
        String(port),
        '--https-port',
        String(httpsPort),
      ];
      if (options.protectCommands === true) args.push('--protect');
      if (options.protectCommands === false) args.push('--no-protect');
      if (options.umaClaimsPolicy) args.push('--uma-claims-policy', policyFile);
      if (options.oxdVersion) args.push('--oxd-version', options.oxdVersion);
      return args;
    };

    const first = await startChild(oxdArgs(0, 0));
    oxdChild = first.child;
    const oxd = first.ready.oxd as LocalStack['oxd'];
    const httpsPort = Number(new URL(oxd.httpsUrl).port);

    let closing: Promise<void> | undefined;
    return {
      op,
      oxd,
      dataDir,
      async stopOxd() {
        await stopChild(oxdChild);
        oxdChild = undefined;
      },
      async killOxd() {
        const child = oxdChild;
        oxdChild = undefined;
        if (!child || child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
      },
      async stopOp() {
        await stopChild(opChild);
        opChild = undefined;
      },
      async startOxd() {
        if (oxdChild) throw new Error('startOxd: the oxd is already running; call stopOxd() first');
        const restarted = await startChild(oxdArgs(oxd.port, httpsPort));
        oxdChild = restarted.child;
        Object.assign(oxd, restarted.ready.oxd);
      },
      close() {
        closing ??= closeAll();
        return closing;
      },
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
