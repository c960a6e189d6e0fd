import { readdir, readFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { ensureBuilt, ROOT } from '../helpers/build';

/** Every `.js` file under `dir`. */
async function jsFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.js'))
    .map((e) => join(e.parentPath, e.name));
}

/** The package name of a bare specifier (`@scope/name/sub` -> `@scope/name`). */
function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/**
 * Bare specifiers the built package loads at run time: `require("x")`, `import("x")`, and
 * the `specifier = 'x'` the local OP loads through a variable.
 */
const LOADS =
  /require\(['"]([^'".][^'"]*)['"]\)|import\(['"]([^'".][^'"]*)['"]\)|specifier = '([^'.][^']*)'/g;

test('every package the build loads at run time is declared in package.json', async () => {
  await ensureBuilt();
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'));
  const builtins = new Set(builtinModules);
  const loaded = new Map<string, Set<string>>();
  for (const file of await jsFiles(join(ROOT, 'dist'))) {
    const text = await readFile(file, 'utf8');
    for (const match of text.matchAll(LOADS)) {
      const specifier = (match[1] ?? match[2] ?? match[3])!;
      if (specifier.startsWith('node:') || builtins.has(specifier)) continue;
      const name = packageOf(specifier);
      const files = loaded.get(name) ?? new Set<string>();
      files.add(file.slice(ROOT.length + 1));
      loaded.set(name, files);
    }
  }
  // The scan does find the packages known to be loaded (it is not vacuous).
  expect([...loaded.keys()]).toEqual(
    expect.arrayContaining(['undici', 'jose', 'oidc-provider', '@opentelemetry/api']),
  );
  const dependencies = Object.keys(pkg.dependencies ?? {});
  const optionalPeers = Object.keys(pkg.peerDependencies ?? {}).filter(
    (name) => pkg.peerDependenciesMeta?.[name]?.optional === true,
  );
  const undeclared = [...loaded.keys()].filter(
    (name) => !dependencies.includes(name) && !optionalPeers.includes(name),
  );
  expect(undeclared.map((name) => `${name} (${[...loaded.get(name)!].join(', ')})`)).toEqual([]);
  // A package only dist/testing loads is an optional peer, never a dependency of every user.
  for (const name of dependencies) {
    const users = [...(loaded.get(name) ?? [])];
    expect({ name, onlyTesting: users.every((f) => f.startsWith('dist/testing/')) }).toEqual({
      name,
      onlyTesting: false,
    });
  }
});
