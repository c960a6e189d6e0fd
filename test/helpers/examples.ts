/**
 * The projects under examples/, run as a user runs them: `node <file>` in the example's folder,
 * where `require('express-oxd')` finds this repository's build (`dist/`, through the package's
 * exports) by way of a `node_modules/express-oxd` link in a scratch folder on `NODE_PATH`; the
 * examples' other packages come from the repository's node_modules. Nothing is written into
 * the repository. Every process is stopped by the file's afterAll hook.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ROOT, ensureBuilt } from './build';

export const EXAMPLES = join(ROOT, 'examples');

export interface ExampleProcess {
  /** `http://127.0.0.1:<port>` from the process's "Listening on" line. */
  readonly origin: string;
  readonly port: number;
  readonly pid: number;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  /** What it printed on stderr so far. */
  stderr(): string;
  alive(): boolean;
  /**
   * SIGTERM, then SIGKILL after 10 s; resolves with how it ended once it has exited
   * (`{ code: 0, signal: null }`: it shut down by itself).
   */
  stop(): Promise<Ended>;
}

export interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
}

let modules: Promise<string> | undefined;
const started = new Set<ChildProcess>();

process.once('exit', () => {
  for (const child of started) child.kill('SIGKILL');
});

afterAll(async () => {
  await Promise.all([...started].map((child) => stopChild(child)));
  const dir = await modules;
  modules = undefined;
  if (dir) await rm(dirname(dir), { recursive: true, force: true });
}, 30_000);

/** A scratch `node_modules` holding only `express-oxd` (a link to this repository). */
function exampleModules(): Promise<string> {
  modules ??= (async () => {
    await ensureBuilt();
    const dir = join(await mkdtemp(join(tmpdir(), 'express-oxd-examples-')), 'node_modules');
    await mkdir(dir);
    await symlink(ROOT, join(dir, 'express-oxd'), 'dir');
    return dir;
  })();
  return modules;
}

function stopChild(child: ChildProcess): Promise<Ended> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
    child.kill('SIGTERM');
  });
}

/**
 * Starts `examples/<example>/<file>` with `env` added to this process's environment and
 * resolves once it prints `Listening on http://…` (or `ready`, when given, matches).
 */
export async function startExample(
  example: string,
  file: string,
  env: Record<string, string>,
  ready = /Listening on (http:\/\/127\.0\.0\.1:(\d+))\//,
): Promise<ExampleProcess> {
  const nodePath = await exampleModules();
  const child = spawn(process.execPath, [file], {
    cwd: join(EXAMPLES, example),
    env: { ...process.env, ...env, NODE_PATH: nodePath, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.add(child);
  child.once('exit', () => started.delete(child));
  let output = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
    stderr += chunk;
  });
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setInterval(() => {
      const found = ready.exec(output);
      if (found) {
        clearInterval(timer);
        resolve(found);
      } else if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
        clearInterval(timer);
        child.kill('SIGKILL');
        reject(new Error(`${example}/${file} did not start:\n${output}`));
      }
    }, 50);
    const deadline = Date.now() + 60_000;
  });
  return {
    origin: match[1]!,
    port: Number(match[2]),
    pid: child.pid!,
    output: () => output,
    stderr: () => stderr,
    alive: () => child.exitCode === null && child.signalCode === null,
    stop: () => stopChild(child),
  };
}
