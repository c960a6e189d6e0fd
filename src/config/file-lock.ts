/**
 * An exclusive lock file (`<file>.lock`) that serialises writers of one file across
 * processes, held as a lease (see ../lease.ts): its owner renews it (touches its mtime) every
 * third of the lease while it works, so a lock is broken only when its lease lapsed (its
 * mtime is older than the lease its owner wrote into it), or when its owner died on this
 * host. The lock is created complete with its owner (pid, host, nonce, lease) by
 * hard-linking a finished temporary file into place, so no reader ever sees a half-written
 * lock; only the owner's own lock is ever released.
 *
 * What this needs of the file system, when several hosts share the file: atomic `link()`
 * and `rename()` (local file systems, NFSv3/v4; not object-store mounts such as s3fs), mtimes
 * set by `utimes()` visible to the other hosts within a fraction of the lease, and clocks
 * that agree within a fraction of the lease (NTP).
 */
import { randomBytes } from 'node:crypto';
import { link, open, readFile, rename, stat, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { debuglog } from 'node:util';
import { errorMessage } from '../errors';
import { keepLease, type Lease } from '../lease';
import { errorCode, isAlive, STALE_MS, tempPath, unlinkIfPresent } from './atomic-file';

const debug = debuglog('express-oxd');

/** How long `writeBack` waits for another process's lock before giving up. */
const LOCK_WAIT_MS = 5000;
/** How long a lock lasts without renewal; its owner renews it every third of that. */
const LOCK_LEASE_MS = 30_000;

interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly nonce: string;
  /** The owner's lease, in ms: its lock is stale once its mtime is older than that. */
  readonly leaseMs?: number | undefined;
}

export interface LockOptions {
  /** How long to wait for another holder to let go. Default 5 s. */
  readonly waitMs?: number | undefined;
  /** The lease of this holder's lock. Default {@link LOCK_LEASE_MS}. */
  readonly leaseMs?: number | undefined;
}

/** A lock this process holds; give it back with {@link releaseLock}. */
export interface HeldLock {
  readonly path: string;
  readonly content: string;
  /** Renewed while held; `lost` once another process broke it (the lease had lapsed). */
  readonly lease: Lease;
}

/**
 * Creates `lockPath` exclusively, complete with its content: the content is written to a
 * temporary file first and hard-linked into place (`link` fails if the lock exists). Waits
 * up to `waitMs` for another holder to let go. The lock is then renewed until released.
 */
export async function acquireLock(lockPath: string, options: LockOptions = {}): Promise<HeldLock> {
  const waitMs = options.waitMs ?? LOCK_WAIT_MS;
  const leaseMs = options.leaseMs ?? LOCK_LEASE_MS;
  const owner: LockOwner = {
    pid: process.pid,
    host: hostname(),
    nonce: randomBytes(8).toString('hex'),
    leaseMs,
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
        return { path: lockPath, content, lease: holdLease(lockPath, content, leaseMs) };
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

/** Renews the lock by touching it, as long as it is still this owner's. */
function holdLease(lockPath: string, content: string, leaseMs: number): Lease {
  return keepLease({
    ttlMs: leaseMs,
    renew: async () => {
      if (!(await isOwn(lockPath, content))) return false;
      const now = new Date();
      await utimes(lockPath, now, now);
      return true;
    },
    onLost: (reason) => debug('write-back: lost the lock %s: %s', lockPath, reason),
  });
}

/**
 * Removes the lock when its owner died (same host) or its lease lapsed: it was not renewed
 * for the lease its owner wrote into it ({@link STALE_MS} for a lock without one).
 */
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
  const leaseMs = owner?.leaseMs ?? STALE_MS;
  if (!ownerDied && Date.now() - since < leaseMs) return false;
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

export async function releaseLock(held: HeldLock): Promise<void> {
  held.lease.stop();
  // Only remove our own lock: another writer may have judged ours stale and taken over.
  if (await isOwn(held.path, held.content)) await unlinkIfPresent(held.path);
}

/** Whether the lock at `path` still holds `content` (this owner's); a lock gone is not. */
async function isOwn(path: string, content: string): Promise<boolean> {
  try {
    return (await readFile(path, 'utf8')) === content;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return false;
    throw error;
  }
}

function parseOwner(content: string): LockOwner | undefined {
  try {
    const value = JSON.parse(content) as Partial<LockOwner>;
    if (typeof value.pid !== 'number' || typeof value.host !== 'string') return undefined;
    const leaseMs =
      typeof value.leaseMs === 'number' && value.leaseMs > 0 ? value.leaseMs : undefined;
    return { pid: value.pid, host: value.host, nonce: String(value.nonce), leaseMs };
  } catch (error) {
    debug('write-back: unreadable lock content (%s)', errorMessage(error));
  }
  return undefined;
}
