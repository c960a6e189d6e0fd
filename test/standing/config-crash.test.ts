/**
 * Crash safety of the configuration write-back, with the built module in child processes:
 * a writer saving registration results (oxd id, client id and secret at once) is killed
 * with SIGKILL at random moments, many times over (100 rounds under CI, 20 locally); after
 * every kill the file is the old or the new complete text and loads as a configuration
 * whose three values belong together. A writer that keeps being killed does not make a
 * second writer lose an update, nor block it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { resolveConfig } from '../../src/config/resolve';
import { assertWritable, writeBack } from '../../src/config/write-back';
import { ensureBuilt, ROOT } from '../helpers/build';

const WRITE_BACK = join(ROOT, 'dist', 'config', 'write-back.js');
const WRITER = join(ROOT, 'test', 'fixtures', 'config', 'writer.js');
const GOOD = readFileSync(join(ROOT, 'test', 'fixtures', 'config', 'good.cfg'), 'utf8');
const ROUNDS = process.env.CI ? 100 : 20;
const SECOND_WRITER_WRITES = process.env.CI ? 100 : 20;

/** 4 MiB of comments, so that each write takes long enough for kills to land inside it. */
const PADDING = `# ${'x'.repeat(1024 * 1024)}\n`.repeat(4);

/** The configuration file as it is after registration `v` was written back. */
function version(v: string | undefined): string {
  if (v === undefined) return PADDING + GOOD;
  const text = PADDING + GOOD;
  return text
    .replace(/^id = .*$/m, `id = ${v}`)
    .replace(/^client_id = .*$/m, `client_id = id-${v}`)
    .replace(/^client_secret = .*$/m, `client_secret = secret-${v}`);
}

let root: string;
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'express-oxd-config-crash-'));
  await ensureBuilt();
}, 180_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

let cases = 0;
function configFile(text: string): string {
  const dir = join(root, `case-${++cases}`);
  mkdirSync(dir);
  const file = join(dir, 'app.cfg');
  writeFileSync(file, text, { mode: 0o600 });
  return file;
}

interface Outcome {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
}

function writer(args: string[]): {
  child: ChildProcess;
  started: Promise<void>;
  done: Promise<Outcome>;
} {
  const child = spawn(process.execPath, [WRITER, WRITE_BACK, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const started = new Promise<void>((resolve) =>
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('started')) resolve();
    }),
  );
  const done = new Promise<Outcome>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stderr }));
  });
  return { child, started, done };
}

/**
 * Whether the writer with `pid` died inside a write: it left a temporary copy
 * (`app.cfg.<pid>.<hex>.tmp`) or the lock with its pid.
 */
function killedInsideWrite(dir: string, pid: number): boolean {
  const names = readdirSync(dir);
  if (names.some((name) => name.startsWith(`app.cfg.${pid}.`))) return true;
  if (!names.includes('app.cfg.lock')) return false;
  try {
    return (
      (JSON.parse(readFileSync(join(dir, 'app.cfg.lock'), 'utf8')) as { pid: number }).pid === pid
    );
  } catch {
    return false;
  }
}

/** What loads from the file: the three values a registration writes. */
function loaded(file: string) {
  const config = resolveConfig(file);
  return [config.oxd.oxdId, config.client.clientId, config.client.clientSecret];
}

describe('write-back under SIGKILL', () => {
  it(`leaves the old or the new complete file after each of ${ROUNDS} kills at random moments, and it loads`, async () => {
    const file = configFile(version(undefined));
    const dir = join(file, '..');
    const complete = new Map([
      [version(undefined), undefined],
      [version('a'), 'a'],
      [version('b'), 'b'],
    ]);
    let killedMidWrite = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const run = writer([file, 'registrations', 'a', 'b']);
      await run.started;
      await sleep(Math.random() * 120);
      run.child.kill('SIGKILL');
      expect((await run.done).signal).toBe('SIGKILL');

      if (killedInsideWrite(dir, run.child.pid as number)) killedMidWrite++;

      const text = readFileSync(file, 'utf8');
      expect(complete.has(text)).toBe(true);
      const v = complete.get(text);
      expect(loaded(file)).toEqual(
        v === undefined
          ? ['6F9619FF-8B86-D011-B42D-00CF4FC964FF', 'client-123', 's3cret']
          : [v, `id-${v}`, `secret-${v}`],
      );
    }
    // Evidence that kills hit writes in progress, not only the gaps between them.
    expect(killedMidWrite).toBeGreaterThan(0);
    process.stdout.write(
      `config crash safety: ${ROUNDS} kills, ${killedMidWrite} inside a write, 0 files lost\n`,
    );

    // Start-up clears the temporary copies the killed writers left (a dead writer's lock is
    // broken by the next write); the next write goes through and leaves nothing else.
    assertWritable(file);
    expect(readdirSync(dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    await writeBack(file, {
      oxd: { id: 'c' },
      client: { client_id: 'id-c', client_secret: 'secret-c' },
    });
    expect(readFileSync(file, 'utf8')).toBe(version('c'));
    expect(loaded(file)).toEqual(['c', 'id-c', 'secret-c']);
    expect(readdirSync(dir)).toEqual(['app.cfg']);
  }, 180_000);

  it('a writer killed again and again does not make another writer lose an update or stall', async () => {
    const file = configFile(version(undefined));
    // The survivor checks after each of its writes that the file holds its own latest value
    // (a writer working from a stale copy would undo it) and exits 1 when it does not.
    const survivor = writer([file, 'loop', 'client_secret', 'kept', String(SECOND_WRITER_WRITES)]);
    let finished = false;
    const outcome = survivor.done.finally(() => (finished = true));
    let kills = 0;
    while (!finished) {
      const victim = writer([file, 'forever', 'a', 'b']);
      await victim.started;
      await sleep(Math.random() * 60);
      victim.child.kill('SIGKILL');
      await victim.done;
      kills++;
      const text = readFileSync(file, 'utf8');
      expect(text.startsWith(PADDING)).toBe(true);
      expect(text).toContain('[unrelated]\nanything = goes\n');
    }
    expect(await outcome).toEqual({ code: 0, signal: null, stderr: '' });
    expect(kills).toBeGreaterThan(0);
    process.stdout.write(
      `config crash safety: a writer killed ${kills} times beside one making ${SECOND_WRITER_WRITES} writes, 0 updates lost\n`,
    );
    const config = resolveConfig(file);
    expect(config.client.clientSecret).toBe(`kept-${SECOND_WRITER_WRITES - 1}`);
    expect(['6F9619FF-8B86-D011-B42D-00CF4FC964FF', 'a', 'b']).toContain(config.oxd.oxdId);
  }, 180_000);
});
