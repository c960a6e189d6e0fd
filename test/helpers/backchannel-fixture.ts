/**
 * Helpers for back-channel logout tests against the local stack: the app on a real
 * 127.0.0.1 socket with a back-channel route, the route's URI registered at the local OP
 * (RFC 7592, with the registration access token the local oxd keeps in its data directory,
 * so it works on every oxd release), and the logout tokens the OP sends, caught on their way
 * to the app so a test can deliver them as it needs (through a body parser, twice, while the
 * store fails, …).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import session from 'express-session';
import { Agent as UndiciAgent, request as undiciRequest } from 'undici';
import { oxdAuth, type OxdAuthHandler } from '../../src';
import type { OxdAuthOptions } from '../../src/middleware/options';
import { resolveConfig } from '../../src/config/resolve';
import { OxdClient } from '../../src/oxd/client';
import { OXD_DIR } from '../../src/testing/cli-data';
import { followOpLogout, type OpCookieJar } from '../../src/testing/op-login';
import { REGISTRATIONS_FILE } from '../../src/testing/oxd/registration-store';
import { buildApp, type Framework } from '../fixtures/apps';
import {
  configFor,
  countingTransport,
  type CountingTransport,
  type LocalStack,
  type TransportName,
} from './stack-fixture';
import { capturingLogger, type CapturingLogger } from './capture-logger';

/** The site the local oxd keeps for `oxdId` (registration access token and URI included). */
async function siteOf(stack: LocalStack, oxdId: string): Promise<Record<string, string>> {
  const path = join(stack.dataDir, OXD_DIR, REGISTRATIONS_FILE);
  const file = JSON.parse(await readFile(path, 'utf8')) as {
    sites: Record<string, Record<string, string>>;
  };
  const site = file.sites[oxdId];
  if (!site) throw new Error(`the local oxd has no site ${oxdId}`);
  return site;
}

/** Adds `uri` as the client's back-channel logout URI at the OP (RFC 7592 `PUT`). */
export async function registerBackchannelUri(
  stack: LocalStack,
  oxdId: string,
  uri: string,
  sessionRequired = true,
): Promise<void> {
  const site = await siteOf(stack, oxdId);
  const registration = site.client_registration_client_uri as string;
  const token = site.client_registration_access_token as string;
  const dispatcher = new UndiciAgent({ connect: { ca: stack.op.ca } });
  try {
    const current = await undiciRequest(registration, {
      headers: { authorization: `Bearer ${token}` },
      dispatcher,
    });
    const metadata = (await current.body.json()) as Record<string, unknown>;
    for (const key of [
      'registration_access_token',
      'registration_client_uri',
      'client_id_issued_at',
      'client_secret_expires_at',
    ]) {
      delete metadata[key];
    }
    const updated = await undiciRequest(registration, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        ...metadata,
        backchannel_logout_uri: uri,
        backchannel_logout_session_required: sessionRequired,
      }),
      dispatcher,
    });
    const text = await updated.body.text();
    if (updated.statusCode !== 200) throw new Error(`OP refused the update: ${text}`);
  } finally {
    await dispatcher.close();
  }
}

/** The OP's end-session endpoint, from its discovery document. */
export async function endSessionEndpoint(stack: LocalStack): Promise<string> {
  const dispatcher = new UndiciAgent({ connect: { ca: stack.op.ca } });
  try {
    const reply = await undiciRequest(`${stack.op.issuer}/.well-known/openid-configuration`, {
      dispatcher,
    });
    return ((await reply.body.json()) as { end_session_endpoint: string }).end_session_endpoint;
  } finally {
    await dispatcher.close();
  }
}

/** One logged-in session in a store: its id and its login's `sid` and `sub`. */
export interface StoredLoginRef {
  id: string;
  sid: string | undefined;
  sub: string | undefined;
}

/** The sessions of `store` holding a login under `key` (default `oxd`). */
export function loginsIn(store: session.MemoryStore, key = 'oxd'): Promise<StoredLoginRef[]> {
  return new Promise((resolve, reject) =>
    store.all((err, all) => {
      if (err) return reject(err);
      const found: StoredLoginRef[] = [];
      for (const [id, data] of Object.entries(all ?? {})) {
        const login = (data as unknown as Record<string, unknown>)[key] as
          { tokens?: { id_token?: string } } | undefined;
        const idToken = login?.tokens?.id_token;
        if (!idToken) continue;
        const claims = JSON.parse(
          Buffer.from(idToken.split('.')[1] ?? '', 'base64url').toString('utf8'),
        ) as { sid?: string; sub?: string };
        found.push({ id, sid: claims.sid, sub: claims.sub });
      }
      resolve(found);
    }),
  );
}

