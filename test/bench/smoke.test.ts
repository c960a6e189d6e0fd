/**
 * `npm run bench` works: one short round of every scenario (BENCH_SMOKE=1) prints the
 * table and writes RESULTS.md and the SVG chart. The figures of such a run mean nothing;
 * only that each scenario ran (each checks its guard answers 200 logged in, 401 logged out).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt, ROOT } from '../helpers/build';

let out: string;

beforeAll(async () => {
  await ensureBuilt();
  out = await mkdtemp(join(tmpdir(), 'express-oxd-bench-smoke-'));
}, 180_000);

afterAll(async () => {
  await rm(out, { recursive: true, force: true });
});

function runBench(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join('bench', 'run.js')], {
      cwd: ROOT,
      env: { ...process.env, BENCH_SMOKE: '1', BENCH_OUT: out },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('a smoke run of the bench prints the table and writes RESULTS.md and the chart', async () => {
  const run = await runBench();
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
  ]) {
    expect(run.stdout).toContain(row);
  }
  // The stored session of one login, as measured by the bench, within its budget.
  const stored = /express-oxd \(express-session JSON, cookie included\)\s*\|\s*([\d,]+)/.exec(
    run.stdout,
  );
  expect(Number(stored?.[1]?.replace(/,/g, ''))).toBeLessThanOrEqual(1300);

  const markdown = await readFile(join(out, 'RESULTS.md'), 'utf8');
  expect(markdown).toContain('# Benchmark results');
  expect(markdown).toContain('](results.svg)');
  expect(markdown).toContain('| express-oxd requireAuth');
  const svg = await readFile(join(out, 'results.svg'), 'utf8');
  expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  expect(svg).toContain('express-oxd requireAuth');
}, 90_000);
