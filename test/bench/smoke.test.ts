/**
 * `npm run bench` works: one short round of every scenario (BENCH_SMOKE=1) prints the
 * table, and with `--write` writes RESULTS.md and the SVG chart. The figures of such a run
 * mean nothing; only that each scenario ran (each checks its guard answers 200 logged in,
 * 401 logged out). Without `--write` the tracked results in bench/ stay as they are.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt, ROOT } from '../helpers/build';
import { runNode, type Outcome } from '../helpers/instances';

let out: string;

beforeAll(async () => {
  await ensureBuilt();
  out = await mkdtemp(join(tmpdir(), 'express-oxd-bench-smoke-'));
}, 180_000);

afterAll(async () => {
  await rm(out, { recursive: true, force: true });
});

const TRACKED = [join('bench', 'RESULTS.md'), join('bench', 'results.svg')];

function runBench(args: string[], env: Record<string, string>): Promise<Outcome> {
  return runNode([join('bench', 'run.js'), ...args], {
    env: { ...process.env, BENCH_SMOKE: '1', ...env },
  }).done;
}

/** The tracked results: their bytes and what `git status` says about them. */
async function trackedResults(): Promise<string[]> {
  const status = execFileSync('git', ['status', '--porcelain', '--', ...TRACKED], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  const contents = await Promise.all(TRACKED.map((file) => readFile(join(ROOT, file), 'utf8')));
  return [status, ...contents];
}

test('a smoke run of the bench prints the table and writes RESULTS.md and the chart', async () => {
  const tracked = await trackedResults();
  const run = await runBench(['--write'], { BENCH_OUT: out });
  expect(run.stderr).not.toContain('bench failed');
  expect(run.code).toBe(0);
  for (const row of [
    'hello world (ceiling)',
    'bare express-session guard',
    'express-openid-connect requiresAuth',
    'express-oxd requireAuth',
    'socket, pool of 4 (default)',
    'socket, new connection per command',
    'HTTPS, keep-alive',
    'HTTPS, new TLS connection per command',
    'MemoryStore, 1,000 sessions',
    'default settings (pool_size 4)',
    'pool_size 16',
  ]) {
    expect(run.stdout).toContain(row);
  }
  // The stored session of one login, as measured by the bench, within its budget.
  const stored = /express-oxd \(express-session JSON, cookie included\)\s*\|\s*([\d,]+)/.exec(
    run.stdout,
  );
  expect(Number(stored?.[1]?.replace(/,/g, ''))).toBeLessThanOrEqual(1300);
  // Every login of the smoke run's burst (5 at once, default settings) succeeded.
  expect(run.stdout).toMatch(
    /5 simultaneous logins, default settings\s*\|\s*all succeed\s*\|\s*5\/5 /,
  );

  const markdown = await readFile(join(out, 'RESULTS.md'), 'utf8');
  expect(markdown).toContain('# Benchmark results');
  expect(markdown).toContain('](results.svg)');
  expect(markdown).toContain('| express-oxd requireAuth');
  expect(markdown).toContain('## Login burst: 5 simultaneous logins at one app');
  const svg = await readFile(join(out, 'results.svg'), 'utf8');
  expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  expect(svg).toContain('express-oxd requireAuth');
  // express-session's MemoryStore warning, met by every app process: printed once.
  expect(run.stderr.match(/MemoryStore is not/g)).toHaveLength(1);
  expect(await trackedResults()).toEqual(tracked);
}, 90_000);

test('without --write a smoke run leaves the tracked results and BENCH_OUT alone', async () => {
  const tracked = await trackedResults();
  const elsewhere = await mkdtemp(join(tmpdir(), 'express-oxd-bench-nowrite-'));
  try {
    const run = await runBench([], { BENCH_OUT: elsewhere });
    expect(run.stderr).not.toContain('bench failed');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('express-oxd requireAuth');
    expect(run.stderr).toContain('--write');
    expect(await readdir(elsewhere)).toEqual([]);
  } finally {
    await rm(elsewhere, { recursive: true, force: true });
  }
  expect(await trackedResults()).toEqual(tracked);
}, 90_000);

/**
 * 150 logins at once put more than 100 commands in the socket queue of the app's oxd client:
 * at the default settings every one of them must still succeed, not get OXD_BUSY.
 */
test('BENCH_ONLY=burst runs the login bursts alone, every login succeeding', async () => {
  const tracked = await trackedResults();
  const run = await runBench([], { BENCH_ONLY: 'burst', BENCH_BURST: '150' });
  expect(run.stderr).not.toContain('bench failed');
  expect(run.code).toBe(0);
  const row =
    /\| default settings \(pool_size 4\)\s*\|\s*150\s*\|\s*(\d+)\s*\|\s*([^|]*?)\s*\|/.exec(
      run.stdout,
    );
  expect(row?.slice(1)).toEqual(['150', 'none']);
  expect(run.stdout).toMatch(
    /150 simultaneous logins, default settings\s*\|\s*all succeed\s*\|\s*150\/150 .*\| met \|/,
  );
  expect(run.stdout).not.toContain('express-oxd requireAuth');
  expect(await trackedResults()).toEqual(tracked);
}, 180_000);
