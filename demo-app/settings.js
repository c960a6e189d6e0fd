'use strict';
/**
 * Reads the demo's configuration file (demosite.cfg, tracked in git and never written) and
 * keeps the working copy the demo actually runs with in its data directory (git-ignored):
 * the file's settings, the `[oxd]` and `[client]` endpoint lines of the servers actually
 * started (local stack), and the registration results express-oxd writes back. A stored
 * registration is carried from one start to the next while the endpoints it was made for
 * stay the same.
 */
const { mkdir, readFile, rename, rm, writeFile, stat } = require('node:fs/promises');
const path = require('node:path');
const { parseIni } = require('express-oxd/config');

/**
 * Keys holding registration results: their section, their name in the INI file and in a
 * resolved configuration. They are cleared when the registration no longer fits; the private
 * album's second site is given the site's configuration without them.
 */
const REGISTRATION_KEYS = [
  { section: 'oxd', ini: 'id', name: 'oxdId' },
  { section: 'oxd', ini: 'oxd_id', name: 'oxdId' },
  { section: 'client', ini: 'client_id', name: 'clientId' },
  { section: 'client', ini: 'client_secret', name: 'clientSecret' },
  {
    section: 'client',
    ini: 'client_registration_access_token',
    name: 'clientRegistrationAccessToken',
  },
  { section: 'client', ini: 'client_registration_client_uri', name: 'clientRegistrationClientUri' },
  { section: 'client', ini: 'protection_access_token', name: 'protectionAccessToken' },
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

/** Keys whose values must match for a stored registration to be reused. */
const REUSE_BOUND = [...REGISTRATION_BOUND, 'oxd.host', 'oxd.port'].map((id) => id.split('.'));

function workingCopyHeader(templateFile) {
  return [
    `# Working copy of ${templateFile}, written by npm run demo at each start:`,
    '# that file plus the addresses of the servers started and the registration results',
    '# (oxd id, client) written back after registering. Edit the original, not this copy.',
    '',
  ].join('\n');
}

/**
 * Writes the working copy `workingFile`: the template's settings, with `wanted` endpoint
 * values set, a relative `[oxd] ca_file` made absolute, and the registration results of the
 * previous working copy when they still fit (same transport, oxd server, OP and redirect
 * URIs, and no registration given in the template itself). Returns
 * `{ changes, reused, dropped }`: the endpoint lines that differ from the template, whether a
 * stored registration was carried over, and whether one was dropped because it no longer fits.
 */
async function writeWorkingCopy(templateFile, workingFile, wanted = {}) {
  if (path.resolve(templateFile) === path.resolve(workingFile)) {
    throw new Error(
      `The demo configuration ${templateFile} lies where the demo keeps its working copy; ` +
        'move it, or choose another --data-dir.',
    );
  }
  const doc = parseIni(await readConfigText(templateFile), { file: templateFile });
  const caFile = doc.get('oxd', 'ca_file');
  if (caFile && !path.isAbsolute(caFile)) {
    doc.set('oxd', 'ca_file', path.resolve(path.dirname(templateFile), caFile));
  }
  const changes = [];
  for (const [section, values] of Object.entries(wanted)) {
    for (const [key, to] of Object.entries(values)) {
      const current = doc.get(section, key);
      if (sameValue(section, key, current, to)) continue;
      doc.set(section, key, to);
      changes.push({ section, key, from: current ?? '', to });
    }
  }

  let previous;
  try {
    previous = parseIni(await readFile(workingFile, 'utf8'), { file: workingFile });
  } catch (error) {
    if (error.code !== 'ENOENT') throw error;
  }
  const stored = (config, section, key) => {
    const value = config.get(section, key);
    return value === undefined || value === '' ? undefined : value;
  };
  let reused = false;
  let dropped = false;
  const givenInTemplate = REGISTRATION_KEYS.some(({ section, ini: key }) =>
    stored(doc, section, key),
  );
  if (previous && !givenInTemplate) {
    const hasStored = REGISTRATION_KEYS.some(({ section, ini: key }) =>
      stored(previous, section, key),
    );
    const fits = REUSE_BOUND.every(([section, key]) =>
      sameValue(section, key, previous.get(section, key), doc.get(section, key)),
    );
    if (hasStored && fits) {
      for (const { section, ini: key } of REGISTRATION_KEYS) {
        const value = stored(previous, section, key);
        if (value !== undefined) doc.set(section, key, value);
      }
      reused = true;
    } else if (hasStored) {
      dropped = true;
    }
  }

  await mkdir(path.dirname(workingFile), { recursive: true });
  const temp = `${workingFile}.${process.pid}.demo.tmp`;
  try {
    // It will hold client credentials: readable by the owner only.
    await writeFile(temp, workingCopyHeader(templateFile) + doc.toString(), { mode: 0o600 });
    await rename(temp, workingFile);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  return { changes, reused, dropped };
}

function clearKeys(doc) {
  let cleared = false;
  for (const { section, ini: key } of REGISTRATION_KEYS) {
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
  REGISTRATION_KEYS,
  readDemoConfig,
  writeWorkingCopy,
  localEndpoints,
  clearRegistration,
  urlPort,
};
