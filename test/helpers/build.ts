/**
 * Makes sure `dist/` holds a build of the current `src/` before a test spawns `node dist/...`:
 * the same check, build and lock as `npm run demo` uses (`scripts/ensure-built.js`), so a
 * demo started during a test run and parallel jest workers never compile over one `dist/`
 * at once. Checked at most once per test file once it is fresh.
 */
import { resolve } from 'node:path';
import { ensureBuilt as buildIfStale } from '../../scripts/ensure-built';

/** Repository root (the directory holding package.json). */
export const ROOT = resolve(__dirname, '..', '..');

let fresh = false;

/** Resolves once `dist/` is up to date with `src/`. */
export function ensureBuilt(): Promise<void> {
  if (!fresh) {
    try {
      buildIfStale();
      fresh = true;
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }
  return Promise.resolve();
}
