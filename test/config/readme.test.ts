import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { END, START, renderSettings, updateReadme } from '../../scripts/docs.js';
import { SETTINGS } from '../../src/config/settings';
import { ensureBuilt, ROOT } from '../helpers/build';
import { runDocs } from '../helpers/docs-script';

/** Where the configuration tables live (the README links to it). */
const README = join(ROOT, 'docs', 'configuration.md');

describe('docs/configuration.md configuration tables', () => {
  it('are the ones generated from the settings table (run npm run docs when this fails)', () => {
    const readme = readFileSync(README, 'utf8');
    expect(readme).toBe(updateReadme(readme, SETTINGS));
  });

  it('list every setting by its INI key and object name, with its default', () => {
    const tables = renderSettings(SETTINGS);
    for (const [section, table] of Object.entries(SETTINGS)) {
      expect(tables).toContain(`| \`[${section}]\` key | object name | default | meaning |`);
      for (const [name, spec] of Object.entries(table)) {
        expect(tables).toContain(`| \`${name}\` |`);
        if (!('objectOnly' in spec)) expect(tables).toContain(`| \`${spec.ini}\``);
      }
    }
    expect(tables).toContain('| `id` (or `oxd_id`) | `oxdId` | — |');
    expect(tables).toContain('| `scope` (or `scopes`) | `scope` | `openid,profile,email` |');
    expect(tables).toContain(
      '| `authorization_redirect_uri` | `authorizationRedirectUri` | **required** |',
    );
    expect(tables).toContain(
      '`authorization_code,refresh_token` (+`client_credentials` when a protection token is needed)',
    );
  });

  describe('npm run docs (scripts/docs.js, on the build)', () => {
    let dir: string;
    beforeAll(async () => {
      await ensureBuilt();
      dir = mkdtempSync(join(tmpdir(), 'express-oxd-docs-'));
    }, 240_000);
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('passes --check on docs/configuration.md and rewrites a stale copy back to it', async () => {
      expect(await runDocs('--check')).toEqual({ code: 0, output: '' });
      const readme = readFileSync(README, 'utf8');
      const stale = join(dir, 'configuration.md');
      writeFileSync(
        stale,
        readme.replace('| `port` | `port` | `8099` |', '| `port` | `port` | `80` |'),
      );

      const check = await runDocs('--check', stale);
      expect(check.code).toBe(1);
      expect(check.output).toContain('out of date; run npm run docs');

      expect((await runDocs(stale)).code).toBe(0);
      expect(readFileSync(stale, 'utf8')).toBe(readme);
    });

    it('refuses a page without the markers', async () => {
      const bare = join(dir, 'bare.md');
      writeFileSync(bare, '# nothing here\n');
      const result = await runDocs('--check', bare);
      expect(result.code).not.toBe(0);
      expect(result.output).toContain(START);
      expect(result.output).toContain(END);
    });
  });
});
