import { spawn } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseIni } from '../../src/config/ini';
import { resolveConfig } from '../../src/config/resolve';
import { assertWritable, writeBack } from '../../src/config/write-back';
import { OxdConfigError } from '../../src/errors';

const FIXTURES = join(__dirname, '..', 'fixtures', 'config');
const commented = readFileSync(join(FIXTURES, 'commented.cfg'), 'utf8');

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'express-oxd-write-back-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

let counter = 0;
/** A fresh directory holding `app.cfg` with `text`; returns the file's path. */
function configFile(text: string = commented): string {
  const dir = join(root, `case-${++counter}`);
  mkdirSync(dir);
  const file = join(dir, 'app.cfg');
  writeFileSync(file, text, { mode: 0o600 });
  return file;
}

function siblings(file: string): string[] {
  return readdirSync(join(file, '..')).sort();
}

async function rejection(promise: Promise<unknown>): Promise<OxdConfigError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof OxdConfigError) return error;
    throw error;
  }
  throw new Error('expected writeBack to reject');
}

/** The pid of a process that has exited. */
function deadPid(): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', () => resolve(child.pid as number));
  });
}

describe('writeBack', () => {
  it('changes only the owned lines and keeps comments, spacing, order and unknown keys', async () => {
    const file = configFile();
    await writeBack(file, {
      oxd: { id: 'oxd-1' },
      client: {
        client_id: 'client-1',
        client_secret: 'secret-1',
        protection_access_token: 'pat-1',
      },
    });
    const expected = commented
      .replace('\nid =\n', '\nid = oxd-1\n')
      .replace(
        '\nclient_id =\n',
        '\nclient_id = client-1\nclient_secret = secret-1\nprotection_access_token = pat-1\n',
      );
    expect(readFileSync(file, 'utf8')).toBe(expected);
    expect(siblings(file)).toEqual(['app.cfg']);
  });

  it('skips undefined values and leaves an unchanged file untouched', async () => {
    const file = configFile();
    const before = statSync(file);
    await writeBack(file, { oxd: { id: undefined }, client: { client_id: undefined } });
    await writeBack(file, { oxd: { id: '' } });
    const after = statSync(file);
    expect(readFileSync(file, 'utf8')).toBe(commented);
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
  });

  it('writes the id under oxd_id when the file spells it that way', async () => {
    const file = configFile('[oxd]\noxd_id =\n[client]\n');
    await writeBack(file, { oxd: { id: 'abc' } });
    expect(readFileSync(file, 'utf8')).toBe('[oxd]\noxd_id = abc\n[client]\n');
  });

  it('keeps CRLF line endings', async () => {
    const crlf = commented.replace(/\n/g, '\r\n');
    const file = configFile(crlf);
    await writeBack(file, { oxd: { id: 'x' }, client: { client_secret: 'y' } });
    const text = readFileSync(file, 'utf8');
    expect(text.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
    expect(text).toContain('\r\nid = x\r\n');
    expect(text).toContain('\r\nclient_id =\r\nclient_secret = y\r\n');
  });

  it('keeps the file mode', async () => {
    const file = configFile();
    chmodSync(file, 0o640);
    await writeBack(file, { oxd: { id: 'x' } });
    expect(statSync(file).mode & 0o7777).toBe(0o640);
  });

  it('creates a missing file, readable by its owner only', async () => {
    const file = join(configFile(), '..', 'new.cfg');
    await writeBack(file, { oxd: { id: 'abc' }, client: { client_id: 'c', client_secret: 's' } });
    expect(readFileSync(file, 'utf8')).toBe(
      '[oxd]\nid = abc\n\n[client]\nclient_id = c\nclient_secret = s\n',
    );
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('writes through a symbolic link and keeps the link', async () => {
    const target = configFile();
    const link = join(target, '..', 'link.cfg');
    symlinkSync(target, link);
    await writeBack(link, { oxd: { id: 'via-link' } });
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(parseIni(readFileSync(target, 'utf8')).get('oxd', 'id')).toBe('via-link');
  });

  it('lets every one of many concurrent calls land, in call order', async () => {
    const file = configFile();
    const calls = Array.from({ length: 30 }, (_, i) =>
      writeBack(file, {
        oxd: { id: `id-${i}` },
        client: i % 3 === 0 ? { client_secret: `secret-${i}` } : { client_id: `client-${i}` },
      }),
    );
    await Promise.all(calls);
    const document = parseIni(readFileSync(file, 'utf8'));
    expect(document.get('oxd', 'id')).toBe('id-29');
    expect(document.get('client', 'client_id')).toBe('client-29');
    expect(document.get('client', 'client_secret')).toBe('secret-27');
    expect(document.get('extras', 'colour')).toBe('green');
    expect(readFileSync(file, 'utf8')).toContain('# trailing comment after the last section');
    expect(siblings(file)).toEqual(['app.cfg']);
  });

  it('rejects one call without holding up the ones queued after it', async () => {
    const file = configFile();
    const results = await Promise.allSettled([
      writeBack(file, { oxd: { id: 'first' } }),
      writeBack(file, { oxd: { id: 'two\nlines' } }),
      writeBack(file, { client: { client_id: 'third' } }),
    ]);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const document = parseIni(readFileSync(file, 'utf8'));
    expect([document.get('oxd', 'id'), document.get('client', 'client_id')]).toEqual([
      'first',
      'third',
    ]);
  });

  it('fails with OXD_CONFIG_WRITE_FAILED when the directory does not exist', async () => {
    const file = join(root, 'missing-dir', 'app.cfg');
    const error = await rejection(writeBack(file, { oxd: { id: 'x' } }));
    expect(error).toMatchObject({ code: 'OXD_CONFIG_WRITE_FAILED', file });
    expect(error.message).toContain(`cannot write registration results to ${file}`);
    expect(error.cause).toMatchObject({ code: 'ENOENT' });
  });

  it('fails when the path is a directory', async () => {
    const file = join(configFile(), '..', 'dir.cfg');
    mkdirSync(file);
    const error = await rejection(writeBack(file, { oxd: { id: 'x' } }));
    expect(error).toMatchObject({ code: 'OXD_CONFIG_WRITE_FAILED', file });
    expect(error.cause).toMatchObject({ code: 'EISDIR' });
    expect(siblings(file)).toEqual(['app.cfg', 'dir.cfg']);
  });

  it('leaves a file that no longer parses as it is', async () => {
    const file = configFile('[oxd]\nthis line is broken\n');
    const error = await rejection(writeBack(file, { oxd: { id: 'x' } }));
    expect(error.code).toBe('OXD_CONFIG_WRITE_FAILED');
    expect(error.cause).toMatchObject({ code: 'OXD_CONFIG_INVALID' });
    expect(readFileSync(file, 'utf8')).toBe('[oxd]\nthis line is broken\n');
    expect(siblings(file)).toEqual(['app.cfg']);
  });

  it('refuses a value with a line break and leaves the file as it was', async () => {
    const file = configFile();
    const error = await rejection(writeBack(file, { client: { client_secret: 'a\n[oxd]' } }));
    expect(error.code).toBe('OXD_CONFIG_WRITE_FAILED');
    expect(error.cause).toBeInstanceOf(RangeError);
    expect(readFileSync(file, 'utf8')).toBe(commented);
    expect(siblings(file)).toEqual(['app.cfg']);
  });

  it('breaks a lock left by a process that died', async () => {
    const file = configFile();
    const pid = await deadPid();
    writeFileSync(`${file}.lock`, JSON.stringify({ pid, host: hostname(), nonce: 'x' }));
    await writeBack(file, { oxd: { id: 'after-crash' } });
    expect(parseIni(readFileSync(file, 'utf8')).get('oxd', 'id')).toBe('after-crash');
    expect(siblings(file)).toEqual(['app.cfg']);
  });

  it('breaks a lock older than 30 seconds even when its owner is alive', async () => {
    const file = configFile();
    const lock = `${file}.lock`;
    writeFileSync(lock, JSON.stringify({ pid: process.ppid, host: hostname(), nonce: 'x' }));
    const old = new Date(Date.now() - 60_000);
    utimesSync(lock, old, old);
    await writeBack(file, { oxd: { id: 'stale-lock' } });
    expect(parseIni(readFileSync(file, 'utf8')).get('oxd', 'id')).toBe('stale-lock');
    expect(siblings(file)).toEqual(['app.cfg']);
  });

  it('waits for a live lock to be released', async () => {
    const file = configFile();
    const lock = `${file}.lock`;
    writeFileSync(lock, JSON.stringify({ pid: process.ppid, host: hostname(), nonce: 'x' }));
    let released = false;
    const release = setTimeout(() => {
      released = true;
      unlinkSync(lock);
    }, 300);
    try {
      await writeBack(file, { oxd: { id: 'waited' } });
    } finally {
      clearTimeout(release);
    }
    expect(released).toBe(true);
    expect(parseIni(readFileSync(file, 'utf8')).get('oxd', 'id')).toBe('waited');
  });

  it('removes temporary files of writers that died or that are older than 30 s, and only those', async () => {
    const file = configFile();
    const dead = await deadPid();
    const old = new Date(Date.now() - 60_000);
    const deadOld = `${file}.${dead}.0a1b2c.tmp`;
    const deadFresh = `${file}.${dead}.3d4e5f.tmp`;
    const liveOld = `${file}.${process.ppid}.6a7b8c.tmp`;
    const unrelated = `${file}.backup.tmp`;
    const liveFresh = `${file}.${process.ppid}.9d8e7f.tmp`;
    for (const path of [deadOld, deadFresh, liveOld, liveFresh, unrelated]) {
      writeFileSync(path, 'partial');
    }
    for (const path of [deadOld, liveOld, unrelated]) utimesSync(path, old, old);
    await writeBack(file, { oxd: { id: 'x' } });
    expect(siblings(file)).toEqual(
      ['app.cfg', 'app.cfg.backup.tmp', liveFresh].map((path) => path.replace(/.*\//, '')).sort(),
    );
  });

  it('removes temporary files a killed writer left, at start-up (assertWritable)', async () => {
    const file = configFile();
    const dead = await deadPid();
    const leftover = `${file}.${dead}.0a1b2c3d4e5f.tmp`;
    const liveFresh = `${file}.${process.ppid}.9d8e7f.tmp`;
    writeFileSync(leftover, '[client]\nclient_secret = s3cret\n');
    writeFileSync(liveFresh, 'partial');
    assertWritable(file);
    expect(siblings(file)).toEqual(['app.cfg', 'app.cfg.' + `${process.ppid}.9d8e7f.tmp`]);
  });

  describe('a file that is not UTF-8', () => {
    // "é" saved by an editor in Latin-1: the single byte 0xE9, not valid UTF-8.
    const latin1 = (text: string) => Buffer.from(text, 'latin1');

    it.each([
      ['a comment', '[oxd]\n# caf\u00e9 settings\nid =\n', 2],
      ['a value', '[oxd]\nid =\n\n[client]\nclient_name = Caf\u00e9\n', 5],
    ])(
      'with a Latin-1 byte in %s is refused naming the line, and not changed',
      async (_where, text, line) => {
        const file = configFile();
        const bytes = latin1(text);
        writeFileSync(file, bytes);
        const error = await rejection(writeBack(file, { oxd: { id: 'new-id' } }));
        expect(error.code).toBe('OXD_CONFIG_WRITE_FAILED');
        expect(error.message).toContain(`${file}:${line}: column`);
        expect(error.message).toMatch(/not UTF-8 text.*save the file as UTF-8/);
        expect(readFileSync(file).equals(bytes)).toBe(true);
        expect(siblings(file)).toEqual(['app.cfg']);
      },
    );

    it('is refused by resolveConfig naming the line, so nothing is sent to the OP', () => {
      const file = configFile();
      writeFileSync(
        file,
        latin1(
          '[oxd]\nhost = localhost\n[client]\nauthorization_redirect_uri = https://app.example.com/cb\n' +
            'client_name = Caf\u00e9\n',
        ),
      );
      let caught: unknown;
      try {
        resolveConfig(file);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(OxdConfigError);
      expect((caught as OxdConfigError).code).toBe('OXD_CONFIG_INVALID');
      expect((caught as OxdConfigError).message).toMatch(/app\.cfg:5: column 18 is not UTF-8 text/);
    });

    it('in UTF-8, the same text is read and written back byte for byte', async () => {
      const text = '[oxd]\n# caf\u00e9 settings\nid =\n\n[client]\nclient_name = Caf\u00e9\n';
      const file = configFile(text);
      await writeBack(file, { oxd: { id: 'new-id' } });
      expect(readFileSync(file, 'utf8')).toBe(text.replace('id =', 'id = new-id'));
    });
  });

  it('leaves the file byte for byte when the values are already there', async () => {
    const file = configFile();
    copyFileSync(join(FIXTURES, 'good.cfg'), file);
    const original = readFileSync(file, 'utf8');
    await writeBack(file, {
      oxd: { id: '6F9619FF-8B86-D011-B42D-00CF4FC964FF' },
      client: { client_id: 'client-123', client_secret: 's3cret' },
    });
    expect(readFileSync(file, 'utf8')).toBe(original);
  });
});
