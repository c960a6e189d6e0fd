/**
 * Runs the local OP as a child process:
 *
 *   node dist/testing/op/run.js [--port N] [--access-token-ttl S] [--id-token-ttl S]
 *                               [--refresh-token-ttl S] [--rotate-refresh-token]
 *                               [--data-dir DIR]
 *
 * prints one JSON line `{"issuer","port","ca","users"}` once listening, and stops on SIGTERM,
 * SIGINT or when stdin ends (so it cannot outlive a parent that died).
 *
 *   node dist/testing/op/run.js --cycles N
 *
 * starts and stops the OP N times, prints `{"cycles","activeResources"}` and exits with code 0
 * only if nothing but stdio is left open, without calling `process.exit()`.
 */
import { parseArgs } from 'node:util';

import { startLocalOp, type LocalOpOptions } from './local-op';

/** Resources a bare Node process has open besides what the OP might leave behind. */
const BASELINE_RESOURCES = new Set(['TTYWrap', 'PipeWrap', 'TickObject']);

function readOptions(): { options: LocalOpOptions; cycles?: number } {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      'access-token-ttl': { type: 'string' },
      'id-token-ttl': { type: 'string' },
      'refresh-token-ttl': { type: 'string' },
      'rotate-refresh-token': { type: 'boolean' },
      'data-dir': { type: 'string' },
      cycles: { type: 'string' },
    },
    strict: true,
  });
  const number = (name: keyof typeof values): number | undefined => {
    const raw = values[name];
    if (raw === undefined || typeof raw === 'boolean') return undefined;
    const parsed = Number(raw);
    if (!Number.isInteger(parsed))
      throw new TypeError(`--${name} must be a whole number, got "${raw}"`);
    return parsed;
  };
  return {
    options: {
      port: number('port'),
      accessTokenTtl: number('access-token-ttl'),
      idTokenTtl: number('id-token-ttl'),
      refreshTokenTtl: number('refresh-token-ttl'),
      rotateRefreshToken: values['rotate-refresh-token'],
      dataDir: values['data-dir'],
    },
    cycles: number('cycles'),
  };
}

async function serve(options: LocalOpOptions): Promise<void> {
  const op = await startLocalOp(options);
  const stop = () => {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    process.stdin.off('end', stop);
    process.stdin.destroy();
    op.close().catch((err: unknown) => {
      process.exitCode = 1;
      process.stderr.write(`local OP failed to close: ${String(err)}\n`);
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdin.on('end', stop);
  process.stdin.resume();
  process.stdout.write(
    `${JSON.stringify({ issuer: op.issuer, port: op.port, ca: op.ca, users: op.users })}\n`,
  );
}

async function cycle(options: LocalOpOptions, cycles: number): Promise<void> {
  for (let i = 0; i < cycles; i += 1) {
    const op = await startLocalOp(options);
    await op.close();
  }
  const activeResources = process.getActiveResourcesInfo();
  const leftover = activeResources.filter((name) => !BASELINE_RESOURCES.has(name));
  process.stdout.write(`${JSON.stringify({ cycles, activeResources })}\n`);
  if (leftover.length > 0) process.exitCode = 2;
}

function main(): void {
  const { options, cycles } = readOptions();
  const run = cycles === undefined ? serve(options) : cycle(options, cycles);
  run.catch((err: unknown) => {
    process.exitCode = 1;
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.stdin.destroy();
  });
}

main();
