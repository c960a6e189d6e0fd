/**
 * The local OP and the local oxd server as two child processes of the built CLI
 * (`node dist/testing/cli.js op|oxd --json --until-stdin-closes`), for callers that cannot
 * load the ESM-only OP in their own process: the package's test harness and its bench.
 *
 *   const stack = await startStackProcesses();
 *   // stack.op.issuer / stack.op.ca / stack.op.users  -> [client] op_host, test logins
 *   // stack.oxd.host + stack.oxd.port                 -> socket transport
 *   // stack.oxd.httpsUrl + '/v3' / stack.oxd.httpsUrl -> https 3.x / 4.x, trust stack.oxd.ca
 *   await stack.stopOxd(); await stack.startOxd();     // oxd restart, same ports and data
 *   await stack.killOxd(); await stack.startOxd();     // oxd crash (SIGKILL) and restart
 *   await stack.stopOp();                              // OP outage (for good: no restart)
 *   await stack.close();
 *
 * Everything listens on 127.0.0.1 with free ports. The oxd keeps its registrations and its
 * HTTPS certificate in a temporary data directory, so both survive `stopOxd()`/`startOxd()`
 * (`oxd.ca` stays valid); `close()` removes it. Children are killed when the parent process
 * exits, and stop by themselves when their stdin closes (the parent died).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dataLayout } from './cli-data';
import type { TestUser } from './op/users';
import type { ClaimsPolicy } from './uma';

export interface StackProcesses {
  op: { issuer: string; ca: string; users: TestUser[] };
  oxd: { host: string; port: number; httpsUrl: string; ca: string };
  /** The stack's data directory (the oxd's registrations.json is in local-oxd/). */
  dataDir: string;
  /** The OP's certificate: the file the OP keeps in the data directory (local-op/cert.pem). */
  opCaFile: string;
  /** Process ids of the running children (OP first), e.g. to pin them to CPUs. */
  readonly pids: number[];
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

export interface StackProcessesOptions {
  /** OP access and client token lifetime in seconds (small values let tests see expiry). */
  accessTokenTtl?: number;
  /** The OP issues a new refresh token on each refresh and refuses (revokes) a used one. */
  rotateRefreshToken?: boolean;
  /** true: socket commands need a protection token too; false: nothing checks tokens. */
  protectCommands?: boolean;
  /** Claims the UMA server requires per scope (to provoke need_info). */
  umaClaimsPolicy?: ClaimsPolicy;
  /** `false`: the OP publishes no end_session_endpoint (`--no-end-session`). */
  endSession?: boolean;
  /** `--oxd-version`: the oxd release line the local oxd reproduces (default: both lines). */
  oxdVersion?: '3.1.3' | '3.1.4' | '4.1' | '4.2';
  /** The CLI to spawn; default: `cli.js` beside this module in `dist/testing/`. */
  cli?: string;
  /** Working directory of the children; default: the current one. */
  cwd?: string;
  /** Prefix of the temporary data directory's name. */
  dataDirPrefix?: string;
}

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

/**
 * Spawns the CLI (`op` or `oxd` and its flags) and resolves with the child and the JSON line
 * it prints once ready; the child is killed when this process exits.
 */
export function startChild(
  cli: string,
  cwd: string,
  args: string[],
): Promise<{ child: ChildProcess; ready: Record<string, unknown> }> {
  installExitHook();
  const child = spawn(process.execPath, [cli, ...args, '--json', '--until-stdin-closes'], {
    cwd,
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

function isRunning(child: ChildProcess | undefined): child is ChildProcess {
  return child !== undefined && child.exitCode === null && child.signalCode === null;
}

/** Stops a child (SIGTERM, then SIGKILL after a timeout) and waits for it to exit. */
export function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!isRunning(child)) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

function opArgs(dataDir: string, options: StackProcessesOptions): string[] {
  const args = ['op', '--op-port', '0', '--data-dir', dataDir];
  if (options.accessTokenTtl !== undefined) {
    args.push('--access-token-ttl', String(options.accessTokenTtl));
  }
  if (options.endSession === false) args.push('--no-end-session');
  if (options.rotateRefreshToken) args.push('--rotate-refresh-token');
  return args;
}

/** Starts the local OP, then the local oxd server against it. */
export async function startStackProcesses(
  options: StackProcessesOptions = {},
): Promise<StackProcesses> {
  const cli = options.cli ?? join(__dirname, 'cli.js');
  const cwd = options.cwd ?? process.cwd();
  const dataDir = await mkdtemp(join(tmpdir(), options.dataDirPrefix ?? 'express-oxd-stack-'));
  const { opCaFile } = dataLayout(dataDir);
  const policyFile = join(dataDir, 'uma-claims-policy.json');
  let opChild: ChildProcess | undefined;
  let oxdChild: ChildProcess | undefined;

  const closeAll = async () => {
    await Promise.all([stopChild(oxdChild), stopChild(opChild)]);
    await rm(dataDir, { recursive: true, force: true });
  };

  try {
    const started = await startChild(cli, cwd, opArgs(dataDir, options));
    opChild = started.child;
    const op = started.ready.op as StackProcesses['op'];
    if (options.umaClaimsPolicy) {
      await writeFile(policyFile, JSON.stringify(options.umaClaimsPolicy));
    }
    const oxdArgs = (port: number, httpsPort: number) => {
      const args = ['oxd', '--op-issuer', op.issuer, '--op-ca-file', opCaFile];
      args.push('--data-dir', dataDir, '--port', String(port), '--https-port', String(httpsPort));
      if (options.protectCommands === true) args.push('--protect');
      if (options.protectCommands === false) args.push('--no-protect');
      if (options.umaClaimsPolicy) args.push('--uma-claims-policy', policyFile);
      if (options.oxdVersion) args.push('--oxd-version', options.oxdVersion);
      return args;
    };

    const first = await startChild(cli, cwd, oxdArgs(0, 0));
    oxdChild = first.child;
    const oxd = first.ready.oxd as StackProcesses['oxd'];
    const httpsPort = Number(new URL(oxd.httpsUrl).port);

    let closing: Promise<void> | undefined;
    return {
      op,
      oxd,
      dataDir,
      opCaFile,
      get pids() {
        return [opChild, oxdChild]
          .filter(isRunning)
          .map((child) => child.pid)
          .filter((pid): pid is number => pid !== undefined);
      },
      async stopOxd() {
        await stopChild(oxdChild);
        oxdChild = undefined;
      },
      async killOxd() {
        const child = oxdChild;
        oxdChild = undefined;
        if (!isRunning(child)) return;
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
        const restarted = await startChild(cli, cwd, oxdArgs(oxd.port, httpsPort));
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
