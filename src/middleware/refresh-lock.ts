/**
 * `redisRefreshLock()`: the `refreshLock` of `oxdAuth()` on a Redis server, typically the
 * one that holds the sessions. A lock is a key set with `NX` and an expiry, holding a random
 * owner value; extending and releasing act only if the owner still matches (one Lua script
 * each), so a lock that expired and was taken by another instance is neither renewed nor
 * removed.
 */
import { randomBytes } from 'node:crypto';

/**
 * A lock shared by every instance of the application (e.g. in Redis, see
 * `redisRefreshLock()`), taken while one instance refreshes a session's tokens.
 */
export interface RefreshLock {
  /**
   * Takes `key` for at most `ttlMs` unless another holder has it. Resolves with a value to
   * release it with, or `undefined` when it is held elsewhere.
   */
  acquire(key: string, ttlMs: number): Promise<string | undefined>;
  /** Lets go of `key` if `owner` (what `acquire` returned) still holds it. */
  release(key: string, owner: string): Promise<void>;
  /**
   * Optional: extends `key` to expire `ttlMs` from now if `owner` still holds it. Resolves
   * `true` when it did, `false` when the lock is no longer `owner`'s. With it, the lock is a
   * lease renewed every third of `ttlMs` while the refresh runs, however long oxd takes; a
   * refresh whose lease is lost before it asks the OP is abandoned (answered 503) rather
   * than replaying a refresh token another instance may be using. Without it, the lock is
   * taken once for `ttlMs`, which covers one oxd command at the configured timeouts.
   */
  extend?(key: string, owner: string, ttlMs: number): Promise<boolean>;
}

/** The commands `redisRefreshLock()` uses, as the `redis` package (v4, v5) names them. */
export interface RedisLockClient {
  set(key: string, value: string, options: { NX: true; PX: number }): Promise<unknown>;
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
}

export interface RedisRefreshLockOptions {
  /** Prefix of the lock keys. Default `express-oxd:`. */
  prefix?: string;
}

const RELEASE =
  "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0";
const EXTEND =
  "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0";

/**
 * A {@link RefreshLock} on a connected `redis` client (`createClient()` of the `redis`
 * package). Commands that fail (Redis down) reject; the middleware answers 503.
 *
 * @example
 * const client = createClient({ url: process.env.REDIS_URL });
 * await client.connect();
 * app.use(oxdAuth({ config: '/etc/site/oxd.cfg', refreshLock: redisRefreshLock(client) }));
 */
export function redisRefreshLock(
  client: RedisLockClient,
  options: RedisRefreshLockOptions = {},
): RefreshLock {
  if (
    typeof client !== 'object' ||
    client === null ||
    typeof client.set !== 'function' ||
    typeof client.eval !== 'function'
  ) {
    throw new TypeError('redisRefreshLock() takes a client of the redis package (createClient())');
  }
  const prefix = options.prefix ?? 'express-oxd:';
  return {
    async acquire(key, ttlMs) {
      const owner = randomBytes(12).toString('hex');
      const reply = await client.set(prefix + key, owner, { NX: true, PX: Math.ceil(ttlMs) });
      return reply === 'OK' ? owner : undefined;
    },
    async release(key, owner) {
      await client.eval(RELEASE, { keys: [prefix + key], arguments: [owner] });
    },
    async extend(key, owner, ttlMs) {
      const reply = await client.eval(EXTEND, {
        keys: [prefix + key],
        arguments: [owner, String(Math.ceil(ttlMs))],
      });
      return Number(reply) === 1;
    },
  };
}
