/**
 * A UMA resource server for the tests: an Express 5 app with `umaProtect()` mounted on `/api`,
 * listening on 127.0.0.1, plus a raw HTTP request helper that can send any bytes as the
 * Authorization header (non-ASCII, oversized) and scope constants shared by the tests.
 */
import { createServer, type Server } from 'node:http';
import express from 'express';
import type { UmaProtectHandler, UmaProtectedResource } from '../../src';
import { listenLocal } from '../helpers/listen';

export const VIEW = 'https://photoz.example/scopes/view';
export const ADD = 'https://photoz.example/scopes/add';
export const ALL = 'https://photoz.example/scopes/all';
export const INTERNAL = 'https://photoz.example/scopes/internal';
export const PRIVATE = 'https://photoz.example/scopes/private';
export const A = 'https://photoz.example/scopes/a';
export const B = 'https://photoz.example/scopes/b';
export const C = 'https://photoz.example/scopes/c';
export const JANE_EMAIL = 'jane.doe@example.com';

/** (A and not B) or C: `!` may not stand at the top, oxd refuses such a rule. */
export const A_NOT_B_OR_C = {
  rule: { or: [{ and: [{ var: 0 }, { '!': { var: 1 } }] }, { var: 2 }] },
  data: [A, B, C],
};
/** (all or add) and internal, the oxd documentation's example. */
export const ALL_OR_ADD_AND_INTERNAL = {
  rule: { and: [{ or: [{ var: 0 }, { var: 1 }] }, { var: 2 }] },
  data: [ALL, ADD, INTERNAL],
};

export const RESOURCES: UmaProtectedResource[] = [
  {
    path: '/photos',
    conditions: [
      { httpMethods: ['GET'], scopes: [VIEW] },
      { httpMethods: ['POST'], scopes: [ADD] },
    ],
  },
  { path: '/photos/:id', conditions: [{ httpMethods: ['GET'], scopes: [VIEW] }] },
  {
    // One method per scope set the ticket starts with, so each RPT holds exactly what a test wants.
    path: '/expr',
    conditions: [
      { httpMethods: ['GET', 'DELETE'], scope_expression: A_NOT_B_OR_C, ticketScopes: [A] },
      { httpMethods: ['PUT'], scope_expression: A_NOT_B_OR_C, ticketScopes: [B] },
      { httpMethods: ['POST'], scope_expression: A_NOT_B_OR_C, ticketScopes: [C] },
    ],
  },
  {
    path: '/admin',
    conditions: [
      { httpMethods: ['GET'], scope_expression: ALL_OR_ADD_AND_INTERNAL, ticketScopes: [ALL] },
      { httpMethods: ['POST'], scope_expression: ALL_OR_ADD_AND_INTERNAL, ticketScopes: [ADD] },
    ],
  },
  { path: '/private', conditions: [{ httpMethods: ['GET'], scopes: [PRIVATE] }] },
];

export interface ResourceServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** Starts the API behind `protect` on 127.0.0.1 (random port). */
export async function startResourceServer(protect: UmaProtectHandler): Promise<ResourceServer> {
  const app = express();
  app.use('/api', protect);
  app.get('/api/photos', (req, res) => {
    res.json({ photos: ['sunset.jpg', 'harbour.jpg'], resource: req.uma?.resource });
  });
  app.post('/api/photos', (req, res) => {
    res.status(201).json({ added: true, resource: req.uma?.resource });
  });
  app.get('/api/photos/:id', (req, res) => {
    res.json({ id: req.params.id, resource: req.uma?.resource });
  });
  app.all('/api/expr', (req, res) => res.json({ method: req.method }));
  app.all('/api/admin', (req, res) => res.json({ admin: true, method: req.method }));
  app.get('/api/private', (_req, res) => res.json({ private: 'jane-only photos' }));
  app.get('/api/open', (_req, res) => res.json({ open: true }));
  const server = createServer(app);
  return { server, ...(await listenLocal(server)) };
}

export { rawRequest, type RawAnswer } from '../helpers/raw-http';

/** Parses `UMA realm="rs",as_uri="…",error="…",ticket="…"` strictly, in oxd's layout. */
export function parseOxdChallenge(header: string | undefined): Record<string, string> {
  const match = /^UMA realm="([^"]*)",as_uri="([^"]*)",error="([^"]*)",ticket="([^"]*)"$/.exec(
    header ?? '',
  );
  if (!match) throw new Error(`not oxd's UMA challenge layout: ${header}`);
  return { realm: match[1]!, as_uri: match[2]!, error: match[3]!, ticket: match[4]! };
}
