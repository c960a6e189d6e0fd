/**
 * Helpers for tests that run several app instances as real processes: configuration files
 * for the local stack, counting the sites the local oxd registered, and running built
 * fixtures in child processes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LocalStack } from './local-stack';
import { ROOT } from './build';

export const DIST_ENTRY = join(ROOT, 'dist', 'index.js');
export const FIXTURES = join(ROOT, 'test', 'fixtures', 'instances');

/**
 * An INI configuration for the local stack's oxd socket, or its 4.x HTTPS API (the CA is
 * written next to the file), with no `[oxd] id` unless given.
 */
export async function writeStackConfig(
  file: string,
  stack: LocalStack,
  origin: string,
  extra: { oxdId?: string; https?: boolean } = {},
): Promise<void> {
  const caFile = `${file}.oxd-ca.pem`;
  if (extra.https) await writeFile(caFile, stack.oxd.ca, { mode: 0o644 });
  const lines = [
    '[oxd]',
    ...(extra.https
      ? [
          `host = ${stack.oxd.httpsUrl}`,
          'https_extension = true',
          'server_version = 4',
          `ca_file = ${caFile}`,
        ]
      : [`host = ${stack.oxd.host}`, `port = ${stack.oxd.port}`]),
    ...(extra.oxdId === undefined ? [] : [`id = ${extra.oxdId}`]),
    'connect_timeout = 5000',
    'response_timeout = 15000',
    '',
    '[client]',
    `op_host = ${stack.op.issuer}`,
    `authorization_redirect_uri = ${origin}/callback`,
    `post_logout_redirect_uri = ${origin}/logged-out`,
    'scope = openid,profile,email,offline_access',
    '',
  ];
  // Owner-only, as a file that registration writes secrets into should be.
  await writeFile(file, lines.join('\n'), { mode: 0o600 });
}

/** Sites (not 3.x setup clients) the local oxd has registered, from its data directory. */
export async function registeredSites(stack: LocalStack): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(join(stack.dataDir, 'local-oxd', 'registrations.json'), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const stored = JSON.parse(text) as {
    sites?: Record<string, { oxd_id: string; setup_client?: boolean }>;
  };
  return Object.values(stored.sites ?? {})
    .filter((site) => !site.setup_client)
    .map((site) => site.oxd_id);
}

export interface Outcome {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `node <args>` to its end. */
export function runNode(
  args: string[],
  options: { uid?: number; gid?: number; env?: NodeJS.ProcessEnv } = {},
): { child: ChildProcess; done: Promise<Outcome> } {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...options,
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<Outcome>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

/** Runs node with `args` as {@link runNode} does; resolves with its stdout once it exits 0. */
export async function nodeOutput(args: string[]): Promise<string> {
  const { code, signal, stdout, stderr } = await runNode(args).done;
  if (code !== 0) throw new Error(`node exited with ${signal ?? code}: ${stderr}`);
  return stdout;
}
