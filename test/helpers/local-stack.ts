/**
 * The test harness's local stack: the local OpenID Provider and the local oxd server, each a
 * child process of the built package (`src/testing/stack-processes.ts`), since jest cannot
 * load their ESM-only dependencies. Test files ask here instead of starting processes:
 *
 *   const stack = useLocalStack();                    // this file's stack: started in
 *                                                     // beforeAll, closed after the file
 *   const stack = useLocalStack({ accessTokenTtl: 5 }); // one with other options
 *   const bare = await dedicatedStack({ endSession: false }); // started now (in a hook or a
 *                                                     // test), closed after the file
 *
 *   // stack.op.issuer / stack.op.ca / stack.op.users  -> [client] op_host, test logins
 *   // stack.oxd.host + stack.oxd.port                 -> socket transport
 *   // stack.oxd.httpsUrl + '/v3' / stack.oxd.httpsUrl -> https 3.x / 4.x, trust stack.oxd.ca
 *   await stack.stopOxd(); await stack.startOxd();     // oxd restart, same ports and data
 *   await stack.killOxd(); await stack.startOxd();     // oxd crash (SIGKILL) and restart
 *   await stack.stopOp();                              // OP outage (for good: no restart)
 *
 * Every stack belongs to one test file: a test may stop, kill or restart its parts without
 * disturbing another file. `dist/` is built first when it is older than `src/`.
 * Options: `accessTokenTtl` (OP access and client tokens, seconds), `rotateRefreshToken`,
 * `protectCommands` (true: socket commands need a protection token too; false: neither socket
 * nor HTTPS check tokens; default: socket and /v3/ no, 4.x REST yes), `umaClaimsPolicy` (claims the UMA
 * server requires per scope, to provoke need_info), `endSession`, `oxdVersion`.
 */
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import {
  startChild,
  startStackProcesses,
  stopChild,
  type StackProcesses,
  type StackProcessesOptions,
} from '../../src/testing/stack-processes';
import type { TestUser } from '../../src/testing/op/users';
import { ROOT, ensureBuilt } from './build';

export type { TestUser };
export type LocalStack = StackProcesses;
export type LocalStackOptions = Omit<StackProcessesOptions, 'cli' | 'cwd' | 'dataDirPrefix'>;

const START_HOOK_TIMEOUT_MS = 180_000;
const CLOSE_HOOK_TIMEOUT_MS = 60_000;

/** Stacks of the current test file, closed by the hook below once its tests are done. */
const opened = new Set<LocalStack>();

afterAll(async () => {
  const stacks = [...opened];
  opened.clear();
  await Promise.all(stacks.map((stack) => stack.close()));
}, CLOSE_HOOK_TIMEOUT_MS);

const CLI = join(ROOT, 'dist', 'testing', 'cli.js');

/**
 * One `express-oxd-local` child (`args`: `op` or `oxd` and its flags) for a test that puts it
 * in front of something other than the local OP, e.g. a scripted OP; `ready` is the JSON line
 * it printed. Stop it with {@link stopLocalProcess}.
 */
export async function startLocalProcess(
  args: string[],
): Promise<{ child: ChildProcess; ready: Record<string, unknown> }> {
  await ensureBuilt();
  return startChild(CLI, ROOT, args);
}

/** Stops a child of {@link startLocalProcess} (SIGTERM, then SIGKILL) and waits for it. */
export function stopLocalProcess(child: ChildProcess | undefined): Promise<void> {
  return stopChild(child);
}

/** Starts a stack for the current test file now; it is closed after the file's tests. */
export async function dedicatedStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  await ensureBuilt();
  const stack = await startStackProcesses({
    ...options,
    cli: CLI,
    cwd: ROOT,
  });
  opened.add(stack);
  return stack;
}

/**
 * The stack of the current test file (or of the enclosing `describe`), started in a
 * `beforeAll` hook. The returned object stands for it: read it inside hooks and tests only.
 */
export function useLocalStack(options: LocalStackOptions = {}): LocalStack {
  let current: LocalStack | undefined;
  beforeAll(async () => {
    current = await dedicatedStack(options);
  }, START_HOOK_TIMEOUT_MS);
  return new Proxy({} as LocalStack, {
    get(_target, key) {
      if (!current) {
        throw new Error('the local stack is read before its beforeAll hook started it');
      }
      return Reflect.get(current, key) as unknown;
    },
  });
}
