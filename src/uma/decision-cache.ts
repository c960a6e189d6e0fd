/**
 * A small LRU of "granted" decisions of `uma_rs_check_access`, each valid for a few seconds.
 * The key is the RPT (hashed) plus the resource and method, so one RPT's grant is never
 * reused for another RPT. Denials are never cached: each carries a single-use ticket.
 */
import { createHash } from 'node:crypto';

/** Defaults of the `cache` option of `umaProtect()`. */
export const UMA_CACHE_DEFAULTS = {
  /** Most decisions kept; the least recently used goes first. */
  max: 1000,
  /** How long a grant is reused without asking oxd again, in milliseconds. */
  ttlMs: 5000,
} as const;

export class DecisionCache {
  readonly #max: number;
  readonly #ttlMs: number;
  readonly #clock: () => number;
  /** key -> expiry (ms); Map order is the recency order, oldest first. */
  readonly #entries = new Map<string, number>();

  constructor(max: number, ttlMs: number, clock: () => number) {
    this.#max = max;
    this.#ttlMs = ttlMs;
    this.#clock = clock;
  }

  /** The cache key of an RPT's decision for a resource and method. */
  static key(rpt: string, path: string, method: string): string {
    const digest = createHash('sha256').update(rpt).digest('base64url');
    return `${digest} ${method} ${path}`;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** True when a grant for `key` is cached and still fresh (it becomes the most recent). */
  has(key: string): boolean {
    const expiresAt = this.#entries.get(key);
    if (expiresAt === undefined) return false;
    this.#entries.delete(key);
    if (expiresAt <= this.#clock()) return false;
    this.#entries.set(key, expiresAt);
    return true;
  }

  /** Remembers a grant for `key`, evicting the least recently used beyond the bound. */
  add(key: string): void {
    if (this.#max === 0 || this.#ttlMs === 0) return;
    this.#entries.delete(key);
    this.#entries.set(key, this.#clock() + this.#ttlMs);
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
  }

  clear(): void {
    this.#entries.clear();
  }
}
