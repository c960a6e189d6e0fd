'use strict';
/**
 * Bench helpers: the local stack and the OP login (the same code the tests use, from the
 * built `express-oxd/testing` in dist/), a small cookie-carrying HTTP client for the apps,
 * and statistics. Everything talks to 127.0.0.1 only.
 */
const { createServer } = require('node:net');
const { Agent, request } = require('undici');
const { submitOpLogin } = require('../dist/testing/op-login');
const { startStackProcesses } = require('../dist/testing/stack-processes');

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

/** The local OP and a local oxd server (commands not token-protected) on free ports. */
function startStack() {
  return startStackProcesses({ protectCommands: false, dataDirPrefix: 'express-oxd-bench-' });
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

/**
 * Signs `user` in at the OP from `authorizationUrl` (the package's scripted OP login, over
 * `opAgent`) and returns the URL the OP sends the browser back to, without fetching it.
 */
async function opLogin(authorizationUrl, user, opAgent) {
  return (await submitOpLogin(authorizationUrl, user, opAgent)).href;
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
  Jar,
  fetchOnce,
  freePort,
  median,
  opAgentFor,
  opLogin,
  quantile,
  registerOpClient,
  startStack,
};
