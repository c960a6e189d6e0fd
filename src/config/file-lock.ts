/**
 * An exclusive lock file (`<file>.lock`) that serialises writers of one file across
 * processes. The lock is created complete with its owner (pid, host, nonce) by hard-linking
 * a finished temporary file into place, so no reader ever sees a half-written lock. A lock
 * whose owner died on this host, or that is older than {@link STALE_MS}, is broken; only the
 * owner's own lock is ever released.
 */
import { randomBytes } from 'node:crypto';
import { link, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { debuglog } from 'node:util';
import { describe, errorCode, isAlive, STALE_MS, tempPath, unlinkIfPresent } from './atomic-file';

const debug = debuglog('express-oxd');

/** How long `writeBack` waits for another process's lock before giving up. */
const LOCK_WAIT_MS = 5000;

interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly nonce: string;
}

/**
 * Creates `lockPath` exclusively, complete with its content: the content is written to a
 * temporary file first and hard-linked into place (`link` fails if the lock exists). Waits
 * up to `waitMs` for another holder to let go.
 */
export async function acquireLock(lockPath: string, waitMs = LOCK_WAIT_MS): Promise<string> {
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

export async function releaseLock(lockPath: string, content: string): Promise<void> {
  try {
    // Only remove our own lock: another writer may have judged ours stale and taken over.
    if ((await readFile(lockPath, 'utf8')) === content) await unlink(lockPath);
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error;
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
