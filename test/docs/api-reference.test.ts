/**
 * The API reference (`npm run docs:api`, typedoc.json) is generated from the doc comments of
 * the three entry points and treats every warning as an error: a public name whose comment
 * links to something unexported, or whose signature uses a type the reference cannot show,
 * fails here. The reference is written as JSON to a scratch directory (the HTML would take
 * longer and nothing here reads it); the type check is `npm run typecheck`'s job.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers/build';

jest.setTimeout(180_000);

interface Reflection {
  name: string;
  children?: Reflection[];
  comment?: { summary?: { text: string }[] };
  signatures?: { comment?: { summary?: { text: string }[] } }[];
}

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'express-oxd-api-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function summary(reflection: Reflection): string {
  const comment = reflection.comment ?? reflection.signatures?.[0]?.comment;
  return (comment?.summary ?? []).map((part) => part.text).join('');
}

test('typedoc builds the reference of express-oxd, /config and /testing without a warning', async () => {
  const out = join(dir, 'api.json');
  const { code, output } = await new Promise<{ code: number; output: string }>((resolve) => {
    execFile(
      process.execPath,
      [
        join(ROOT, 'node_modules', 'typedoc', 'bin', 'typedoc'),
        '--options',
        join(ROOT, 'typedoc.json'),
        '--skipErrorChecking',
        '--json',
        out,
      ],
      { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' }, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number(error.code ?? 1) : 0, output: stdout + stderr }),
    );
  });
  expect(output).not.toMatch(/\[(warning|error)\]/);
  expect(code).toBe(0);

  const project = JSON.parse(await readFile(out, 'utf8')) as Reflection;
  const modules = new Map((project.children ?? []).map((child) => [child.name, child]));
  expect([...modules.keys()]).toEqual(expect.arrayContaining(['index', 'config-entry', 'testing']));
  // Each entry point's main names are in the reference with their doc comments.
  const expected: Record<string, string[]> = {
    index: ['oxdAuth', 'requireAuth', 'createOxdClient', 'umaProtect', 'OxdError'],
    'config-entry': ['resolveConfig', 'parseIni', 'writeBack'],
    testing: ['startLocalOp', 'startLocalOxd'],
  };
  for (const [module, names] of Object.entries(expected)) {
    const children = new Map(
      (modules.get(module)?.children ?? []).map((child) => [child.name, child]),
    );
    for (const name of names) {
      const reflection = children.get(name);
      expect({ module, name, found: reflection !== undefined }).toEqual({
        module,
        name,
        found: true,
      });
      expect({ module, name, documented: summary(reflection!).length > 0 }).toEqual({
        module,
        name,
        documented: true,
      });
    }
  }
});
