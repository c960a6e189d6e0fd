/**
 * write-back across processes: the built module (dist/) runs in child processes that write
 * the same file at once, are killed mid-write, or hit a file size limit (`ulimit -f`, which
 * makes the kernel refuse the write with EFBIG - a real write failure, even for root).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseIni } from '../../src/config/ini';
import { assertWritable, writeBack } from '../../src/config/write-back';
import { ensureBuilt, ROOT } from '../helpers/build';

const WRITE_BACK = join(ROOT, 'dist', 'config', 'write-back.js');
const WRITER = join(ROOT, 'test', 'fixtures', 'config', 'writer.js');
const commented = readFileSync(join(ROOT, 'test', 'fixtures', 'config', 'commented.cfg'), 'utf8');

let root: string;
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'express-oxd-write-back-processes-'));
  await ensureBuilt();
}, 180_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

let counter = 0;
function configFile(text: string): string {
  const dir = join(root, `case-${++counter}`);
  mkdirSync(dir);
  const file = join(dir, 'app.cfg');
  writeFileSync(file, text, { mode: 0o600 });
  return file;
}

interface Outcome {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(
  args: string[],
  command = process.execPath,
): { child: ChildProcess; done: Promise<Outcome> } {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<Outcome>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

describe('writeBack - several processes', () => {
  it('two processes writing the same file repeatedly never lose an update or corrupt it', async () => {
    const file = configFile(commented);
    const a = run([WRITER, WRITE_BACK, file, 'loop', 'client_id', 'a', '25']);
    const b = run([WRITER, WRITE_BACK, file, 'loop', 'client_secret', 'b', '25']);
    let finished = false;
    const outcomes = Promise.all([a.done, b.done]).finally(() => (finished = true));
    let reads = 0;
    while (!finished) {
      // Every read sees a whole file: it parses and still ends with the fixture's last comment.
      const text = readFileSync(file, 'utf8');
      expect(text).toContain('# trailing comment after the last section\n');
      expect(parseIni(text).get('extras', 'colour')).toBe('green');
      reads++;
      await sleep(2);
    }
    const [first, second] = await outcomes;
    expect([first.code, first.stderr]).toEqual([0, '']);
    expect([second.code, second.stderr]).toEqual([0, '']);
    expect(reads).toBeGreaterThan(0);
    const document = parseIni(readFileSync(file, 'utf8'));
    expect(document.get('client', 'client_id')).toBe('a-24');
    expect(document.get('client', 'client_secret')).toBe('b-24');
    expect(readdirSync(join(file, '..'))).toEqual(['app.cfg']);
  }, 60_000);

  it('a writer killed at random moments always leaves the old or the new complete file', async () => {
    // 4 MiB of comments make each write take long enough for kills to land inside it.
    const padding = `# ${'x'.repeat(1024 * 1024)}\n`.repeat(4);
    const version = (id: string) => `${padding}[oxd]\nid = ${id}\n\n[client]\nclient_id =\n`;
    const file = configFile(version('a'));
    const complete = new Set([version('a'), version('b')]);
    let killedMidWrite = 0;
    const seen = new Set(['app.cfg']);
    for (let round = 0; round < 12; round++) {
      const writer = run([WRITER, WRITE_BACK, file, 'forever', 'a', 'b']);
      await new Promise<void>((resolve) =>
        writer.child.stdout?.on('data', (chunk: Buffer) => {
          if (chunk.toString().includes('started')) resolve();
        }),
      );
      await sleep(Math.random() * 80);
      writer.child.kill('SIGKILL');
      const outcome = await writer.done;
      expect(outcome.signal).toBe('SIGKILL');
      const left = readdirSync(join(file, '..')).filter((name) => !seen.has(name));
      if (left.some((name) => name.endsWith('.tmp') || name.endsWith('.lock'))) killedMidWrite++;
      for (const name of left) seen.add(name);
      const text = readFileSync(file, 'utf8');
      expect(complete.has(text)).toBe(true);
    }
    // Evidence that the kills hit writes in progress, not only the gaps between them.
    expect(killedMidWrite).toBeGreaterThan(0);
    // The next writer gets past the dead writer's lock.
    await writeBack(file, { oxd: { id: 'c' } });
    expect(readFileSync(file, 'utf8')).toBe(version('c'));
  }, 90_000);

  it('a writer killed mid-write leaves only an owner-only temp file, which start-up removes', async () => {
    // A 0644 file whose new content holds a client secret; 4 MiB of comments make each write
    // take long enough for a kill to land inside it.
    const padding = `# ${'x'.repeat(1024 * 1024)}\n`.repeat(4);
    const text = (id: string) =>
      `${padding}[oxd]\nid = ${id}\n\n[client]\nclient_secret = s3cret\n`;
    const file = configFile(text('a'));
    chmodSync(file, 0o644);
    const fullSize = Buffer.byteLength(text('a'));
    let leftovers = 0;
    for (let round = 0; round < 30 && leftovers < 3; round++) {
      const writer = run([WRITER, WRITE_BACK, file, 'forever', 'a', 'b']);
      await new Promise<void>((resolve) =>
        writer.child.stdout?.on('data', (chunk: Buffer) => {
          if (chunk.toString().includes('started')) resolve();
        }),
      );
      await sleep(Math.random() * 80);
      writer.child.kill('SIGKILL');
      expect((await writer.done).signal).toBe('SIGKILL');
      const temps = readdirSync(join(file, '..')).filter((name) => name.endsWith('.tmp'));
      for (const name of temps) {
        const path = join(file, '..', name);
        const mode = statSync(path).mode & 0o777;
        // Owner-only while incomplete; only a complete copy (killed between its last chmod
        // and the rename) may carry the file's own mode.
        if (mode !== 0o600) expect([mode, statSync(path).size]).toEqual([0o644, fullSize]);
      }
      if (temps.length > 0) leftovers++;
      // Start-up of the next process removes what the killed writer left.
      assertWritable(file);
      expect(readdirSync(join(file, '..')).filter((name) => name.endsWith('.tmp'))).toEqual([]);
      expect(statSync(file).mode & 0o777).toBe(0o644);
    }
    // Evidence that kills landed inside writes.
    expect(leftovers).toBeGreaterThan(0);
  }, 120_000);

  it('a write the kernel refuses (file size limit) leaves the original intact and no temp file', async () => {
    const original = `${'# padding line for a file larger than the size limit\n'.repeat(2000)}[oxd]\nid =\n`;
    const file = configFile(original);
    const limited = run(
      [
        '-c',
        `ulimit -f 64 && exec "$0" "$@"`,
        process.execPath,
        WRITER,
        WRITE_BACK,
        file,
        'once',
        'oxd',
        'id',
        'new',
      ],
      'sh',
    );
    const outcome = await limited.done;
    expect(outcome.stderr).toBe('');
    expect(JSON.parse(outcome.stdout)).toEqual({
      ok: false,
      code: 'OXD_CONFIG_WRITE_FAILED',
      cause: 'EFBIG',
    });
    expect(readFileSync(file, 'utf8')).toBe(original);
    expect(readdirSync(join(file, '..'))).toEqual(['app.cfg']);
  }, 30_000);
});
