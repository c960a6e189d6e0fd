/**
 * The files `express-oxd-local` writes for the app: its development certificate and its
 * configuration file (what it keeps in its data directory: ./cli-data).
 */
import { X509Certificate } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import * as path from 'node:path';
import { withConfigLock } from '../config/write-back';
import { CERT_FILE, RENEW_BEFORE_MS, type SavedRegistration } from './cli-data';
import { createSelfSignedCertificate } from './op/certificate';
import type { LocalOxd } from './oxd/local-oxd';

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
 * certificate kept in its data directory.
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
          `ca_file = ${path.join(oxd.dataDir, CERT_FILE)}`,
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

/** `lines` (from {@link configFor}) with the registration results of `kept` added. */
function withRegistration(lines: string[], kept: SavedRegistration | undefined): string[] {
  const id = kept?.oxd?.id;
  const client = Object.entries(kept?.client ?? {}).filter(
    (entry): entry is [string, string] => entry[1] !== undefined,
  );
  const out: string[] = [];
  for (const line of lines) {
    if (line === '[client]' && id !== undefined) out.push(`id = ${id}`);
    out.push(line);
  }
  return [...out, ...client.map(([name, value]) => `${name} = ${value}`)];
}

/**
 * Writes the configuration file through a temp file and a rename (never half written), under
 * the lock the app's write-back takes. The registration the app wrote back into the file
 * before is kept when `keep` returns it (the servers still know it), so that a restart of the
 * local stack does not make a running app, or its next start, register again.
 */
export async function writeConfigFile(
  file: string,
  lines: string[],
  dataDir: string,
  keep: (saved: SavedRegistration) => Promise<SavedRegistration | undefined>,
): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`;
  try {
    await withConfigLock(file, async (locked) => {
      // A file that cannot be read is replaced all the same, as it always is.
      const saved = await locked.read().catch((): SavedRegistration => ({}));
      const text = [
        '# express-oxd configuration for the local OpenID Provider and oxd server started by',
        `# express-oxd-local (data in ${dataDir}). Written at each start; the app writes its`,
        '# registration ([oxd] id, client id and secret) back here on the first login, and it is',
        '# kept at the next start while the data directory still knows it.',
        ...withRegistration(lines, await keep(saved)),
        '',
      ].join('\n');
      await writeFile(temp, text, { mode: 0o600 });
      await rename(temp, file);
    });
  } catch (err) {
    await rm(temp, { force: true });
    throw new Error(`cannot write the configuration to ${file}: ${(err as Error).message}`);
  }
}
