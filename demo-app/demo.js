'use strict';
/**
 * Starts the whole demo: the local OpenID Provider and oxd server (unless `external`), the
 * demo site over HTTPS, and returns a handle whose `close()` stops everything it started,
 * in reverse order.
 */
const { mkdir } = require('node:fs/promises');
const https = require('node:https');
const path = require('node:path');
const { createDemoApp } = require('./app');
const { UMA_CLAIMS_POLICY } = require('./uma');
const { loadTlsCredentials } = require('./https');
const {
  readDemoConfig,
  localEndpoints,
  writeWorkingCopy,
  clearRegistration,
  urlPort,
} = require('./settings');

const DEFAULT_PORTS = { demo: 8443, op: 8444, oxd: 8099, oxdHttps: 8445 };
const LISTEN_HOST = '127.0.0.1';

/** A busy port's error, naming the flag (and variable) that moves the server elsewhere. */
function portInUse(error, port, flag, variable) {
  if (error?.code !== 'EADDRINUSE') return error;
  return new Error(
    `Port ${port} is in use; stop what runs there or choose another with ${flag} ` +
      `(or ${variable}; 0 picks a free port).`,
    { cause: error },
  );
}

/** Starts a local server; a busy port is reported with the flag that changes it. */
async function startOn(start, port, flag, variable) {
  try {
    return await start();
  } catch (error) {
    throw portInUse(error, port, flag, variable);
  }
}

