/**
 * Replacing a file atomically: the new text goes to a temporary file in the same directory
 * (`<file>.<pid>.<random>.tmp`, created with mode 0600 as it may hold a secret, given the
 * original's mode and owner once complete), is flushed to disk and renamed over the
 * original, so a crash at any moment leaves either the old or the new file. Temporary files
 * that a killed writer left behind are recognised by their name and removed.
 */
import { randomBytes } from 'node:crypto';
import { lstatSync, readdirSync, realpathSync, statSync, unlinkSync, type Stats } from 'node:fs';
import { open, readdir, realpath, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { debuglog } from 'node:util';
import { errorMessage } from '../errors';

const debug = debuglog('express-oxd');

/** A lock (or temporary file) older than this is left over from a crashed writer. */
export const STALE_MS = 30_000;
/** Mode of a configuration file created by write-back, and of every temporary file. */
export const NEW_FILE_MODE = 0o600;

/**
 * Writes `text` to a temporary file next to `target` and renames it over `target`, with
 * `mode` (default: the original's mode, or {@link NEW_FILE_MODE} for a new file).
 */
export async function replaceFile(
  target: string,
  text: string,
  original: Stats | undefined,
  mode: number = original === undefined ? NEW_FILE_MODE : original.mode & 0o7777,
) {
  const temp = tempPath(target);
  // Owner-only while it is being written: it holds the client secret, and a writer killed
  // now leaves it behind until the next start-up or write-back removes it.
  const handle = await open(temp, 'wx', NEW_FILE_MODE);
  let renamed = false;
  try {
    try {
      await handle.writeFile(text, 'utf8');
      if (original !== undefined && process.getuid?.() === 0) {
        await handle.chown(original.uid, original.gid);
      }
      await handle.sync();
      await handle.chmod(mode); // the original's mode, now that the content is complete
    } finally {
      await handle.close();
    }
    await rename(temp, target);
    renamed = true;
    await syncDirectory(dirname(target));
  } finally {
    if (!renamed) await unlinkIfPresent(temp);
  }
}

async function syncDirectory(directory: string): Promise<void> {
  if (process.platform === 'win32') return; // directories cannot be opened there
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** `<file>.<pid>.<hex>.tmp`, the names {@link tempPath} gives; group 1 is the pid. */
function tempPattern(target: string): RegExp {
  return new RegExp(`^${escapeRegExp(basename(target))}\\.(\\d+)\\.[0-9a-f]+\\.tmp$`);
}

/**
 * Whether a temporary file of `pid`, last modified at `mtimeMs`, was left by a writer that
 * will not finish it: its process is gone (on this host), or it is older than
 * {@link STALE_MS} (a write takes far less; a lock that old is broken as stale too). A
 * live writer's own files are never stale to it.
 */
function isStaleTemp(pid: number, mtimeMs: number): boolean {
  if (pid === process.pid) return false;
  return !isAlive(pid) || Date.now() - mtimeMs >= STALE_MS;
}

/** Deletes temporary files that killed writers left next to `target`. */
export async function removeStaleTemps(target: string): Promise<void> {
  const pattern = tempPattern(target);
  const directory = dirname(target);
  for (const name of await readdir(directory)) {
    const pid = Number(pattern.exec(name)?.[1]);
    if (!Number.isInteger(pid)) continue;
    const path = join(directory, name);
    try {
      if (!isStaleTemp(pid, (await stat(path)).mtimeMs)) continue;
      await unlink(path);
      debug('write-back: removed %s left by a writer that was killed', path);
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error;
    }
  }
}

/** {@link removeStaleTemps} for start-up; a file it cannot remove is left for later. */
export function removeStaleTempsSync(target: string): void {
  const pattern = tempPattern(target);
  const directory = dirname(target);
  let names: string[];
  try {
    names = readdirSync(directory);
  } catch (error) {
    debug('write-back: cannot list %s (%s)', directory, errorMessage(error));
    return;
  }
  for (const name of names) {
    const pid = Number(pattern.exec(name)?.[1]);
    if (!Number.isInteger(pid)) continue;
    const path = join(directory, name);
    try {
      const stats = statSync(path, { throwIfNoEntry: false });
      if (stats === undefined || !isStaleTemp(pid, stats.mtimeMs)) continue;
      unlinkSync(path);
      debug('write-back: removed %s left by a writer that was killed', path);
    } catch (error) {
      debug('write-back: cannot remove %s (%s)', path, errorMessage(error));
    }
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errorCode(error) === 'EPERM'; // exists, owned by someone else
  }
}

export function tempPath(target: string): string {
  return `${target}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
}

/** The file a symlinked path points to (so the link survives), or the path if absent. */
export async function realTarget(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return path;
    throw error;
  }
}

export function realTargetSync(
  path: string,
  fail: (problem: string, cause: unknown) => never,
): string {
  try {
    return realpathSync(path);
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') fail(errorMessage(error), error);
    if (lstatSync(dirname(path), { throwIfNoEntry: false }) === undefined) {
      fail(`its directory ${dirname(path)} does not exist`, error);
    }
    return path;
  }
}

export function statOrUndefinedSync(
  path: string,
  fail: (problem: string, cause: unknown) => never,
): Stats | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch (error) {
    return fail(errorMessage(error), error);
  }
}

export async function unlinkIfPresent(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error;
  }
}

export function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
