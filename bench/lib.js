'use strict';
/**
 * Bench helpers: the local stack (local OP and local oxd server as child processes of the
 * built CLI), a scripted browser for the OP's login form, a small cookie-carrying HTTP
 * client for the apps, and statistics. Everything talks to 127.0.0.1 only.
 */
const { spawn } = require('node:child_process');
const { mkdtempSync, rmSync, writeFileSync } = require('node:fs');
const { createServer } = require('node:net');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { URLSearchParams } = require('node:url');
const { Agent, request } = require('undici');

const ROOT = join(__dirname, '..');
const CLI = join(ROOT, 'dist', 'testing', 'cli.js');

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Spawns the CLI and resolves with the JSON line it prints once ready. */
function startCli(args) {
  const child = spawn(process.execPath, [CLI, ...args, '--json', '--until-stdin-closes'], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`express-oxd-local ${args[0]} did not start within 60 s\n${err}`));
    }, 60_000);
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const end = out.indexOf('\n');
      if (end === -1) return;
      clearTimeout(timer);
      resolve({ child, ready: JSON.parse(out.slice(0, end)) });
    });
    child.stderr.on('data', (chunk) => {
      err += chunk;
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`express-oxd-local ${args[0]} exited (${code})\n${err}`));
    });
  });
}

function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.stdin.end();
    child.kill('SIGTERM');
  });
}

/** The local OP and a local oxd server (commands not token-protected) on free ports. */
async function startStack() {
  const dataDir = mkdtempSync(join(tmpdir(), 'express-oxd-bench-'));
  const op = await startCli(['op', '--op-port', '0', '--data-dir', dataDir]);
  const opCaFile = join(dataDir, 'bench-op-ca.pem');
  writeFileSync(opCaFile, op.ready.op.ca);
  let oxd;
  try {
    const [port, httpsPort] = [await freePort(), await freePort()];
    oxd = await startCli([
      'oxd',
      '--op-issuer',
      op.ready.op.issuer,
      '--op-ca-file',
      opCaFile,
      '--data-dir',
      dataDir,
      '--port',
      String(port),
      '--https-port',
      String(httpsPort),
      '--no-protect',
    ]);
  } catch (err) {
    await stopChild(op.child);
    throw err;
  }
  return {
    op: op.ready.op,
    oxd: oxd.ready.oxd,
    opCaFile,
    pids: [op.child.pid, oxd.child.pid],
    async close() {
      await Promise.all([stopChild(oxd.child), stopChild(op.child)]);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Cookies by name (one origin, one path: enough for the apps and the OP here). */
class Jar {
  constructor() {
    this.cookies = new Map();
  }
  store(setCookie) {
    for (const header of setCookie === undefined ? [] : [setCookie].flat()) {
      const pair = header.split(';')[0];
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = /expires=Thu, 01 Jan 1970/i.test(header) || /max-age=0\b/i.test(header);
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
  header() {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ') || undefined;
  }
}

/** GET or POST one URL (no redirects followed); returns status, location, body text. */
async function fetchOnce(url, { jar, agent, method = 'GET', form, accept = 'text/html' } = {}) {
  const headers = { accept };
  const cookie = jar?.header();
  if (cookie) headers.cookie = cookie;
  if (form) headers['content-type'] = 'application/x-www-form-urlencoded';
  const response = await request(url, {
    method,
    headers,
    body: form?.toString(),
    ...(agent ? { dispatcher: agent } : {}),
  });
  jar?.store(response.headers['set-cookie']);
  const body = await response.body.text();
  const location = response.headers.location;
  return {
    status: response.statusCode,
    location: typeof location === 'string' ? new URL(location, url).href : undefined,
    body,
  };
}

function attribute(tag, name) {
  return new RegExp(`\\b${name}="([^"]*)"`).exec(tag)?.[1];
}

/**
 * Signs `user` in at the OP from `authorizationUrl` and returns the URL the OP sends the
 * browser back to (the RP's callback), without fetching it.
 */
async function opLogin(authorizationUrl, user, opAgent, opJar = new Jar()) {
  const origin = new URL(authorizationUrl).origin;
  let answer = await fetchOnce(authorizationUrl, { jar: opJar, agent: opAgent });
  let url = authorizationUrl;
  for (let hops = 0; ; hops += 1) {
    if (hops > 20) throw new Error('too many redirects at the OP');
    if (answer.location !== undefined) {
      if (new URL(answer.location).origin !== origin) return answer.location;
      url = answer.location;
      answer = await fetchOnce(url, { jar: opJar, agent: opAgent });
      continue;
    }
    const form = /<form\b([^>]*\bid="login-form"[^>]*)>([\s\S]*?)<\/form>/i.exec(answer.body);
    if (!form) throw new Error(`the OP showed no login form (HTTP ${answer.status} at ${url})`);
    const fields = new URLSearchParams();
    for (const input of form[2].matchAll(/<input\b([^>]*)>/gi)) {
      if (attribute(input[1], 'type') === 'hidden') {
        fields.append(attribute(input[1], 'name'), attribute(input[1], 'value') ?? '');
      }
    }
    fields.set('username', user.username);
    fields.set('password', user.password);
    url = new URL(attribute(form[1], 'action') ?? '', url).href;
    answer = await fetchOnce(url, { jar: opJar, agent: opAgent, method: 'POST', form: fields });
  }
}

/** Registers a code-flow client at the local OP (for express-openid-connect). */
async function registerOpClient(op, opAgent, redirectUri) {
  const discovery = await request(`${op.issuer}/.well-known/openid-configuration`, {
    dispatcher: opAgent,
  });
  const { registration_endpoint: endpoint } = await discovery.body.json();
  const answer = await request(endpoint, {
    method: 'POST',
    dispatcher: opAgent,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      redirect_uris: [redirectUri],
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }),
  });
  const client = await answer.body.json();
  if (answer.statusCode !== 201) throw new Error(`client registration: ${JSON.stringify(client)}`);
  return client;
}

function opAgentFor(op) {
  return new Agent({ connect: { ca: op.ca } });
}

/** Value at quantile `q` (0..1) of a numeric array (sorted copy, nearest rank). */
function quantile(values, q) {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

function median(values) {
  return quantile(values, 0.5);
}

module.exports = {
  ROOT,
  Jar,
  fetchOnce,
  freePort,
  median,
  opAgentFor,
  opLogin,
  quantile,
  registerOpClient,
  startStack,
  stopChild,
};