export type Middleware = (
  req: IncomingMessage,
  res: ServerResponse,
  next: (err?: unknown) => void,
) => void;

export interface BackchannelAppOptions {
  framework?: Framework;
  transport?: TransportName;
  store?: session.Store;
  /** Mounted before `oxdAuth()` (a body parser, say). */
  before?: Middleware;
  /** More `oxdAuth()` options. */
  options?: Partial<OxdAuthOptions>;
  /** Builds the app around the handler instead of the standard test app. */
  app?: (
    auth: OxdAuthHandler,
    store: session.Store,
  ) => (req: IncomingMessage, res: ServerResponse) => void;
  /** Register `backchannel_logout_session_required: false`: the OP's tokens carry no `sid`. */
  subOnly?: boolean;
  /** Wraps the counting transport (fault injection). */
  wrapTransport?: (
    inner: CountingTransport,
  ) => import('../../src/oxd/transport').Transport | CountingTransport;
}

export interface BackchannelApp {
  server: Server;
  base: string;
  store: session.Store;
  client: OxdClient;
  counter: CountingTransport;
  handler: OxdAuthHandler;
  /** What the middleware logged (its `logger`, unless the options give one). */
  logger: CapturingLogger;
  /**
   * Signs the browser of `jar` out at the OP and resolves with the logout token the OP sent:
   * meanwhile the OP's POSTs to the route are answered 200 without reaching the app.
   */
  signOutAtOp(jar: OpCookieJar): Promise<string>;
  close(): Promise<void>;
}

/** The test app with `routes.backchannelLogout: '/backchannel-logout'` on a real socket. */
export async function startBackchannelApp(
  stack: LocalStack,
  options: BackchannelAppOptions = {},
): Promise<BackchannelApp> {
  const transport = options.transport ?? 'https4';
  const base = configFor(stack, transport);
  const config = {
    ...base,
    client: { ...base.client, opCaFile: stack.opCaFile },
  };
  const counter = countingTransport(stack, transport);
  const client = new OxdClient(resolveConfig(config), {
    transport: options.wrapTransport ? options.wrapTransport(counter) : counter,
    writeBack: false,
  });
  const store = options.store ?? new session.MemoryStore();
  const logger = capturingLogger();
  const auth = oxdAuth({
    config,
    client,
    logger,
    ...options.options,
    routes: { backchannelLogout: '/backchannel-logout', ...options.options?.routes },
  });
  const before = options.before;
  const handler = (
    before
      ? Object.assign(
          (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) =>
            before(req, res, (err) => (err ? next(err) : auth(req, res, next))),
          { client: auth.client },
        )
      : auth
  ) as OxdAuthHandler;
  const app = options.app
    ? options.app(handler, store)
    : buildApp(options.framework ?? 'express5', handler, { store });
  const caught: string[] = [];
  let catching = false;
  const server = createServer((req, res) => {
    if (!catching || req.method !== 'POST' || req.url !== '/backchannel-logout') {
      app(req, res);
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const token = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      caught.push(token.get('logout_token') ?? '');
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await client.register();
  const oxdId = client.oxdId as string;
  await registerBackchannelUri(stack, oxdId, `${url}/backchannel-logout`, !options.subOnly);
  const endSession = await endSessionEndpoint(stack);
  const result: BackchannelApp = {
    logger,
    server,
    base: url,
    store,
    client,
    counter,
    handler: auth,
    async signOutAtOp(jar) {
      const before = caught.length;
      catching = true;
      try {
        await followOpLogout(endSession, stack.op.ca, jar);
        for (let i = 0; i < 100 && caught.length === before; i += 1) {
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      } finally {
        catching = false;
      }
      const token = caught[before];
      if (token === undefined) throw new Error('the OP sent no logout token');
      return token;
    },
    async close() {
      await client.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return result;
}
