/**
 * Runs the demo site as a user does (`node demo-app/start.js` or `npm run demo`) in a child
 * process, on free ports, with a temporary copy of demosite.cfg, its own data and
 * certificate directories, and waits until it prints its address.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './build';
import { launchBrowser, type BrowserSession } from './browser';

const READY_TIMEOUT_MS = 90_000;
const EXIT_TIMEOUT_MS = 20_000;

export interface DemoProcessOptions {
  /** `node` runs demo-app/start.js directly; `npm` runs `npm run demo` (which builds first). */
  command?: 'node' | 'npm';
  /** Extra command-line flags, e.g. `['--transport', 'https']`. */
  args?: readonly string[];
  /** Reuse this directory (config copy, data, certificates) instead of a fresh one. */
  workDir?: string;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Run with the repository's own demosite.cfg (no `--config`), as `npm run demo` does. */
  repositoryConfig?: boolean;
}

export interface DemoProcess {
  readonly child: ChildProcess;
  /** `https://127.0.0.1:<port>/` as printed. */
  readonly url: string;
  readonly username: string | undefined;
  readonly password: string | undefined;
  /** The temporary directory holding `demosite.cfg`, `data/` and `certs/`. */
  readonly workDir: string;
  /** The configuration the demo runs with: its working copy `data/demosite.cfg`. */
  readonly configFile: string;
  /** The configuration given with `--config` (`demosite.cfg`), which the demo only reads. */
  readonly templateFile: string;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  /** The demo site's certificate (PEM). */
  demoCertificate(): Promise<string>;
  /** The local OP's certificate (PEM). */
  opCertificate(): Promise<string>;
  /**
   * Sends `signal` to the process group (as Ctrl+C in a terminal does) and resolves with
   * the exit code and signal once it has exited.
   */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Kills what is left and deletes the temporary directory (unless it was given). */
  dispose(): Promise<void>;
}

/** Creates a temporary directory holding a copy of the repository's demosite.cfg. */
export async function prepareWorkDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'express-oxd-demo-'));
  await copyFile(join(ROOT, 'demosite.cfg'), join(dir, 'demosite.cfg'));
  return dir;
}

export async function startDemoProcess(options: DemoProcessOptions = {}): Promise<DemoProcess> {
  const ownDir = options.workDir === undefined;
  const workDir = options.workDir ?? (await prepareWorkDir());
  const templateFile = options.repositoryConfig
    ? join(ROOT, 'demosite.cfg')
    : join(workDir, 'demosite.cfg');
  const configFile = join(workDir, 'data', 'demosite.cfg');
  const flags = [
    ...(options.repositoryConfig ? [] : ['--config', templateFile]),
    '--data-dir',
    join(workDir, 'data'),
    '--cert-dir',
    join(workDir, 'certs'),
    ...(options.args ?? []),
  ];
  const portFlags = ['--port', '--op-port', '--oxd-port', '--oxd-https-port'].flatMap((flag) =>
    flags.includes(flag) ? [] : [flag, '0'],
  );
  const [file, args] =
    options.command === 'npm'
      ? ['npm', ['run', 'demo', '--', ...flags, ...portFlags]]
      : [process.execPath, [join(ROOT, 'demo-app', 'start.js'), ...flags, ...portFlags]];
  const child = spawn(file, args, {
    cwd: ROOT,
    env: { ...process.env, ...options.env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so stop() can signal npm and everything it started at once.
    detached: true,
  });
  let output = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  let exitedAlready = false;
  void exited.then(() => {
    exitedAlready = true;
  });

  const ready = new Promise<{ url: string; username?: string; password?: string }>(
    (resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the demo did not start within ${READY_TIMEOUT_MS} ms:\n${output}`)),
        READY_TIMEOUT_MS,
      );
      const check = () => {
        const url = /running at (https:\/\/\S+)/.exec(output)?.[1];
        if (url === undefined || !/Press Ctrl\+C/.test(output)) return;
        clearTimeout(timer);
        const login = /Log in as (\S+) \/ (\S+)/.exec(output);
        resolve({ url, username: login?.[1], password: login?.[2] });
      };
      for (const stream of [child.stdout, child.stderr]) {
        stream?.setEncoding('utf8');
        stream?.on('data', (chunk: string) => {
          output += chunk;
          check();
        });
      }
      void exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(
          new Error(
            `the demo exited (code ${code}, signal ${signal}) before it was ready:\n${output}`,
          ),
        );
      });
    },
  );

  const signalGroup = (signal: NodeJS.Signals) => {
    if (exitedAlready || child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  };

  const dispose = async () => {
    signalGroup('SIGKILL');
    if (!exitedAlready) await exited;
    if (ownDir) await rm(workDir, { recursive: true, force: true });
  };

  let started: { url: string; username?: string; password?: string };
  try {
    started = await ready;
  } catch (error) {
    await dispose();
    throw error;
  }

  return {
    child,
    url: started.url,
    username: started.username,
    password: started.password,
    workDir,
    configFile,
    templateFile,
    output: () => output,
    demoCertificate: () => readFile(join(workDir, 'certs', 'demo-cert.pem'), 'utf8'),
    opCertificate: () => readFile(join(workDir, 'data', 'op-cert.pem'), 'utf8'),
    async stop(signal = 'SIGINT') {
      signalGroup(signal);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new Error(
                `the demo did not exit within ${EXIT_TIMEOUT_MS} ms after ${signal}:\n${output}`,
              ),
            ),
          EXIT_TIMEOUT_MS,
        );
      });
      try {
        return await Promise.race([exited, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    dispose,
  };
}

/**
 * Starts the demo (`options` as for {@link startDemoProcess}) and a headless browser that
 * trusts the demo's and the local OP's certificates (and the local oxd's, with
 * `trustOxd`), its page waiting up to `timeoutMs` (default 30 s) for each step.
 */
export async function openDemoBrowser(
  options: DemoProcessOptions & { timeoutMs?: number; trustOxd?: boolean } = {},
): Promise<{ demo: DemoProcess; browser: BrowserSession }> {
  const { timeoutMs = 30_000, trustOxd = false, ...demoOptions } = options;
  const demo = await startDemoProcess(demoOptions);
  try {
    const trusted = [await demo.demoCertificate(), await demo.opCertificate()];
    if (trustOxd) {
      trusted.push(await readFile(join(demo.workDir, 'data', 'oxd-cert.pem'), 'utf8'));
    }
    const browser = await launchBrowser({ trustedCertificates: trusted });
    browser.page.setDefaultTimeout(timeoutMs);
    return { demo, browser };
  } catch (error) {
    await demo.dispose();
    throw error;
  }
}
