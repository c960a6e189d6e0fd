#!/usr/bin/env node
/**
 * `express-oxd-local`: runs the local OpenID Provider and the local oxd server.
 *
 *   express-oxd-local [--json] [--op-port N] [--port N] [--https-port N] [--data-dir DIR]
 *                     [--app-url URL] [--write-config FILE] [--write-dev-cert DIR]
 *                     [--protect | --no-protect] [--access-token-ttl S] [--state-ttl S]
 *                     [--rotate-refresh-token]
 *                     [--uma-claims-policy FILE] [--until-stdin-closes]
 *   express-oxd-local op  [--json] [--op-port N] [--access-token-ttl S] ...
 *   express-oxd-local oxd --op-issuer URL --op-ca-file FILE [--json] [--port N] ...
 *
 * Without a subcommand both start and the output is a complete express-oxd configuration for
 * an app at `--app-url` (`--write-config FILE` also writes it to a file). The optional peers
 * oidc-provider and selfsigned are checked first; all missing ones are named in one message.
 * `--json` prints one line instead:
 * `{"op":{"issuer","ca","users"},"oxd":{"host","port","httpsUrl","ca"}}` (only the part
 * that was started). SIGINT / SIGTERM (and, with `--until-stdin-closes`, the end of stdin)
 * stop the servers cleanly.
 */
