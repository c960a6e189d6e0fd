/**
 * The files `express-oxd-local` keeps or writes: the oxd HTTPS certificate in its data
 * directory, the app's development certificate, and the app's configuration file.
 */
import { X509Certificate } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import * as path from 'node:path';
import { type Certificate, createSelfSignedCertificate } from './op/certificate';
import type { LocalOxd } from './oxd/local-oxd';

const OXD_KEY_FILE = 'oxd-key.pem';
export const OXD_CA_FILE = 'oxd-ca.pem';
/** A kept certificate is replaced when it expires within this time. */
const RENEW_BEFORE_MS = 24 * 60 * 60 * 1000;

/**
 * The oxd HTTPS certificate kept in the data directory, so that a configured `ca_file`
 * stays valid across restarts; a new one is made when there is none or it expires soon.
 */
export async function oxdCertificate(dataDir: string): Promise<Certificate> {
  const keyFile = path.join(dataDir, OXD_KEY_FILE);
  const certFile = path.join(dataDir, OXD_CA_FILE);
  try {
    const [key, cert] = await Promise.all([readFile(keyFile, 'utf8'), readFile(certFile, 'utf8')]);
    if (Date.parse(new X509Certificate(cert).validTo) - Date.now() > RENEW_BEFORE_MS) {
      return { key, cert };
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const created = await createSelfSignedCertificate();
  await writeFile(keyFile, created.key, { mode: 0o600 });
  await writeFile(certFile, created.cert);
  return created;
}

/**
 * The app's development certificate in `dir` (dev-cert.pem, dev-key.pem), for the app URL's
 * host plus localhost and 127.0.0.1; kept while it is valid for that host.
 */
export async function devCertificate(
  dir: string,
  appUrl: URL,
): Promise<{ certFile: string; keyFile: string }> {
  const certFile = path.join(dir, 'dev-cert.pem');
  const keyFile = path.join(dir, 'dev-key.pem');
  const host = appUrl.hostname.replace(/^\[|\]$/g, '');
  try {
    const [cert] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
    const x509 = new X509Certificate(cert);
    if (
      Date.parse(x509.validTo) - Date.now() > RENEW_BEFORE_MS &&
      (x509.checkHost(host) !== undefined || x509.checkIP(host) !== undefined)
    ) {
      return { certFile, keyFile };
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const created = await createSelfSignedCertificate({
    commonName: host,
    altIps: [...new Set(['127.0.0.1', ...(isIP(host) ? [host] : [])])],
    altNames: [...new Set(['localhost', ...(isIP(host) ? [] : [host])])],
    validDays: 90,
  });
  await mkdir(dir, { recursive: true });
  await writeFile(keyFile, created.key, { mode: 0o600 });
  await writeFile(certFile, created.cert);
  return { certFile, keyFile };
}

/**
 * A complete express-oxd configuration for an app at `appUrl`: the oxd socket when the
 * server has one, else (the 4.x profiles) its REST routes over HTTPS, trusting the oxd
 * certificate kept in `dataDir`.
 */
export function configFor(
  appUrl: URL,
  oxd: Pick<LocalOxd, 'host' | 'port' | 'httpsUrl' | 'dataDir'>,
  opIssuer: string,
  clientName: string,
): string[] {
  const base = appUrl.href.replace(/\/+$/, '');
  const transport =
    oxd.port === 0
      ? [
          'https_extension = true',
          `host = ${oxd.httpsUrl}`,
          'server_version = 4',
          `ca_file = ${path.join(oxd.dataDir, OXD_CA_FILE)}`,
        ]
      : [`host = ${oxd.host}`, `port = ${oxd.port}`];
  return [
    '[oxd]',
    ...transport,
    '[client]',
    `op_host = ${opIssuer}`,
    `authorization_redirect_uri = ${base}/callback`,
    `post_logout_redirect_uri = ${base}/`,
    `client_name = ${clientName}`,
    'scope = openid,profile,email',
  ];
}

/** Writes the configuration file through a temp file and a rename: never half written. */
export async function writeConfigFile(
  file: string,
  lines: string[],
  dataDir: string,
): Promise<void> {
  const text = [
    '# express-oxd configuration for the local OpenID Provider and oxd server started by',
    `# express-oxd-local (data in ${dataDir}). Written at each start; the app writes its`,
    '# registration ([oxd] id) back here on the first login.',
    ...lines,
    '',
  ].join('\n');
  const temp = `${file}.${process.pid}.tmp`;
  try {
    await writeFile(temp, text, { mode: 0o600 });
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw new Error(`cannot write the configuration to ${file}: ${(err as Error).message}`);
  }
}
