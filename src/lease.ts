/**
 * Leases: a lock that lasts a bounded time unless its owner renews it, so that a holder that
 * died lets go by itself while a live holder keeps it as long as it works. The registration
 * file lock (config/file-lock.ts) and the refresh lock of the middleware (`RefreshLock` with
 * `extend()`) both hold theirs through {@link keepLease}: renewed every third of the lease,
 * lost when a renewal says another owner has it, or when no renewal succeeded for a whole
 * lease (the lease lapsed and others may take it).
 */
import { errorMessage } from './errors';

export interface LeaseOptions {
  /** How long the lease lasts from its last renewal, in milliseconds. */
  readonly ttlMs: number;
  /**
   * Extends the lease by `ttlMs` from now. Resolves `false` when the lease is no longer
   * this owner's; a rejection counts as a failed attempt (tried again at the next turn).
   */
  readonly renew: () => Promise<boolean>;
  /** Called once when the lease is lost, with the reason. */
  readonly onLost?: ((reason: string) => void) | undefined;
}

export interface Lease {
  /** Aborted when the lease is lost; its `reason` says why. */
  readonly signal: AbortSignal;
  /** True once the lease is lost (taken over, or lapsed for want of renewal). */
  readonly lost: boolean;
  /** Stops renewing (before letting go of the lock). */
  stop(): void;
}

/**
 * Renews a lease the caller just took, every third of `ttlMs`, until {@link Lease.stop}.
 * Timers do not keep the process alive.
 */
export function keepLease(options: LeaseOptions): Lease {
  const { ttlMs, renew } = options;
  const controller = new AbortController();
  let renewedAt = Date.now();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  let renewing = false;
  let lastError: unknown;

  const lose = (reason: string): void => {
    if (controller.signal.aborted) return;
    stopped = true;
    controller.abort(new Error(reason));
    options.onLost?.(reason);
  };
  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(turn, Math.max(1, Math.floor(ttlMs / 3)));
    timer.unref();
  };
  const turn = (): void => {
    if (stopped) return;
    // Judged on every turn, so a renewal that hangs cannot keep a lapsed lease alive.
    if (Date.now() - renewedAt >= ttlMs) {
      const detail = lastError === undefined ? '' : ` (${errorMessage(lastError)})`;
      return lose(`the lease lapsed: it was not renewed for ${ttlMs} ms${detail}`);
    }
    if (!renewing) {
      renewing = true;
      const startedAt = Date.now();
      renew().then(
        (held) => {
          renewing = false;
          if (stopped) return;
          if (!held) return lose('another owner holds the lock now');
          renewedAt = startedAt;
          lastError = undefined;
        },
        (error: unknown) => {
          renewing = false;
          lastError = error;
        },
      );
    }
    schedule();
  };
  schedule();

  return {
    signal: controller.signal,
    get lost() {
      return controller.signal.aborted;
    },
    stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
    },
  };
}