import { mkdir, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
// These modules load the optional peers only when a server starts, after the check below.
import { dataLayout, defaultDataDir, keptCertificate, registrationStillKnown } from './cli-data';
import { configFor, devCertificate, writeConfigFile } from './cli-files';
import { type LocalOp, startLocalOp } from './op/local-op';
import { type LocalOxd, type LocalOxdOptions, startLocalOxd } from './oxd/local-oxd';
import { OXD_VERSIONS, isOxdVersion, type OxdVersion } from './oxd/profiles';
import type { ClaimsPolicy } from './uma';

/**
 * Default ports, away from the ones `npm run demo` uses (site 8443, OP 8444, oxd socket 8099,
 * oxd HTTPS 8445), so both can run at once. Fixed, so that a restart with the same command
 * brings the servers back where a running app expects them.
 */
const DEFAULT_OP_PORT = 8544;
const DEFAULT_OXD_PORT = 8199;
const DEFAULT_OXD_HTTPS_PORT = 8543;
const DEFAULT_APP_URL = 'https://127.0.0.1:3000';
const CLIENT_NAME = 'express-oxd local app';

/** Optional peer dependencies the local servers load, with the range package.json asks for. */
const PEERS = [
  { name: 'oidc-provider', range: '9' },
  { name: 'selfsigned', range: '5' },
  { name: 'jose', range: '6' },
] as const;

/** Whether `name` can be resolved from this file, as the local servers will load it. */
function isInstalled(name: string): boolean {
  for (const request of [`${name}/package.json`, name]) {
    try {
      require.resolve(request);
      return true;
    } catch (err) {
      // Installed but closed by its exports map: present all the same.
      if ((err as NodeJS.ErrnoException).code === 'ERR_PACKAGE_PATH_NOT_EXPORTED') return true;
    }
  }
  return false;
}

/** `a`, `a and b`, `a, b and c`. */
function listed(names: readonly string[]): string {
  return names.length < 2 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}

/** One message naming every missing optional peer, or undefined when all are there. */
function missingPeersMessage(installed: (name: string) => boolean = isInstalled) {
  const missing = PEERS.filter((peer) => !installed(peer.name));
  if (missing.length === 0) return undefined;
  const names = missing.map((peer) => peer.name);
  const specs = missing.map((peer) => `${peer.name}@${peer.range}`);
  return (
    `the local OpenID Provider and oxd server need ${names.length === 1 ? 'the optional package' : 'the optional packages'} ` +
    `${listed(names)}, which ${names.length === 1 ? 'is' : 'are'} not installed. Install ` +
    `${names.length === 1 ? 'it' : 'them'} next to express-oxd:\n  npm install --save-dev ${specs.join(' ')}`
  );
}

const USAGE = `Usage:
  express-oxd-local [options]            start the local OP and the local oxd server
  express-oxd-local op [options]         start the local OP only
  express-oxd-local oxd --op-issuer URL --op-ca-file FILE [options]
                                         start the local oxd server only
Options:
  --json                  print one JSON line with what was started
  --op-port N             OP HTTPS port (default ${DEFAULT_OP_PORT}, 0 = a free port)
  --access-token-ttl S    OP access token lifetime in seconds (default 3600)
  --no-end-session        the OP publishes no end_session_endpoint (no RP-initiated logout)
  --rotate-refresh-token  OP issues a new refresh token on every refresh; the used one
                          stops working and replaying it revokes the grant
  --port N                oxd socket port (default ${DEFAULT_OXD_PORT}, 0 = a free port)
  --https-port N          oxd HTTPS port (default ${DEFAULT_OXD_HTTPS_PORT}, 0 = a free port)
  --data-dir DIR          where the OP's clients and keys, the oxd registrations and
                          both certificates are kept (default: node_modules/.cache/
                          express-oxd-local of the project around the current folder,
                          else ~/.cache/express-oxd-local)
  --app-url URL           your app's https origin, for the redirect URIs of the printed
                          configuration (default ${DEFAULT_APP_URL})
  --write-config FILE     also write that configuration (socket; 4.x profiles: REST) to
                          FILE, replacing it
  --write-dev-cert DIR    write a self-signed certificate for the app's host to
                          DIR/dev-cert.pem and DIR/dev-key.pem (kept while valid)
  --protect, --no-protect require protection tokens on socket and HTTPS
                          (default: socket and /v3/ no, as oxd-conf.json; 4.x REST yes)
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
  endSession: boolean;
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
  appUrl: URL;
  writeConfig: string | undefined;
  writeDevCert: string | undefined;
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
      'no-end-session': { type: 'boolean' },
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
      'app-url': { type: 'string' },
      'write-config': { type: 'string' },
      'write-dev-cert': { type: 'string' },
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
  if (mode === 'op' && values['write-config'] !== undefined) {
    throw new UsageError('--write-config needs the oxd server: leave out the op command');
  }
  const appUrl = parseAppUrl(values['app-url'] ?? DEFAULT_APP_URL);
  return {
    mode,
    json: values.json ?? false,
    opPort: integer('op-port'),
    accessTokenTtl: integer('access-token-ttl'),
    endSession: values['no-end-session'] !== true,
    rotateRefreshToken: values['rotate-refresh-token'] ?? false,
    port: integer('port'),
    httpsPort: integer('https-port'),
    dataDir: path.resolve(values['data-dir'] ?? defaultDataDir()),
    protect: values.protect ? true : values['no-protect'] ? false : undefined,
    stateTtl: integer('state-ttl'),
    umaClaimsPolicy: values['uma-claims-policy'],
    oxdVersion,
    opIssuer: values['op-issuer'],
    opCaFile: values['op-ca-file'],
    untilStdinCloses: values['until-stdin-closes'] ?? false,
    appUrl,
    writeConfig:
      values['write-config'] === undefined ? undefined : path.resolve(values['write-config']),
    writeDevCert:
      values['write-dev-cert'] === undefined ? undefined : path.resolve(values['write-dev-cert']),
  };
}

function parseAppUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(
      `--app-url must be an absolute URL such as ${DEFAULT_APP_URL}, got ${JSON.stringify(text)}`,
    );
  }
  if (url.protocol !== 'https:' || url.username || url.password || url.search || url.hash) {
    throw new UsageError(
      `--app-url must be an https URL without credentials, query or fragment, such as ${DEFAULT_APP_URL}, got ${JSON.stringify(text)}`,
    );
  }
  return url;
}

async function startOxd(cli: Cli, opIssuer: string, opCa: string): Promise<LocalOxd> {
  const options: LocalOxdOptions = {
    opIssuer,
    opCa,
    dataDir: dataLayout(cli.dataDir).oxd,
    certificate: await keptCertificate(dataLayout(cli.dataDir).oxd),
  };
  options.port = cli.port ?? DEFAULT_OXD_PORT;
  options.httpsPort = cli.httpsPort ?? DEFAULT_OXD_HTTPS_PORT;
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

function describe(
  cli: Cli,
  op: LocalOp | undefined,
  oxd: LocalOxd | undefined,
  devCert: { certFile: string; keyFile: string } | undefined,
): string {
  const lines: string[] = [];
  const { opCaFile, oxdCaFile, registrations } = dataLayout(cli.dataDir);
  if (op) {
    lines.push(`Local OpenID Provider: ${op.issuer}`, `  its CA certificate: ${opCaFile}`);
  }
  if (oxd) {
    lines.push(
      `Local oxd server: socket ${oxd.host}:${oxd.port}, HTTPS ${oxd.httpsUrl}`,
      `  its CA certificate: ${oxdCaFile}`,
      `  registrations: ${registrations}`,
      '',
      `express-oxd configuration for an app at ${cli.appUrl.origin}, ` +
        (oxd.port === 0 ? 'oxd 4.x REST' : 'oxd 3.x socket') +
        (cli.writeConfig ? ` (written to ${cli.writeConfig}):` : ':'),
      ...configFor(cli.appUrl, oxd, op?.issuer ?? cli.opIssuer ?? '', CLIENT_NAME).map(
        (line) => `  ${line}`,
      ),
      '',
      'or over HTTPS, in [oxd] instead of host/port:',
      '  https_extension = true',
      `  host = ${oxd.httpsUrl}/v3      (oxd-https-extension 3.x envelope)`,
      `  host = ${oxd.httpsUrl}         (with server_version = 4: oxd 4.x REST)`,
      `  ca_file = ${oxdCaFile}`,
    );
  }
  if (devCert) {
    lines.push(
      '',
      `Development certificate for ${cli.appUrl.hostname}: ${devCert.certFile}`,
      `  its key: ${devCert.keyFile}`,
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

/** What went wrong at start-up: the message alone for operating-system errors, else the stack. */
function startFailure(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') {
    return `${err.message}: another program uses that port; choose others with --port, --https-port and --op-port (0 = a free port)`;
  }
  if (typeof code === 'string' || err.message.startsWith('cannot ')) return err.message;
  return err.stack ?? err.message;
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
  const missing = missingPeersMessage();
  if (missing) {
    process.stderr.write(`express-oxd-local: ${missing}\n`);
    process.exitCode = 1;
    return;
  }

  let op: LocalOp | undefined;
  let oxd: LocalOxd | undefined;
  let devCert: { certFile: string; keyFile: string } | undefined;
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
      // Its port, certificate, clients and keys stay the same from one start to the next.
      const opDir = dataLayout(cli.dataDir).op;
      op = await startLocalOp({
        port: cli.opPort ?? DEFAULT_OP_PORT,
        certificate: await keptCertificate(opDir),
        dataDir: opDir,
        ...(cli.accessTokenTtl !== undefined ? { accessTokenTtl: cli.accessTokenTtl } : {}),
        endSession: cli.endSession,
        ...(cli.rotateRefreshToken ? { rotateRefreshToken: true } : {}),
      });
    }
    if (cli.mode !== 'op') {
      const opIssuer = op?.issuer ?? (cli.opIssuer as string);
      const opCa = op?.ca ?? (await readFile(cli.opCaFile as string, 'utf8'));
      oxd = await startOxd(cli, opIssuer, opCa);
      if (cli.writeConfig) {
        await writeConfigFile(
          cli.writeConfig,
          configFor(cli.appUrl, oxd, opIssuer, CLIENT_NAME),
          cli.dataDir,
          (saved) => registrationStillKnown(cli!.dataDir, saved, opIssuer, op !== undefined),
        );
      }
    }
    if (cli.writeDevCert) devCert = await devCertificate(cli.writeDevCert, cli.appUrl);
  } catch (err) {
    process.exitCode = 1;
    // Operating-system errors (a port in use, a directory that is missing) need no stack.
    process.stderr.write(`express-oxd-local: ${startFailure(err)}\n`);
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
    process.stdout.write(`${describe(cli, op, oxd, devCert)}\n`);
  }
}

if (require.main === module) void main();
