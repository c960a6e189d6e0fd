/** Runs `node scripts/docs.js ARGS` from the repository root, as `npm run docs` does. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './build';

export function runDocs(...args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(ROOT, 'scripts', 'docs.js'), ...args],
      { cwd: ROOT },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : (error.code as number), output: stdout + stderr }),
    );
  });
}
