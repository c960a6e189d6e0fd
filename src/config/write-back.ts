/**
 * Writes registration results (`[oxd] id`, `[client] client_id`, …) back into the INI file.
 *
 * Only the given keys change; every other byte of the file stays as the user wrote it (a
 * file that is not UTF-8 is refused rather than re-encoded). The new text goes to a
 * temporary file in the same directory (`<file>.<pid>.<random>.tmp`, created with mode 0600
 * as it holds the client secret, given the original's mode and owner once complete; the
 * owner's bits only when a secret is written into a file others could read), is
 * flushed to disk and renamed over the original, so a crash at any moment leaves either the
 * old or the new file. Temporary files a killed writer left behind are removed at start-up
 * ({@link assertWritable}) and before each write. Writers are serialised within the process
 * (one queue per file) and across processes (an exclusive `<file>.lock`).
 */
import { closeSync, openSync, unlinkSync, type Stats } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { ERROR_CODES, errorMessage, OxdConfigError } from '../errors';
import {
  errorCode,
  NEW_FILE_MODE,
  realTarget,
  realTargetSync,
  removeStaleTemps,
  removeStaleTempsSync,
  replaceFile,
  statOrUndefinedSync,
  tempPath,
} from './atomic-file';
import { consoleLogger, type Logger } from '../logger';
import { acquireLock, releaseLock, type HeldLock } from './file-lock';
import { parseIni } from './ini';
import { isWide, ownerOnly, reportTightened, SECRET_KEYS } from './permissions';
import type { WriteBackValues } from './types';

/**
 * How long {@link withConfigLock} waits: another process may hold the lock for a whole
 * registration with oxd (and the OP), not only a file write.
 */
const REGISTRATION_WAIT_MS = 60_000;

/** INI spellings of written keys that have aliases; every spelling present is updated. */
const ALIASES: Readonly<Record<string, readonly string[]>> = { 'oxd.id': ['id', 'oxd_id'] };

const queues = new Map<string, Promise<void>>();

export interface WriteBackOptions {
  /** Told once per file when writing a secret made a file others could read owner-only. */
  readonly logger?: Logger | undefined;
}

/**
 * Sets the given keys in the INI file (`undefined` values are skipped) and replaces the
 * file atomically. A missing file is created (mode 0600); a file that others can read
 * becomes owner-only when a secret is written into it (said once through `logger`).
 * Rejects with {@link OxdConfigError} `OXD_CONFIG_WRITE_FAILED` (cause attached) and leaves
 * the file as it was when anything fails.
 */
export function writeBack(
  file: string,
  values: WriteBackValues,
  options: WriteBackOptions = {},
): Promise<void> {
  const path = resolve(file);
  return queued(path, () => writeLocked(path, values, options.logger ?? consoleLogger));
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

export interface ConfigLockOptions extends WriteBackOptions {
  /** The lease of the lock, renewed while the task runs. Default 30 s (`LOCK_LEASE_MS` in file-lock.ts). */
  readonly leaseMs?: number | undefined;
}

/**
 * Runs `task` while holding the lock `writeBack` uses (`<file>.lock`, shared by processes,
 * and this process's queue for the file), so that a task that reads the file, registers and
 * writes the result runs in one process at a time. The lock is a lease renewed while the
 * task runs, however long it takes; `write` refuses once the lease was lost (the process
 * stalled for a whole lease and another one took over). Waits up to a minute for the lock,
 * then rejects with `OXD_CONFIG_WRITE_FAILED`.
 */
export function withConfigLock<T>(
  file: string,
  task: (config: LockedConfig) => Promise<T>,
  options: ConfigLockOptions = {},
): Promise<T> {
  const path = resolve(file);
  return queued(path, async () => {
    let target: string;
    let lock: HeldLock;
    try {
      target = await realTarget(path);
      lock = await acquireLock(`${target}.lock`, {
        waitMs: REGISTRATION_WAIT_MS,
        leaseMs: options.leaseMs,
      });
    } catch (error) {
      throw new OxdConfigError(
        `cannot lock ${path} for the registration: ${errorMessage(error)}`,
        { code: ERROR_CODES.CONFIG_WRITE_FAILED, file: path },
        { cause: error },
      );
    }
    try {
      return await task({
        read: () => readSaved(target),
        write: async (values) => {
          try {
            if (lock.lease.lost) {
              throw new Error(
                `the lock ${target}.lock was lost (${errorMessage(lock.lease.signal.reason)}); ` +
                  'another process may have written the file meanwhile',
              );
            }
            await removeStaleTemps(target);
            await update(target, values, options.logger ?? consoleLogger);
          } catch (error) {
            throw writeFailed(path, error);
          }
        },
      });
    } finally {
      await releaseLock(lock);
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
    fail(`the file cannot be opened for writing (${errorMessage(error)})`, error);
  }
  const probe = tempPath(target);
  try {
    closeSync(openSync(probe, 'wx', NEW_FILE_MODE));
    unlinkSync(probe);
  } catch (error) {
    fail(`cannot create a file in ${dirname(target)} (${errorMessage(error)})`, error);
  }
  const lock = statOrUndefinedSync(`${target}.lock`, fail);
  if (lock !== undefined && !lock.isFile()) fail(`${target}.lock is not a regular file`);
  removeStaleTempsSync(target);
}

async function writeLocked(path: string, values: WriteBackValues, logger: Logger): Promise<void> {
  try {
    const target = await realTarget(path);
    const lock = await acquireLock(`${target}.lock`);
    try {
      await removeStaleTemps(target);
      await update(target, values, logger);
    } finally {
      await releaseLock(lock);
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
    `cannot write registration results to ${path}: ${errorMessage(error)}. The file was left ` +
      'as it was; make it and its directory writable by this process.',
    { code: ERROR_CODES.CONFIG_WRITE_FAILED, file: path },
    { cause: error },
  );
}

async function update(target: string, values: WriteBackValues, logger: Logger): Promise<void> {
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
  const writesSecret = SECRET_KEYS.some((key) => Boolean(values.client?.[key as 'client_secret']));
  if (original !== undefined && writesSecret && isWide(original.mode)) {
    await replaceFile(target, next, original, ownerOnly(original.mode & 0o7777));
    reportTightened(target, original.mode, logger);
    return;
  }
  await replaceFile(target, next, original);
}
