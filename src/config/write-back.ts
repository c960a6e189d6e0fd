/**
 * Writes registration results (`[oxd] id`, `[client] client_id`, …) back into the INI file.
 *
 * Only the given keys change; every other byte of the file stays as the user wrote it (a
 * file that is not UTF-8 is refused rather than re-encoded). The new text goes to a
 * temporary file in the same directory (`<file>.<pid>.<random>.tmp`, created with mode 0600
 * as it holds the client secret, given the original's mode and owner once complete), is
 * flushed to disk and renamed over the original, so a crash at any moment leaves either the
 * old or the new file. Temporary files a killed writer left behind are removed at start-up
 * ({@link assertWritable}) and before each write. Writers are serialised within the process
 * (one queue per file) and across processes (an exclusive `<file>.lock`).
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  lstatSync,
  openSync,
  readdirSync,
  realpathSync,
  statSync,
  unlinkSync,
  type Stats,
} from 'node:fs';
import { link, open, readFile, readdir, realpath, rename, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { debuglog } from 'node:util';
import { ERROR_CODES, OxdConfigError } from '../errors';
import { parseIni } from './ini';
import type { WriteBackValues } from './types';

const debug = debuglog('express-oxd');

/** How long `writeBack` waits for another process's lock before giving up. */
const LOCK_WAIT_MS = 5000;
/**
 * How long {@link withConfigLock} waits: another process may hold the lock for a whole
 * registration with oxd (and the OP), not only a file write.
 */
const REGISTRATION_WAIT_MS = 60_000;
/** A lock (or temporary file) older than this is left over from a crashed writer. */
const STALE_MS = 30_000;
/** Mode of a configuration file created by write-back, and of every temporary file. */
const NEW_FILE_MODE = 0o600;

/** INI spellings of written keys that have aliases; every spelling present is updated. */
const ALIASES: Readonly<Record<string, readonly string[]>> = { 'oxd.id': ['id', 'oxd_id'] };

const queues = new Map<string, Promise<void>>();

/**
 * Sets the given keys in the INI file (`undefined` values are skipped) and replaces the
 * file atomically. A missing file is created (mode 0600). Rejects with
 * {@link OxdConfigError} `OXD_CONFIG_WRITE_FAILED` (cause attached) and leaves the file as it
 * was when anything fails.
 */
export function writeBack(file: string, values: WriteBackValues): Promise<void> {
  const path = resolve(file);
  return queued(path, () => writeLocked(path, values));
}

/** Runs `task` after the earlier tasks of this process on `path` (one queue per file). */
function queued<T>(path: string, task: () => Promise<T>): Promise<T> {
  const previous = queues.get(path) ?? Promise.resolve();
  const result = previous.then(task);
  // The queue only orders writers; each caller gets its own outcome through `result`.
  const tail = result.then(
    () => undefined,
    () => undefined,
  );
  queues.set(path, tail);
  void tail.then(() => {
    if (queues.get(path) === tail) queues.delete(path);
  });
  return result;
}

/** What a task run by {@link withConfigLock} can do with the locked file. */
export interface LockedConfig {
  /** The registration results the file holds now (`[oxd] id`, `[client] client_id`, …). */
  read(): Promise<WriteBackValues>;
  /** Sets the given keys, as {@link writeBack} does, without giving up the lock. */
  write(values: WriteBackValues): Promise<void>;
}

/**
 * Runs `task` while holding the lock `writeBack` uses (`<file>.lock`, shared by processes,
 * and this process's queue for the file), so that a task that reads the file, registers and
 * writes the result runs in one process at a time. Waits up to a minute for the lock (a
 * registration may take that long), then rejects with `OXD_CONFIG_WRITE_FAILED`.
 */
export function withConfigLock<T>(
  file: string,
  task: (config: LockedConfig) => Promise<T>,
): Promise<T> {
  const path = resolve(file);
  return queued(path, async () => {
    let target: string;
    let lock: string;
    try {
      target = await realTarget(path);
      lock = await acquireLock(`${target}.lock`, REGISTRATION_WAIT_MS);
    } catch (error) {
      throw new OxdConfigError(
        `cannot lock ${path} for the registration: ${describe(error)}`,
        { code: ERROR_CODES.CONFIG_WRITE_FAILED, file: path },
        { cause: error },
      );
    }
    try {
      return await task({
        read: () => readSaved(target),
        write: async (values) => {
          try {
            await removeStaleTemps(target);
            await update(target, values);
          } catch (error) {
            throw writeFailed(path, error);
          }
        },
      });
    } finally {
      await releaseLock(`${target}.lock`, lock);
    }
  });
}

/** The written-back keys `file` holds now; nothing for a missing file. */
export async function readSavedRegistration(file: string): Promise<WriteBackValues> {
  return readSaved(await realTarget(resolve(file)));
}

