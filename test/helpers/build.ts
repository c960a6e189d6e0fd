/**
 * Makes sure `dist/` holds a build of the current `src/` before a test spawns `node dist/...`.
 *
 * Fresh means: every `src/**\/*.ts` has its `dist/**\/*.js` and the output is not older than
 * the source. Otherwise `npm run build` runs once per jest worker; a lock directory in the
 * temp dir keeps parallel workers (and parallel test runs of the same checkout) from running
 * two compilers over the same `dist/` at once.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readdir, rmdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Repository root (the directory holding package.json). */
export const ROOT = resolve(__dirname, '..', '..');
const SRC = join(ROOT, 'src');
const DIST = join(ROOT, 'dist');
const LOCK = join(
  tmpdir(),
  `express-oxd-build-${createHash('sha256').update(ROOT).digest('hex').slice(0, 12)}.lock`,
);
/** A build lock older than this was left behind by a killed process. */
const STALE_LOCK_MS = 180_000;
const LOCK_WAIT_MS = 240_000;

let building: Promise<void> | undefined;

/** Resolves once `dist/` is up to date with `src/`; builds at most once per worker. */
export function ensureBuilt(): Promise<void> {
  building ??= buildIfStale().catch((error: unknown) => {
    building = undefined;
    throw error;
  });
  return building;
}

async function sourceFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await sourceFiles(path)));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) found.push(path);
  }
  return found;
}

async function mtimeOrUndefined(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).mtimeMs;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function isFresh(): Promise<boolean> {
  for (const source of await sourceFiles(SRC)) {
    const output = join(DIST, relative(SRC, source)).replace(/\.ts$/, '.js');
    const [sourceTime, outputTime] = await Promise.all([
      mtimeOrUndefined(source),
      mtimeOrUndefined(output),
    ]);
    if (sourceTime === undefined) continue; // deleted while scanning
    if (outputTime === undefined || outputTime < sourceTime) return false;
  }
  return true;
}

async function acquireLock(): Promise<void> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      await mkdir(LOCK);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const since = await mtimeOrUndefined(LOCK);
    if (since !== undefined && Date.now() - since > STALE_LOCK_MS) {
      await removeLock();
      continue;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for the build lock ${LOCK}`);
    await sleep(200);
  }
}

function runBuild(): Promise<{ ok: boolean; output: string }> {
  return new Promise((done) => {
    execFile(
      'npm',
      ['run', 'build', '--silent'],
      { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => done({ ok: error === null, output: `${stdout}${stderr}` }),
    );
  });
}

async function buildIfStale(): Promise<void> {
  if (await isFresh()) return;
  await acquireLock();
  try {
    if (await isFresh()) return; // another worker built it while we waited
    const { ok, output } = await runBuild();
    // tsc still emits when some file has a type error; `npm run typecheck` reports those.
    // What matters here is that every module has its JavaScript.
    if (!ok && !(await isFresh())) throw new Error(`npm run build failed:\n${output}`);
  } finally {
    await removeLock();
  }
}

async function removeLock(): Promise<void> {
  try {
    await rmdir(LOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
