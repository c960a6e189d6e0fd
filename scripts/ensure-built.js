'use strict';
/**
 * Builds `dist/` when it is missing or older than `src/` (the same test as the test suite's
 * build helper, under the same lock, so a demo started during a test run never compiles over
 * a `dist/` that is fresh). `npm run demo` calls it before loading the package; run directly,
 * `node scripts/ensure-built.js` builds if needed and exits.
 */
const { execFileSync } = require('node:child_process');
const { createHash } = require('node:crypto');
const { mkdirSync, readdirSync, rmSync, statSync } = require('node:fs');
const { tmpdir } = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const SRC = path.join(ROOT, 'src');
const DIST = path.join(ROOT, 'dist');
const LOCK = path.join(
  tmpdir(),
  `express-oxd-build-${createHash('sha256').update(ROOT).digest('hex').slice(0, 12)}.lock`,
);
const STALE_LOCK_MS = 180_000;
const LOCK_WAIT_MS = 240_000;

function mtime(file) {
  try {
    return statSync(file).mtimeMs;
  } catch (error) {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  }
}

function sources(dir) {
  const found = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...sources(file));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) found.push(file);
  }
  return found;
}

/** Every `src/**.ts` has a `dist/**.js` that is not older than it. */
function isFresh() {
  return sources(SRC).every((source) => {
    const output = path.join(DIST, path.relative(SRC, source)).replace(/\.ts$/, '.js');
    const outputTime = mtime(output);
    return outputTime !== undefined && outputTime >= mtime(source);
  });
}

function sleepSync(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function withLock(action) {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
    }
    const since = mtime(LOCK);
    if (since !== undefined && Date.now() - since > STALE_LOCK_MS) {
      rmSync(LOCK, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for the build lock ${LOCK}`);
    sleepSync(200);
  }
  try {
    return action();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

/** Builds `dist/` when needed; returns whether it did. Throws when the build fails. */
function ensureBuilt({ log = () => {} } = {}) {
  if (isFresh()) return false;
  return withLock(() => {
    if (isFresh()) return false;
    log('Building express-oxd (dist/ is missing or older than src/)...');
    const tsc = require.resolve('typescript/bin/tsc', { paths: [ROOT] });
    try {
      execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (error) {
      // tsc emits JavaScript even with type errors; only missing output is fatal here.
      if (!isFresh()) {
        throw new Error(`Building express-oxd failed:\n${error.stdout ?? ''}${error.stderr ?? ''}`);
      }
    }
    return true;
  });
}

module.exports = { ensureBuilt, isFresh };

if (require.main === module) {
  ensureBuilt({ log: (line) => console.log(line) });
}