/** The keys {@link writeBack} writes, read from the file's current text. */
async function readSaved(target: string): Promise<WriteBackValues> {
  let bytes: Buffer;
  try {
    bytes = await readFile(target);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return {};
    throw error;
  }
  const document = parseIni(bytes, { file: target });
  const value = (section: string, names: readonly string[]): string | undefined => {
    for (const name of names) {
      const found = document.get(section, name);
      if (found !== undefined && found.trim() !== '') return found.trim();
    }
    return undefined;
  };
  const saved: WriteBackValues = {};
  const id = value('oxd', ALIASES['oxd.id'] ?? ['id']);
  if (id !== undefined) saved.oxd = { id };
  const client: Record<string, string> = {};
  for (const key of [
    'client_id',
    'client_secret',
    'client_registration_access_token',
    'client_registration_client_uri',
    'protection_access_token',
  ]) {
    const found = value('client', [key]);
    if (found !== undefined) client[key] = found;
  }
  if (Object.keys(client).length > 0) saved.client = client;
  return saved;
}

/**
 * Throws {@link OxdConfigError} `OXD_CONFIG_WRITE_FAILED` unless `writeBack` can replace
 * `file`: its directory exists and accepts a new file (checked by creating and removing
 * one), the file, if present, is a regular file that opens for writing, and `<file>.lock`
 * is not something other than a file. Removes stale temporary files left next to `file` by
 * writers that were killed (see {@link writeBack}).
 */
export function assertWritable(file: string): void {
  const path = resolve(file);
  const fail = (problem: string, cause?: unknown): never => {
    throw new OxdConfigError(
      `cannot write registration results to ${path}: ${problem}. Make the file and its ` +
        'directory writable by this process (the file is replaced through a temporary file ' +
        'in the same directory), or register beforehand and put the results in the file.',
      { code: ERROR_CODES.CONFIG_WRITE_FAILED, file: path },
      cause === undefined ? {} : { cause },
    );
  };
  const target = realTargetSync(path, fail);
  const existing = statOrUndefinedSync(target, fail);
  if (existing !== undefined && !existing.isFile()) fail(`${target} is not a regular file`);
  try {
    if (existing !== undefined) closeSync(openSync(target, 'r+'));
  } catch (error) {
    fail(`the file cannot be opened for writing (${describe(error)})`, error);
  }
  const probe = tempPath(target);
  try {
    closeSync(openSync(probe, 'wx', NEW_FILE_MODE));
    unlinkSync(probe);
  } catch (error) {
    fail(`cannot create a file in ${dirname(target)} (${describe(error)})`, error);
  }
  const lock = statOrUndefinedSync(`${target}.lock`, fail);
  if (lock !== undefined && !lock.isFile()) fail(`${target}.lock is not a regular file`);
  removeStaleTempsSync(target);
}

async function writeLocked(path: string, values: WriteBackValues): Promise<void> {
  try {
    const target = await realTarget(path);
    const lock = await acquireLock(`${target}.lock`, LOCK_WAIT_MS);
    try {
      await removeStaleTemps(target);
      await update(target, values);
    } finally {
      await releaseLock(`${target}.lock`, lock);
    }
  } catch (error) {
    throw writeFailed(path, error);
  }
}

function writeFailed(path: string, error: unknown): OxdConfigError {
  if (error instanceof OxdConfigError && error.code === ERROR_CODES.CONFIG_WRITE_FAILED) {
    return error;
  }
  return new OxdConfigError(
    `cannot write registration results to ${path}: ${describe(error)}. The file was left ` +
      'as it was; make it and its directory writable by this process.',
    { code: ERROR_CODES.CONFIG_WRITE_FAILED, file: path },
    { cause: error },
  );
}

async function update(target: string, values: WriteBackValues): Promise<void> {
  let bytes: Buffer = Buffer.alloc(0);
  let original: Stats | undefined;
  try {
    [bytes, original] = await Promise.all([readFile(target), stat(target)]);
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error;
  }
  // Refuses bytes that are not UTF-8 (naming the line) instead of rewriting them.
  const document = parseIni(bytes, { file: target });
  const text = document.toString();
  for (const section of ['oxd', 'client'] as const) {
    for (const [key, value] of Object.entries(values[section] ?? {})) {
      if (value === undefined) continue;
      if (typeof value !== 'string') throw new TypeError(`[${section}] ${key} must be a string`);
      const spellings = ALIASES[`${section}.${key}`] ?? [key];
      const present = spellings.filter((name) => document.get(section, name) !== undefined);
      for (const name of present.length > 0 ? present : [key]) document.set(section, name, value);
    }
  }
  const next = document.toString();
  if (original !== undefined && next === text) return;
  await replaceFile(target, next, original);
}

