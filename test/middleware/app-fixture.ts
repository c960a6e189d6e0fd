/**
 * The same small application built on Express 5, Express 4 and Connect: express-session
 * (MemoryStore), `oxdAuth()`, a public page, pages behind `requireAuth()` and claim checks,
 * an API route, and `oxdErrorHandler()`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:net';
import connect from 'connect';
import express5 from 'express';
import session from 'express-session';
import {
  claimCheck,
  claimEquals,
  claimIncludes,
  oxdErrorHandler,
  requireAuth,
  type OxdAuthHandler,
} from '../../src';
import type { OxdIncomingMessage } from '../../src/session';

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const express4 = require('express4') as typeof express5;

export const FRAMEWORKS = ['express5', 'express4', 'connect'] as const;
export type Framework = (typeof FRAMEWORKS)[number];

type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;
type Next = (err?: unknown) => void;

export interface AppOptions {
  /** Mount oxdAuth under this path (`app.use(mount, auth)`). */
  mount?: string;
  /** Leave the session middleware out. */
  withoutSession?: boolean;
  /** The session store; default a fresh MemoryStore. */
  store?: session.Store;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', typeof body === 'string' ? 'text/plain' : 'application/json');
  res.end(text);
}

const pages: Record<string, Handler> = {
  '/': (req, res) => {
    const oxd = (req as OxdIncomingMessage).oxd;
    send(res, 200, oxd?.isAuthenticated() ? `home, logged in as ${String(oxd.user?.sub)}` : 'home');
  },
  '/profile': (req, res) => {
    const oxd = (req as OxdIncomingMessage).oxd;
    const tokens = oxd?.tokens;
    send(res, 200, {
      user: oxd?.user,
      idTokenClaims: oxd?.idTokenClaims,
      expiresAt: tokens?.expiresAt,
      expired: tokens?.isExpired(),
      hasRefreshToken: tokens?.refreshToken !== undefined,
    });
  },
  '/admin': (_req, res) => send(res, 200, 'admin area'),
  '/own': (_req, res) => send(res, 200, 'own area'),
  '/verified': (_req, res) => send(res, 200, 'verified area'),
  '/api/me': (req, res) => send(res, 200, { sub: (req as OxdIncomingMessage).oxd?.user?.sub }),
  '/userinfo': async (req, res) => {
    const claims = await (req as OxdIncomingMessage).oxd?.fetchUserInfo();
    send(res, 200, claims);
  },
  '/app-logout': async (req) => {
    const query = new URL(req.url ?? '/', 'http://x').searchParams;
    await (req as OxdIncomingMessage).oxd?.logout({
      ...(query.has('returnTo') ? { returnTo: query.get('returnTo') as string } : {}),
      ...(query.has('idpLogout') ? { idpLogout: query.get('idpLogout') === 'true' } : {}),
      ...(query.has('logoutParams')
        ? { logoutParams: JSON.parse(query.get('logoutParams') as string) }
        : {}),
    });
  },
  '/start-params': async (req) => {
    await (req as OxdIncomingMessage).oxd?.login({
      loginHint: 'john',
      maxAge: 0,
      uiLocales: ['de'],
      params: { campaign: 'spring' },
    });
  },
  '/start': async (req, res) => {
    await (req as OxdIncomingMessage).oxd?.login({ returnTo: '/profile', prompt: 'login' });
    void res;
  },
};

/** Which guard protects which page. */
const guards: Record<string, (req: IncomingMessage, res: ServerResponse, next: Next) => void> = {
  '/profile': requireAuth(),
  '/admin': claimEquals('preferred_username', 'admin'),
  '/own': claimIncludes('preferred_username', 'jane'),
  '/verified': claimCheck((claims) => claims.email_verified === true),
  '/api/me': requireAuth(),
  '/userinfo': requireAuth(),
};

/** Wraps an async page so a rejection reaches `next` under every framework. */
function page(handler: Handler) {
  return (req: IncomingMessage, res: ServerResponse, next: Next): void => {
    Promise.resolve()
      .then(() => handler(req, res))
      .catch(next);
  };
}

/**
 * A request handler (for supertest) of the test application. With `mount`, oxdAuth and the
 * pages form a sub-application mounted under that path (the session stays at the root).
 */
export function buildApp(
  framework: Framework,
  auth: OxdAuthHandler,
  options: AppOptions = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  const sessionMiddleware = session({
    secret: 'test secret, not used anywhere else',
    resave: false,
    saveUninitialized: false,
    store: options.store ?? new session.MemoryStore(),
  });
  if (framework === 'connect') {
    const inner = connect();
    inner.use(auth);
    for (const [path, handler] of Object.entries(pages)) {
      const guard = guards[path];
      // Connect matches prefixes; keep each page to its exact path.
      inner.use((req: IncomingMessage, res: ServerResponse, next: Next) => {
        const pathname = (req.url ?? '/').split('?')[0];
        if (pathname !== path) return next();
        const run = (): void => page(handler)(req, res, next);
        if (guard) guard(req, res, (err?: unknown) => (err ? next(err) : run()));
        else run();
      });
    }
    const outer = connect();
    if (!options.withoutSession) outer.use(sessionMiddleware as connect.NextHandleFunction);
    outer.use(options.mount ?? '/', inner);
    outer.use(oxdErrorHandler());
    return outer;
  }
  const create = framework === 'express5' ? express5 : express4;
  const inner = create();
  inner.use(auth);
  for (const [path, handler] of Object.entries(pages)) {
    const guard = guards[path];
    if (guard) inner.get(path, guard, page(handler));
    else inner.get(path, page(handler));
  }
  const outer = create();
  if (!options.withoutSession) outer.use(sessionMiddleware);
  outer.use(options.mount ?? '/', inner);
  outer.use(oxdErrorHandler());
  return outer;
}

/**
 * A TCP server that accepts and immediately drops every connection, counting them: an
 * "oxd server" that proves whether anything tried to talk to oxd.
 */
export async function startSentinel(): Promise<{
  port: number;
  connections: () => number;
  close: () => Promise<void>;
}> {
  let count = 0;
  const server: Server = createServer((socket) => {
    count += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    port: address.port,
    connections: () => count,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
