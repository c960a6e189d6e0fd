/**
 * keepLease(): the renewal both locks (registration file, refresh) rely on. A renewal that
 * says the lock is another's loses the lease at once; renewals that fail or hang for a whole
 * lease lose it too (it lapsed, others may take it); a stopped lease is renewed no more.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { keepLease } from '../src/lease';

const TTL = 400;

test('renewed every third of the lease while held', async () => {
  let renewals = 0;
  const lease = keepLease({ ttlMs: TTL, renew: async () => (++renewals, true) });
  await sleep(TTL * 4);
  lease.stop();
  expect(lease.lost).toBe(false);
  expect(renewals).toBeGreaterThanOrEqual(4);
  const after = renewals;
  await sleep(TTL);
  expect(renewals).toBe(after);
});

test('a renewal finding another owner loses the lease at once, and says so once', async () => {
  const reasons: string[] = [];
  const lease = keepLease({ ttlMs: TTL, renew: async () => false, onLost: (r) => reasons.push(r) });
  await sleep(TTL);
  expect(lease.lost).toBe(true);
  expect(lease.signal.aborted).toBe(true);
  await sleep(TTL);
  expect(reasons).toEqual(['another owner holds the lock now']);
});

test('renewals that fail or hang for a whole lease lose it: it lapsed', async () => {
  const failing = keepLease({
    ttlMs: TTL,
    renew: () => Promise.reject(new Error('store down')),
  });
  const hanging = keepLease({ ttlMs: TTL, renew: () => new Promise<boolean>(() => undefined) });
  await sleep(TTL * 3);
  expect(failing.lost).toBe(true);
  expect(String((failing.signal.reason as Error).message)).toMatch(/lapsed.*store down/);
  expect(hanging.lost).toBe(true);
});
