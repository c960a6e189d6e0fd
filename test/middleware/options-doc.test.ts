import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderOptions, updateOptions } from '../../scripts/docs.js';
import { OxdConfigError } from '../../src/errors';
import { OXD_AUTH_OPTIONS, resolveOptions } from '../../src/middleware/options';
import { ensureBuilt, ROOT } from '../helpers/build';
import { runDocs } from '../helpers/docs-script';

/** Where the options table lives (the README links to it). */
const README = join(ROOT, 'docs', 'middleware.md');

describe('docs/middleware.md oxdAuth() options table', () => {
  it('is the one generated from the options table (run npm run docs when this fails)', () => {
    const readme = readFileSync(README, 'utf8');
    expect(readme).toBe(updateOptions(readme, OXD_AUTH_OPTIONS));
  });

  it('lists every option oxdAuth() accepts, errorOnRequired included, with its default', () => {
    const table = renderOptions(OXD_AUTH_OPTIONS);
    let accepted: string[] = [];
    try {
      resolveOptions({ config: 'unused.cfg', notAnOption: true });
    } catch (err) {
      expect(err).toBeInstanceOf(OxdConfigError);
      accepted = (err as Error).message.replace(/^.*known ones are /, '').split(', ');
    }
    expect(accepted).toContain('errorOnRequired');
    expect(accepted.sort()).toEqual(Object.keys(OXD_AUTH_OPTIONS).sort());
    for (const name of accepted) expect(table).toContain(`| \`${name}\` |`);
    expect(table).toContain('| `errorOnRequired` | `false` |');
    expect(table).toContain('| `config` | **required** |');
    expect(table).toContain('| `sessionKey` | `oxd` |');
  });

  describe('npm run docs (scripts/docs.js, on the build)', () => {
    let dir: string;
    beforeAll(async () => {
      await ensureBuilt();
      dir = mkdtempSync(join(tmpdir(), 'express-oxd-options-doc-'));
    }, 240_000);
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('fails --check on a page whose options table is stale and rewrites it', async () => {
      const readme = readFileSync(README, 'utf8');
      const row = readme.split('\n').find((line) => line.startsWith('| `errorOnRequired` |'));
      expect(row).toBeDefined();
      const stale = join(dir, 'middleware.md');
      writeFileSync(stale, readme.replace(`${row as string}\n`, ''));

      const check = await runDocs('--check', stale);
      expect(check.code).toBe(1);
      expect(check.output).toContain('out of date; run npm run docs');

      expect((await runDocs(stale)).code).toBe(0);
      expect(readFileSync(stale, 'utf8')).toBe(readme);
    });
  });
});
