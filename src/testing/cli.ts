#!/usr/bin/env node
/**
 * `express-oxd-local`: runs the local OpenID Provider and the local oxd server.
 *
 *   express-oxd-local [--json] [--op-port N] [--port N] [--https-port N] [--data-dir DIR]
 *                     [--protect | --no-protect] [--access-token-ttl S] [--state-ttl S]
 *                     [--rotate-refresh-token]
 *                     [--uma-claims-policy FILE] [--until-stdin-closes]
 *   express-oxd-local op  [--json] [--op-port N] [--access-token-ttl S] ...
 *   express-oxd-local oxd --op-issuer URL --op-ca-file FILE [--json] [--port N] ...
 *
 * Without a subcommand both start and the output says what to put into the express-oxd
 * configuration. `--json` prints one line instead:
 * `{"op":{"issuer","ca","users"},"oxd":{"host","port","httpsUrl","ca"}}` (only the part
 * that was started). SIGINT / SIGTERM (and, with `--until-stdin-closes`, the end of stdin)
 * stop the servers cleanly.
 */
import { X509Certificate } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { type Certificate, createSelfSignedCertificate } from './op/certificate';
import { type LocalOp, startLocalOp } from './op/local-op';
import { type LocalOxd, type LocalOxdOptions, startLocalOxd } from './oxd/local-oxd';
import { OXD_VERSIONS, isOxdVersion, type OxdVersion } from './oxd/profiles';
import type { ClaimsPolicy } from './uma';

const USAGE = `Usage:
  express-oxd-local [options]            start the local OP and the local oxd server
  express-oxd-local op [options]         start the local OP only
  express-oxd-local oxd --op-issuer URL --op-ca-file FILE [options]
                                         start the local oxd server only
Options:
  --json                  print one JSON line with what was started
  --op-port N             OP HTTPS port (default: a free port)
  --access-token-ttl S    OP access token lifetime in seconds (default 3600)
  --rotate-refresh-token  OP issues a new refresh token on every refresh; the used one
                          stops working and replaying it revokes the grant
  --port N                oxd socket port (default 8099, 0 = a free port)
  --https-port N          oxd HTTPS port (default 8443, 0 = a free port)
  --data-dir DIR          where registrations and CA files are kept
                          (default ${path.join(tmpdir(), 'express-oxd-local')})
  --protect, --no-protect require protection tokens on socket and HTTPS
                          (default: socket no, HTTPS yes)
  --state-ttl S           lifetime of authorization states (default 300)
  --uma-claims-policy F   JSON file: claims the UMA server requires per scope
  --oxd-version V         oxd release line to reproduce: ${OXD_VERSIONS.join(' | ')}
                          (default: socket and /v3/ as 3.1.4, REST as 4.2)
  --until-stdin-closes    stop when stdin ends (for parent processes)
  --help                  show this text`;

interface Cli {
  mode: 'both' | 'op' | 'oxd';
  json: boolean;
  opPort: number | undefined;
  accessTokenTtl: number | undefined;
  rotateRefreshToken: boolean;
  port: number | undefined;
  httpsPort: number | undefined;
  dataDir: string;
  protect: boolean | undefined;
  stateTtl: number | undefined;
  umaClaimsPolicy: string | undefined;
  oxdVersion: OxdVersion | undefined;
  opIssuer: string | undefined;
  opCaFile: string | undefined;
  untilStdinCloses: boolean;
}

class UsageError extends Error {}

