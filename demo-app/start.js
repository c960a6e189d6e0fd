'use strict';
/**
 * `npm run demo`: starts the local OpenID Provider and oxd server (unless --external), then
 * the demo site over HTTPS, and prints where to go and whom to log in as. Ctrl+C stops it.
 */
const path = require('node:path');
const { parseArgs } = require('node:util');

// A fresh clone, or a checkout whose src/ changed since the last build, is built first.
try {
  require('../scripts/ensure-built').ensureBuilt({ log: (line) => console.log(line) });
} catch (error) {
  console.error(`The demo could not start: ${error.message}`);
  process.exit(1);
}
const { startDemo } = require('./demo');

const USAGE = `Usage: npm run demo -- [options]

Options (each also read from the environment variable in brackets):
  --config <file>          demo configuration file [DEMO_CONFIG] (default: demosite.cfg)
  --transport socket|https how the demo talks to oxd [DEMO_TRANSPORT] (default: from the config)
  --oxd-version 3|4        oxd server generation to emulate [DEMO_OXD_VERSION] (default: from the config)
  --port <n>               HTTPS port of the demo site [DEMO_PORT] (default: [demo] port, 8443)
  --op-port <n>            HTTPS port of the local OpenID Provider [DEMO_OP_PORT] (default: 8444)
  --oxd-port <n>           socket port of the local oxd server [DEMO_OXD_PORT] (default: 8099)
  --oxd-https-port <n>     HTTPS port of the local oxd server [DEMO_OXD_HTTPS_PORT] (default: 8445)
  --data-dir <dir>         where the local OP and oxd keep their data [DEMO_DATA_DIR] (default: .local-oxd)
  --cert-dir <dir>         where the generated TLS certificate is kept [DEMO_CERT_DIR] (default: demo-app/.certs)
  --external               use the oxd server and OP named in the config; start nothing local [DEMO_EXTERNAL=1]
  --trace                  print the spans of each login, refresh and logout (OpenTelemetry) [DEMO_TRACE=1]
  -h, --help               show this help
Port 0 picks a free port.`;

const OPTIONS = {
  config: { type: 'string', env: 'DEMO_CONFIG' },
  transport: { type: 'string', env: 'DEMO_TRANSPORT' },
  'oxd-version': { type: 'string', env: 'DEMO_OXD_VERSION' },
  port: { type: 'string', env: 'DEMO_PORT' },
  'op-port': { type: 'string', env: 'DEMO_OP_PORT' },
  'oxd-port': { type: 'string', env: 'DEMO_OXD_PORT' },
  'oxd-https-port': { type: 'string', env: 'DEMO_OXD_HTTPS_PORT' },
  'data-dir': { type: 'string', env: 'DEMO_DATA_DIR' },
  'cert-dir': { type: 'string', env: 'DEMO_CERT_DIR' },
  external: { type: 'boolean', env: 'DEMO_EXTERNAL' },
  trace: { type: 'boolean', env: 'DEMO_TRACE' },
  help: { type: 'boolean', short: 'h' },
};

class UsageError extends Error {}

function parsePort(name, text) {
  if (text === undefined) return undefined;
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) {
    throw new UsageError(`--${name} must be a port number from 0 to 65535, got "${text}"`);
  }
  return port;
}

function parseChoice(name, text, choices) {
  if (text === undefined) return undefined;
  if (!choices.includes(text)) {
    throw new UsageError(`--${name} must be one of ${choices.join(', ')}, got "${text}"`);
  }
  return text;
}

/** Flags win over environment variables; unset ones stay undefined (the config decides). */
function readOptions(argv, env) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: Object.fromEntries(
        Object.entries(OPTIONS).map(([name, { type, short }]) => [
          name,
          short === undefined ? { type } : { type, short },
        ]),
      ),
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    throw new UsageError(error.message);
  }
  const value = (name) => {
    const given = parsed.values[name];
    if (given !== undefined) return given;
    const fromEnv = OPTIONS[name].env && env[OPTIONS[name].env];
    if (fromEnv === undefined || fromEnv === '') return undefined;
    return OPTIONS[name].type === 'boolean' ? !['0', 'false', 'no'].includes(fromEnv) : fromEnv;
  };
  const root = path.resolve(__dirname, '..');
  const oxdVersion = parseChoice('oxd-version', value('oxd-version'), ['3', '4']);
  return {
    help: Boolean(parsed.values.help),
    configFile: path.resolve(value('config') ?? path.join(root, 'demosite.cfg')),
    transport: parseChoice('transport', value('transport'), ['socket', 'https']),
    oxdVersion: oxdVersion === undefined ? undefined : Number(oxdVersion),
    port: parsePort('port', value('port')),
    opPort: parsePort('op-port', value('op-port')),
    oxdPort: parsePort('oxd-port', value('oxd-port')),
    oxdHttpsPort: parsePort('oxd-https-port', value('oxd-https-port')),
    dataDir: path.resolve(value('data-dir') ?? path.join(root, '.local-oxd')),
    certDir: value('cert-dir') === undefined ? undefined : path.resolve(value('cert-dir')),
    external: Boolean(value('external')),
    trace: Boolean(value('trace')),
  };
}

async function main() {
  let options;
  try {
    options = readOptions(process.argv.slice(2), process.env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`${error.message}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (options.help) {
    console.log(USAGE);
    return;
  }

  // Before the demo loads anything that makes spans: they go to the console.
  if (options.trace) require('./tracing').startConsoleTracing((line) => console.log(line));
  const demo = await startDemo({ ...options, log: (line) => console.log(line) });

  let stopping = false;
  const stop = (signal) => {
    if (stopping) {
      console.error(`${signal} received again, exiting without waiting.`);
      process.exit(1);
    }
    stopping = true;
    console.log(`\n${signal} received, stopping the demo...`);
    demo.close().then(
      () => {
        console.log('Stopped.');
        process.exit(0);
      },
      (error) => {
        console.error('The demo did not stop cleanly:', error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error) => {
  console.error(`The demo could not start: ${error.message}`);
  const cause = error.cause?.message ?? error.cause;
  if (cause && !error.message.includes(String(cause))) console.error(`Cause: ${cause}`);
  process.exit(1);
});