/** Writes `text` to a temporary file next to `target` and renames it over `target`. */
async function replaceFile(target: string, text: string, original: Stats | undefined) {
  const temp = tempPath(target);
  const mode = original === undefined ? NEW_FILE_MODE : original.mode & 0o7777;
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

interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly nonce: string;
}

/**
 * Creates `lockPath` exclusively, complete with its content: the content is written to a
 * temporary file first and hard-linked into place (`link` fails if the lock exists).
 */
async function acquireLock(lockPath: string, waitMs: number): Promise<string> {
  const owner: LockOwner = {
    pid: process.pid,
    host: hostname(),
    nonce: randomBytes(8).toString('hex'),
  };
  const content = JSON.stringify(owner);
  const deadline = Date.now() + waitMs;
  const draft = tempPath(lockPath.slice(0, -'.lock'.length));
  const handle = await open(draft, 'wx', 0o600);
  try {
    await handle.writeFile(content, 'utf8');
  } finally {
    await handle.close();
  }
  try {
    let delay = 5;
    for (;;) {
      try {
        await link(draft, lockPath);
        return content;
      } catch (error) {
        if (errorCode(error) !== 'EEXIST') throw error;
      }
      if (await breakIfStale(lockPath)) continue;
      if (Date.now() >= deadline) {
        throw new Error(
          `${lockPath} is held by another writer; if no other process is writing the file, ` +
            'delete the lock file',
        );
      }
      await sleep(delay + Math.random() * delay);
      delay = Math.min(delay * 2, 200);
    }
  } finally {
    await unlinkIfPresent(draft);
  }
}

/** Removes the lock when its owner died (same host) or it is older than {@link STALE_MS}. */
async function breakIfStale(lockPath: string): Promise<boolean> {
  let content: string;
  let since: number;
  try {
    [content, since] = await Promise.all([
      readFile(lockPath, 'utf8'),
      stat(lockPath).then((stats) => stats.mtimeMs),
    ]);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return true; // released meanwhile
    throw error;
  }
  const owner = parseOwner(content);
  const ownerDied =
    owner !== undefined &&
    owner.host === hostname() &&
    owner.pid !== process.pid &&
    !isAlive(owner.pid);
  if (!ownerDied && Date.now() - since < STALE_MS) return false;
  // Move the lock aside first, so that a lock another process created after our read is
  // recognised (its content differs) and put back instead of deleted.
  const aside = tempPath(lockPath.slice(0, -'.lock'.length));
  try {
    await rename(lockPath, aside);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return true;
    throw error;
  }
  try {
    if ((await readFile(aside, 'utf8')) !== content) {
      await link(aside, lockPath).catch((error: unknown) => {
        if (errorCode(error) !== 'EEXIST') throw error;
      });
    } else {
      debug('write-back: removed the stale lock %s (owner pid %s)', lockPath, owner?.pid);
    }
  } finally {
    await unlinkIfPresent(aside);
  }
  return true;
}

async function releaseLock(lockPath: string, content: string): Promise<void> {
  try {
    // Only remove our own lock: another writer may have judged ours stale and taken over.
    if ((await readFile(lockPath, 'utf8')) === content) await unlink(lockPath);
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error;
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
async function removeStaleTemps(target: string): Promise<void> {
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
function removeStaleTempsSync(target: string): void {
  const pattern = tempPattern(target);
  const directory = dirname(target);
  let names: string[];
  try {
    names = readdirSync(directory);
  } catch (error) {
    debug('write-back: cannot list %s (%s)', directory, describe(error));
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
      debug('write-back: cannot remove %s (%s)', path, describe(error));
    }
  }
}

function parseOwner(content: string): LockOwner | undefined {
  try {
    const value = JSON.parse(content) as Partial<LockOwner>;
    if (typeof value.pid === 'number' && typeof value.host === 'string') return value as LockOwner;
  } catch (error) {
    debug('write-back: unreadable lock content (%s)', describe(error));
  }
  return undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errorCode(error) === 'EPERM'; // exists, owned by someone else
  }
}

function tempPath(target: string): string {
  return `${target}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
}

/** The file a symlinked path points to (so the link survives), or the path if absent. */
async function realTarget(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return path;
    throw error;
  }
}

function realTargetSync(path: string, fail: (problem: string, cause: unknown) => never): string {
  try {
    return realpathSync(path);
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') fail(describe(error), error);
    if (lstatSync(dirname(path), { throwIfNoEntry: false }) === undefined) {
      fail(`its directory ${dirname(path)} does not exist`, error);
    }
    return path;
  }
}

function statOrUndefinedSync(
  path: string,
  fail: (problem: string, cause: unknown) => never,
): Stats | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch (error) {
    return fail(describe(error), error);
  }
}

async function unlinkIfPresent(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error;
  }
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