function parseCli(argv: string[]): Cli | undefined {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      json: { type: 'boolean' },
      'op-port': { type: 'string' },
      'access-token-ttl': { type: 'string' },
      'rotate-refresh-token': { type: 'boolean' },
      port: { type: 'string' },
      'https-port': { type: 'string' },
      'data-dir': { type: 'string' },
      protect: { type: 'boolean' },
      'no-protect': { type: 'boolean' },
      'state-ttl': { type: 'string' },
      'uma-claims-policy': { type: 'string' },
      'oxd-version': { type: 'string' },
      'op-issuer': { type: 'string' },
      'op-ca-file': { type: 'string' },
      'until-stdin-closes': { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) return undefined;
  const [sub, ...extra] = positionals;
  if (extra.length > 0 || (sub !== undefined && sub !== 'op' && sub !== 'oxd')) {
    throw new UsageError(`unknown command ${JSON.stringify(positionals.join(' '))}`);
  }
  const integer = (name: keyof typeof values): number | undefined => {
    const raw = values[name];
    if (typeof raw !== 'string') return undefined;
    const parsed = Number(raw);
    if (!Number.isInteger(parsed) || parsed < 0) {
      throw new UsageError(`--${name} must be a whole number, got ${JSON.stringify(raw)}`);
    }
    return parsed;
  };
  if (values.protect && values['no-protect']) {
    throw new UsageError('give either --protect or --no-protect');
  }
  const oxdVersion = values['oxd-version'];
  if (oxdVersion !== undefined && !isOxdVersion(oxdVersion)) {
    throw new UsageError(
      `--oxd-version must be one of ${OXD_VERSIONS.join(', ')}, got ${JSON.stringify(oxdVersion)}`,
    );
  }
  const mode = sub ?? 'both';
  if (mode === 'oxd' && (!values['op-issuer'] || !values['op-ca-file'])) {
    throw new UsageError('the oxd command needs --op-issuer URL and --op-ca-file FILE');
  }
  return {
    mode,
    json: values.json ?? false,
    opPort: integer('op-port'),
    accessTokenTtl: integer('access-token-ttl'),
    rotateRefreshToken: values['rotate-refresh-token'] ?? false,
    port: integer('port'),
    httpsPort: integer('https-port'),
    dataDir: path.resolve(values['data-dir'] ?? path.join(tmpdir(), 'express-oxd-local')),
    protect: values.protect ? true : values['no-protect'] ? false : undefined,
    stateTtl: integer('state-ttl'),
    umaClaimsPolicy: values['uma-claims-policy'],
    oxdVersion,
    opIssuer: values['op-issuer'],
    opCaFile: values['op-ca-file'],
    untilStdinCloses: values['until-stdin-closes'] ?? false,
  };
}

const OXD_KEY_FILE = 'oxd-key.pem';
const OXD_CA_FILE = 'oxd-ca.pem';
/** A kept certificate is replaced when it expires within this time. */
const RENEW_BEFORE_MS = 24 * 60 * 60 * 1000;

/**
 * The oxd HTTPS certificate kept in the data directory, so that a configured `ca_file`
 * stays valid across restarts; a new one is made when there is none or it expires soon.
 */
