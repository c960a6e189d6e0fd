/**
 * The data directory of `express-oxd-local`: where it is by default, and what it keeps there.
 *
 *   <data-dir>/local-op/   cert.pem, key.pem            the OP's HTTPS certificate
 *                          clients.json, signing-keys.json   its clients and ID token keys
 *   <data-dir>/local-oxd/  cert.pem, key.pem            the oxd server's HTTPS certificate
 *                          registrations.json           its sites (oxd ids) and UMA state
 *
 * Every file lies in one of these two folders, named for this command, so that the directory
 * can be shared with other tools (the demo's `.local-oxd/` keeps `op/`, `oxd/` and
 * `*-cert.pem` / `*-key.pem` at its top) without one overwriting the other's files.
 */
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import * as path from 'node:path';
import { type Certificate, createSelfSignedCertificate } from './op/certificate';
import { REGISTRATIONS_FILE } from './oxd/registration-store';

/** The OP's folder in the data directory. */
export const OP_DIR = 'local-op';
/** The oxd server's folder in the data directory. */
export const OXD_DIR = 'local-oxd';
/** In each folder: the server's certificate (the CA file to trust) and its key. */
export const CERT_FILE = 'cert.pem';
const KEY_FILE = 'key.pem';
/** The OP's clients, as {@link OpDataDir} keeps them. */
const OP_CLIENTS_FILE = 'clients.json';
const CACHE_NAME = 'express-oxd-local';
/** A kept certificate is replaced when it expires within this time. */
export const RENEW_BEFORE_MS = 24 * 60 * 60 * 1000;

/** Paths of the files and folders in `dataDir`. */
export function dataLayout(dataDir: string) {
  const op = path.join(dataDir, OP_DIR);
  const oxd = path.join(dataDir, OXD_DIR);
  return {
    op,
    oxd,
    opCaFile: path.join(op, CERT_FILE),
    oxdCaFile: path.join(oxd, CERT_FILE),
    opClients: path.join(op, OP_CLIENTS_FILE),
    registrations: path.join(oxd, REGISTRATIONS_FILE),
  };
}

/**
 * The default data directory: `node_modules/.cache/express-oxd-local` of the project around
 * `cwd` (the nearest folder with a package.json), so that each project keeps its own; outside
 * any project, the user's cache folder (`$XDG_CACHE_HOME` or `~/.cache`, `%LOCALAPPDATA%` on
 * Windows).
 */
export function defaultDataDir(
  cwd: string = process.cwd(),
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): string {
  for (let dir = path.resolve(cwd); ;) {
    if (existsSync(path.join(dir, 'package.json'))) {
      return path.join(dir, 'node_modules', '.cache', CACHE_NAME);
    }
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  const cache =
    platform === 'win32'
      ? env.LOCALAPPDATA || path.join(homedir(), 'AppData', 'Local')
      : env.XDG_CACHE_HOME || path.join(homedir(), '.cache');
  return path.join(cache, CACHE_NAME);
}

/**
 * A server certificate kept in `dir` (cert.pem, key.pem), so that a configured `ca_file` and
 * a browser's exception stay valid across restarts; a new one is made when there is none or
 * it expires within a day.
 */
export async function keptCertificate(dir: string): Promise<Certificate> {
  const keyFile = path.join(dir, KEY_FILE);
  const certFile = path.join(dir, CERT_FILE);
  try {
    const [key, cert] = await Promise.all([readFile(keyFile, 'utf8'), readFile(certFile, 'utf8')]);
    if (Date.parse(new X509Certificate(cert).validTo) - Date.now() > RENEW_BEFORE_MS) {
      return { key, cert };
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const created = await createSelfSignedCertificate();
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFile(keyFile, created.key, { mode: 0o600 });
  await writeFile(certFile, created.cert);
  return created;
}

/** The registration results an app wrote into its configuration file. */
export interface SavedRegistration {
  oxd?: { id?: string | undefined };
  client?: Record<string, string | undefined>;
}

/**
 * The registration in `saved` when the data directory still knows it: the oxd server has a
 * site with that oxd id for `opIssuer` (and the same client id), and, when `checkOp`, the OP
 * still has that client. Else undefined: the app registers again on its next login.
 * The protection token is left out: the OP forgets its tokens when it stops.
 */
export async function registrationStillKnown(
  dataDir: string,
  saved: SavedRegistration,
  opIssuer: string,
  checkOp: boolean,
): Promise<SavedRegistration | undefined> {
  const id = saved.oxd?.id;
  if (id === undefined) return undefined;
  const layout = dataLayout(dataDir);
  const stored = await readJson<{
    sites?: Record<string, { op_host?: string; client_id?: string }>;
  }>(layout.registrations);
  const site = stored?.sites?.[id];
  const sameIssuer = (a: string | undefined) =>
    a !== undefined && a.replace(/\/+$/, '') === opIssuer.replace(/\/+$/, '');
  if (site === undefined || !sameIssuer(site.op_host) || site.client_id === undefined) {
    return undefined;
  }
  const clientId = saved.client?.client_id;
  if (clientId !== undefined && clientId !== site.client_id) return undefined;
  if (checkOp) {
    const clients = await readJson<{ entries?: { key?: string }[] }>(layout.opClients);
    const key = `Client:${site.client_id}`;
    if (!clients?.entries?.some((entry) => entry.key === key)) return undefined;
  }
  const client: Record<string, string> = {};
  for (const [name, value] of Object.entries(saved.client ?? {})) {
    if (value !== undefined && name !== 'protection_access_token') client[name] = value;
  }
  return { oxd: { id }, client };
}

/** The JSON in `file`, or undefined when it is missing or not JSON. */
async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || err instanceof SyntaxError) {
      return undefined;
    }
    throw err;
  }
}