function listen(server, port) {
  return new Promise((resolve, reject) => {
    const onError = (error) => {
      server.off('listening', onListening);
      reject(portInUse(error, port, '--port', 'DEMO_PORT'));
    };
    const onListening = () => {
      server.off('error', onError);
      resolve(server.address().port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, LISTEN_HOST);
  });
}

function closeServer(server) {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}

/** Transport and oxd generation: flags first, then what the file says. */
function chooseDialect(config, options) {
  const fileHttps = /^(true|yes|1|on)$/i.test(config.get('oxd', 'https_extension') ?? '');
  const fileVersion = config.get('oxd', 'server_version') === '4' ? 4 : 3;
  if (options.transport === 'socket' && options.oxdVersion === 4) {
    throw new Error('oxd 4.x has no socket transport: use --transport https with --oxd-version 4.');
  }
  let transport = options.transport ?? (fileHttps ? 'https' : 'socket');
  let serverVersion = options.oxdVersion ?? fileVersion;
  if (options.oxdVersion === 4) transport = 'https';
  if (transport === 'socket') serverVersion = 3;
  return { transport, serverVersion };
}

/** The port of a URL on this machine (127.0.0.1 or localhost), else undefined. */
function loopbackPort(url) {
  return /^https?:\/\/(127\.0\.0\.1|localhost)(:|\/|$)/i.test(url ?? '') ? urlPort(url) : undefined;
}

/** Flags first; else the ports the file names for this machine; else the defaults. */
function choosePorts(config, options) {
  return {
    demo:
      options.port ??
      config.demo.port ??
      loopbackPort(config.get('client', 'authorization_redirect_uri')) ??
      DEFAULT_PORTS.demo,
    op: options.opPort ?? loopbackPort(config.get('client', 'op_host')) ?? DEFAULT_PORTS.op,
    oxd: options.oxdPort ?? (Number(config.get('oxd', 'port')) || DEFAULT_PORTS.oxd),
    oxdHttps:
      options.oxdHttpsPort ?? loopbackPort(config.get('oxd', 'host')) ?? DEFAULT_PORTS.oxdHttps,
  };
}

async function startLocalStack(options, ports, closers, log) {
  const { startLocalOp, startLocalOxd } = require('express-oxd/testing');
  await mkdir(options.dataDir, { recursive: true });
  // The OP keeps its certificate across starts, so a browser's exception for it stays valid.
  const opTls = await loadTlsCredentials({ certDir: options.dataDir, name: 'op' });
  const op = await startOn(
    () =>
      startLocalOp({
        port: ports.op,
        certificate: { key: opTls.key, cert: opTls.cert },
        dataDir: path.join(options.dataDir, 'op'),
      }),
    ports.op,
    '--op-port',
    'DEMO_OP_PORT',
  );
  closers.push(() => op.close());
  const oxdTls = await loadTlsCredentials({ certDir: options.dataDir, name: 'oxd' });
  const startOxd = () =>
    startLocalOxd({
      opIssuer: op.issuer,
      opCa: op.ca,
      port: ports.oxd,
      httpsPort: ports.oxdHttps,
      dataDir: path.join(options.dataDir, 'oxd'),
      certificate: { key: oxdTls.key, cert: oxdTls.cert },
      umaClaimsPolicy: UMA_CLAIMS_POLICY,
    });
  // The oxd server listens on two ports: the error's own port tells which one is taken.
  const oxd = await startOxd().catch((error) => {
    const https = error?.port === ports.oxdHttps && ports.oxdHttps !== 0;
    throw portInUse(
      error,
      error?.port ?? ports.oxd,
      https ? '--oxd-https-port' : '--oxd-port',
      https ? 'DEMO_OXD_HTTPS_PORT' : 'DEMO_OXD_PORT',
    );
  });
  closers.push(() => oxd.close());
  log(`Local OpenID Provider: ${op.issuer}`);
  log(`Local oxd server:      socket ${oxd.host}:${oxd.port}, HTTPS ${oxd.httpsUrl}`);
  return { op, oxd, oxdCaFile: oxdTls.certFile };
}

/** `file` relative to the config's directory when it lies inside it, else absolute. */
function pathForConfig(configFile, file) {
  const relative = path.relative(path.dirname(configFile), file);
  return relative.startsWith('..') || path.isAbsolute(relative) ? file : relative;
}

function describeChange({ section, key, from, to }) {
  return `  [${section}] ${key}: ${from === '' ? '(empty)' : from} -> ${to}`;
}

/** The origin of the configured callback URL, the site's public address. */
function publicOrigin(config) {
  try {
    return new URL(config.get('client', 'authorization_redirect_uri')).origin;
  } catch {
    return undefined;
  }
}

/** Whether oxd says the stored oxd id is unknown to it. */
function isUnknownSite(error) {
  if (!error || error.code !== 'OXD_COMMAND_FAILED') return false;
  if (error.error === 'invalid_oxd_id') return true;
  return error.error === 'bad_request' && /oxd_id/i.test(error.error_description ?? '');
}

/**
 * Starts the demo. Options: `configFile`, `transport`, `oxdVersion`, `port`, `opPort`,
 * `oxdPort`, `oxdHttpsPort`, `dataDir`, `certDir`, `external`, `log(line)`.
 * Resolves to `{ url, origin, port, user, stack, tls, close() }`.
 */
async function startDemo(options) {
  const log = options.log ?? (() => {});
  const env = options.env ?? process.env;
  const closers = [];
  const closeAll = async () => {
    const errors = [];
    while (closers.length > 0) {
      try {
        await closers.pop()();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, 'some demo servers did not close');
  };

  try {
    const config = await readDemoConfig(options.configFile);
    const ports = choosePorts(config, options);
    const dialect = options.external ? undefined : chooseDialect(config, options);
    const stack = options.external
      ? undefined
      : await startLocalStack(options, ports, closers, log);

    const tls = await loadTlsCredentials({
      certFile: env.DEMO_CERT_FILE || config.demo.certFile,
      keyFile: env.DEMO_KEY_FILE || config.demo.keyFile,
      certDir: options.certDir,
      hosts: [LISTEN_HOST],
    });
    let handler = (_req, res) => {
      res.statusCode = 503;
      res.end('The demo is starting.');
    };
    const server = https.createServer({ key: tls.key, cert: tls.cert }, (req, res) =>
      handler(req, res),
    );
    const port = await listen(server, ports.demo);
    closers.push(() => closeServer(server));
    const origin = `https://${LISTEN_HOST}:${port}`;

    // The tracked configuration is only read; the demo runs with (and express-oxd writes
    // registration results into) a working copy in the data directory.
    const workingFile = path.join(options.dataDir, path.basename(options.configFile));
    const wanted = stack
      ? localEndpoints(config, {
          origin,
          ...dialect,
          oxd: stack.oxd,
          issuer: stack.op.issuer,
          caFile: pathForConfig(workingFile, stack.oxdCaFile),
        })
      : {};
    const { changes, dropped } = await writeWorkingCopy(options.configFile, workingFile, wanted);
    log(`Configuration: ${options.configFile}; registration results go to ${workingFile}.`);
    if (changes.length > 0) {
      log('Set in that copy to match the servers started now:');
      for (const change of changes) log(describeChange(change));
    }
    if (dropped) {
      log(
        '  The registration stored there was made for other servers or addresses: the site registers again.',
      );
    }

    // HSTS only with a configured certificate: browsers let nobody past a self-signed one.
    const makeApp = () =>
      createDemoApp({
        configFile: workingFile,
        hsts: tls.configured,
        // The UMA page calls the site's own API: by its public name with a real certificate.
        origin: tls.configured ? (publicOrigin(config) ?? origin) : origin,
        ca: tls.configured ? undefined : tls.cert,
      });
    const closeClients = (made) =>
      Promise.all([made.locals.oxdClient.close(), made.locals.umaPrivateClient?.close()]);
    let app = makeApp();
    closers.push(() => closeClients(app));
    if (stack && app.locals.oxdClient.oxdId) {
      try {
        await app.locals.oxdClient.getAuthorizationUrl({});
      } catch (error) {
        if (!isUnknownSite(error)) throw error;
        log(
          `The local oxd server does not know the oxd id ${app.locals.oxdClient.oxdId} from ` +
            `${workingFile}; clearing it so the site registers again.`,
        );
        await clearRegistration(workingFile);
        await closers.pop()();
        app = makeApp();
        closers.push(() => closeClients(app));
      }
    }
    handler = app;

    const user = stack?.op.users[0];
    const url = `${origin}/`;
    log('');
    log(`express-oxd demo is running at ${url}`);
    if (user) log(`Log in as ${user.username} / ${user.password}`);
    const admin = stack?.op.users.find((candidate) => candidate.claims.groups?.includes('admin'));
    if (admin) {
      log(
        `Administrator (may update the site registration): ${admin.username} / ${admin.password}`,
      );
    }
    const callback = config.get('client', 'authorization_redirect_uri');
    if (!stack && callback && !callback.startsWith(`${origin}/`)) {
      log(
        `After login the OP sends the browser to ${callback} ([client] authorization_redirect_uri): ` +
          'make sure that address reaches this server.',
      );
    }
    if (!tls.configured) {
      log(
        `The certificate is self-signed (${tls.certFile}): your browser will warn about it once.`,
      );
    }
    log('Press Ctrl+C to stop.');

    return { url, origin, port, user, stack, tls, close: closeAll };
  } catch (error) {
    // The start-up error is what matters; a failure to close on top of it is only reported.
    await closeAll().catch((closeError) => log(`While stopping after that: ${closeError.message}`));
    throw error;
  }
}

module.exports = { startDemo };