async function oxdCertificate(dataDir: string): Promise<Certificate> {
  const keyFile = path.join(dataDir, OXD_KEY_FILE);
  const certFile = path.join(dataDir, OXD_CA_FILE);
  try {
    const [key, cert] = await Promise.all([readFile(keyFile, 'utf8'), readFile(certFile, 'utf8')]);
    if (Date.parse(new X509Certificate(cert).validTo) - Date.now() > RENEW_BEFORE_MS) {
      return { key, cert };
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const created = await createSelfSignedCertificate();
  await writeFile(keyFile, created.key, { mode: 0o600 });
  await writeFile(certFile, created.cert);
  return created;
}

async function startOxd(cli: Cli, opIssuer: string, opCa: string): Promise<LocalOxd> {
  const options: LocalOxdOptions = {
    opIssuer,
    opCa,
    dataDir: cli.dataDir,
    certificate: await oxdCertificate(cli.dataDir),
  };
  if (cli.port !== undefined) options.port = cli.port;
  if (cli.httpsPort !== undefined) options.httpsPort = cli.httpsPort;
  if (cli.protect !== undefined) options.protectCommands = cli.protect;
  if (cli.stateTtl !== undefined) options.stateTtlSeconds = cli.stateTtl;
  if (cli.oxdVersion !== undefined) options.oxdVersion = cli.oxdVersion;
  if (cli.umaClaimsPolicy) {
    options.umaClaimsPolicy = JSON.parse(
      await readFile(cli.umaClaimsPolicy, 'utf8'),
    ) as ClaimsPolicy;
  }
  return startLocalOxd(options);
}

function describe(cli: Cli, op: LocalOp | undefined, oxd: LocalOxd | undefined): string {
  const lines: string[] = [];
  const opCaFile = path.join(cli.dataDir, 'op-ca.pem');
  const oxdCaFile = path.join(cli.dataDir, OXD_CA_FILE);
  if (op) {
    lines.push(`Local OpenID Provider: ${op.issuer}`, `  its CA certificate: ${opCaFile}`);
  }
  if (oxd) {
    lines.push(
      `Local oxd server: socket ${oxd.host}:${oxd.port}, HTTPS ${oxd.httpsUrl}`,
      `  its CA certificate: ${oxdCaFile}`,
      `  registrations: ${path.join(oxd.dataDir, 'registrations.json')}`,
      '',
      'express-oxd configuration, oxd 3.x socket:',
      '  [oxd]',
      `  host = ${oxd.host}`,
      `  port = ${oxd.port}`,
      '  [client]',
      `  op_host = ${op?.issuer ?? cli.opIssuer ?? ''}`,
      '',
      'or over HTTPS, in [oxd] instead of host/port:',
      '  https_extension = true',
      `  host = ${oxd.httpsUrl}/v3      (oxd-https-extension 3.x envelope)`,
      `  host = ${oxd.httpsUrl}         (with server_version = 4: oxd 4.x REST)`,
      `  ca_file = ${oxdCaFile}`,
    );
  }
  if (op) {
    lines.push('', 'Test users (username / password):');
    for (const user of op.users) {
      const email = typeof user.claims.email === 'string' ? `  ${user.claims.email}` : '';
      lines.push(`  ${user.username} / ${user.password}${email}`);
    }
  }
  lines.push('', 'Press Ctrl+C to stop.');
  return lines.join('\n');
}

async function main(): Promise<void> {
  let cli: Cli | undefined;
  try {
    cli = parseCli(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`express-oxd-local: ${(err as Error).message}\n\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  if (!cli) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }

  let op: LocalOp | undefined;
  let oxd: LocalOxd | undefined;
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      process.stdin.off('end', stop);
      process.stdin.destroy();
      await oxd?.close();
      await op?.close();
    })().catch((err: unknown) => {
      process.exitCode = 1;
      process.stderr.write(`express-oxd-local: failed to stop: ${String(err)}\n`);
    });
    return stopping;
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  if (cli.untilStdinCloses) {
    process.stdin.on('end', stop);
    process.stdin.resume();
  }

  try {
    await mkdir(cli.dataDir, { recursive: true });
    if (cli.mode !== 'oxd') {
      op = await startLocalOp({
        ...(cli.opPort !== undefined ? { port: cli.opPort } : {}),
        ...(cli.accessTokenTtl !== undefined ? { accessTokenTtl: cli.accessTokenTtl } : {}),
        ...(cli.rotateRefreshToken ? { rotateRefreshToken: true } : {}),
      });
      await writeFile(path.join(cli.dataDir, 'op-ca.pem'), op.ca);
    }
    if (cli.mode !== 'op') {
      const opIssuer = op?.issuer ?? (cli.opIssuer as string);
      const opCa = op?.ca ?? (await readFile(cli.opCaFile as string, 'utf8'));
      oxd = await startOxd(cli, opIssuer, opCa);
    }
  } catch (err) {
    process.exitCode = 1;
    process.stderr.write(
      `express-oxd-local: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    await stop();
    return;
  }
  if (stopping) {
    // A signal arrived while starting: close what has started since.
    await oxd?.close();
    await op?.close();
    return;
  }

  if (cli.json) {
    const out: Record<string, unknown> = {};
    if (op) out.op = { issuer: op.issuer, ca: op.ca, users: op.users };
    if (oxd) out.oxd = { host: oxd.host, port: oxd.port, httpsUrl: oxd.httpsUrl, ca: oxd.ca };
    process.stdout.write(`${JSON.stringify(out)}\n`);
  } else {
    process.stdout.write(`${describe(cli, op, oxd)}\n`);
  }
}

void main();
