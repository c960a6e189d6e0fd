/**
 * Code blocks in the docs marked `<!-- example: examples/… -->` show an example file as it is:
 * the file is what the example tests run, so a block that drifts from it fails here.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ROOT } from '../helpers/build';

async function pages(): Promise<string[]> {
  const docs = (await readdir(join(ROOT, 'docs'))).filter((name) => name.endsWith('.md'));
  return ['README.md', ...docs.map((name) => join('docs', name))];
}

test('every marked docs block reads exactly as its example file', async () => {
  const seen: string[] = [];
  for (const page of await pages()) {
    const text = await readFile(join(ROOT, page), 'utf8');
    for (const match of text.matchAll(
      /<!--\s*example:\s*(\S+)\s*-->\s*\n```\w*\n([\s\S]*?)\n```/g,
    )) {
      const [, path, code] = match as unknown as [string, string, string];
      expect(path).toMatch(/^examples\//);
      const file = await readFile(join(ROOT, path), 'utf8');
      expect({ page, path, code }).toEqual({ page, path, code: file.replace(/\n$/, '') });
      seen.push(path);
    }
  }
  // The several-instances recipe is one of them (it once did not run as pasted).
  expect(seen).toContain('examples/several-instances/app.js');
});
