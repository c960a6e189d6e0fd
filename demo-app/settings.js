'use strict';
/**
 * Reads the demo's configuration file (demosite.cfg): the `[demo]` section that only the
 * demo uses (port, TLS files), and, for the local stack, brings the `[oxd]` and `[client]`
 * endpoint lines in line with the servers that were actually started. The file stays the
 * single source of truth: what it says is what runs, and registration results written back
 * into it always belong to the endpoints it names.
 */
const { readFile, rename, writeFile, stat } = require('node:fs/promises');
const path = require('node:path');
const { parseIni } = require('express-oxd/config');

/** Keys holding registration results; they are cleared when the registration no longer fits. */
const REGISTRATION_KEYS = [
  ['oxd', 'id'],
  ['oxd', 'oxd_id'],
  ['client', 'client_id'],
  ['client', 'client_secret'],
  ['client', 'client_registration_access_token'],
  ['client', 'client_registration_client_uri'],
  ['client', 'protection_access_token'],
];

/** Endpoint keys whose change means the stored registration belongs to another setup. */
const REGISTRATION_BOUND = new Set([
  'oxd.https_extension',
  'oxd.server_version',
  'client.op_host',
  'client.authorization_redirect_uri',
  'client.post_logout_redirect_uri',
  'client.client_frontchannel_logout_uris',
]);

async function readConfigText(file) {
  try {
    return await readFile(file, 'utf8');
  } catch (cause) {
    const hint =
      cause.code === 'ENOENT'
        ? ' Create it (see demo-app/README.md) or point --config / DEMO_CONFIG at one.'
        : '';
    throw new Error(`Cannot read the demo configuration ${file}: ${cause.message}.${hint}`, {
      cause,
    });
  }
}

function portFrom(text, where) {
  if (text === undefined || text === '') return undefined;
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) {
    throw new Error(`${where} must be a port number from 0 to 65535, got "${text}"`);
  }
  return port;
}

/** The port of an http(s) URL, or undefined when the text is not one. */
function urlPort(text) {
  if (!text) return undefined;
  try {
    const url = new URL(text);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
    return url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
  } catch {
    return undefined;
  }
}

function urlPath(text, fallback) {
  if (!text) return fallback;
  try {
    return new URL(text).pathname;
  } catch {
    return fallback;
  }
}

/**
 * Reads the file. Returns the parsed document plus the `[demo]` settings (file paths
 * resolved against the file's directory).
 */
async function readDemoConfig(file) {
  const text = await readConfigText(file);
  const doc = parseIni(text, { file });
  const dir = path.dirname(file);
  const get = (section, key) => {
    const value = doc.get(section, key);
    return value === undefined || value === '' ? undefined : value;
  };
  const relative = (value) => (value === undefined ? undefined : path.resolve(dir, value));
  return {
    file,
    doc,
    get,
    demo: {
      port: portFrom(get('demo', 'port'), `[demo] port in ${file}`),
      certFile: relative(get('demo', 'cert_file')),
      keyFile: relative(get('demo', 'key_file')),
    },
  };
}

/**
 * What the running local stack needs the file to say. `origin` is the demo's https origin,
 * `oxd` the local oxd server, `issuer` the local OP.
 */
function localEndpoints(config, { origin, transport, serverVersion, oxd, issuer, caFile }) {
  const { get } = config;
  const swapOrigin = (value, fallbackPath) => `${origin}${urlPath(value, fallbackPath)}`;
  const https = transport === 'https';
  const wanted = {
    oxd: {
      host: https ? oxdHttpsBase(oxd.httpsUrl, serverVersion) : oxd.host,
      https_extension: https ? 'true' : 'false',
      server_version: String(serverVersion),
    },
    client: {
      op_host: issuer,
      authorization_redirect_uri: swapOrigin(
        get('client', 'authorization_redirect_uri'),
        '/login_callback',
      ),
      post_logout_redirect_uri: swapOrigin(
        get('client', 'post_logout_redirect_uri'),
        '/post_logout',
      ),
      client_frontchannel_logout_uris: swapOrigin(
        get('client', 'client_frontchannel_logout_uris'),
        '/logout_callback',
      ),
    },
  };
  if (https) {
    wanted.oxd.ca_file = caFile;
  } else {
    wanted.oxd.port = String(oxd.port);
  }
  return wanted;
}

/** oxd 4.x REST lives at the root of the local oxd's HTTPS server, the 3.x envelope under /v3. */
function oxdHttpsBase(httpsUrl, serverVersion) {
  const base = httpsUrl.replace(/\/+$/, '');
  return serverVersion === 4 ? base : `${base}/v3`;
}

const TRUE = /^(true|yes|1|on)$/i;

/**
 * How a key's current text compares: booleans by meaning, and an absent key as its default,
 * so a file that leaves `https_extension` or `server_version` out is not rewritten.
 */
const COMPARE = {
  'oxd.https_extension': (text) => String(TRUE.test(text ?? '')),
  'oxd.server_version': (text) => (text === undefined || text === '' ? '3' : text),
};

function sameValue(section, key, current, wanted) {
  const normalise = COMPARE[`${section}.${key}`] ?? ((text) => text ?? '');
  return normalise(current) === normalise(wanted);
}

async function writeAtomically(file, text) {
  const { mode } = await stat(file);
  const temp = `${file}.${process.pid}.demo.tmp`;
  await writeFile(temp, text, { mode });
  await rename(temp, file);
}

/**
 * Sets the `wanted` values in the file. When a registration-bound value changes, the stored
 * registration results are cleared too, so the demo registers again. Returns the changes
 * (`{section, key, from, to}`) and whether the registration was cleared; writes nothing
 * when the file already matches.
 */
async function applyEndpoints(file, wanted) {
  const doc = parseIni(await readConfigText(file), { file });
  const changes = [];
  for (const [section, values] of Object.entries(wanted)) {
    for (const [key, to] of Object.entries(values)) {
      const current = doc.get(section, key);
      if (sameValue(section, key, current, to)) continue;
      doc.set(section, key, to);
      changes.push({ section, key, from: current ?? '', to });
    }
  }
  const stale = changes.some(({ section, key }) => REGISTRATION_BOUND.has(`${section}.${key}`));
  const clearedRegistration = stale && clearKeys(doc);
  if (changes.length > 0) await writeAtomically(file, doc.toString());
  return { changes, clearedRegistration };
}

function clearKeys(doc) {
  let cleared = false;
  for (const [section, key] of REGISTRATION_KEYS) {
    const current = doc.get(section, key);
    if (current === undefined || current === '') continue;
    doc.set(section, key, '');
    cleared = true;
  }
  return cleared;
}

/** Clears the stored registration results; returns whether there was anything to clear. */
async function clearRegistration(file) {
  const doc = parseIni(await readConfigText(file), { file });
  const cleared = clearKeys(doc);
  if (cleared) await writeAtomically(file, doc.toString());
  return cleared;
}

module.exports = {
  readDemoConfig,
  localEndpoints,
  applyEndpoints,
  clearRegistration,
  urlPort,
};
