'use strict';
/**
 * TLS key and certificate for the demo site: the files named in `[demo] cert_file` /
 * `key_file` (or DEMO_CERT_FILE / DEMO_KEY_FILE) when given, otherwise a self-signed
 * development certificate that is created on first start in `demo-app/.certs/` and
 * reused while it is valid for the demo's host.
 */
const { X509Certificate, createPrivateKey } = require('node:crypto');
const { mkdir, readFile, rename, writeFile } = require('node:fs/promises');
const { isIP } = require('node:net');
const path = require('node:path');

const DEFAULT_CERT_DIR = path.join(__dirname, '.certs');
/** A stored certificate closer than this to its expiry is replaced. */
const RENEW_BEFORE_MS = 24 * 60 * 60 * 1000;
const VALID_DAYS = 90;

async function readPem(file, what) {
  try {
    return await readFile(file, 'utf8');
  } catch (cause) {
    throw new Error(`Cannot read the demo's TLS ${what} ${file}: ${cause.message}`, { cause });
  }
}

/** Whether `cert` is a parseable certificate for `key`, valid for `hosts` for a while yet. */
function isUsable(cert, key, hosts) {
  let x509;
  try {
    x509 = new X509Certificate(cert);
    if (!x509.checkPrivateKey(createPrivateKey(key))) return false;
  } catch {
    return false;
  }
  if (Date.parse(x509.validTo) - Date.now() < RENEW_BEFORE_MS) return false;
  return hosts.every((host) => (isIP(host) ? x509.checkIP(host) : x509.checkHost(host)));
}

async function readIfPresent(file) {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  }
}

async function writeAtomically(file, text, mode) {
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, text, { mode });
  await rename(temp, file);
}

/**
 * Returns `{ key, cert, certFile, keyFile, configured, generated }`: PEM strings, the
 * paths they came from, whether they were configured, and whether they were just created.
 * A generated certificate is stored as `<certDir>/<name>-cert.pem` and `<name>-key.pem`,
 * and covers 127.0.0.1, localhost and `hosts`.
 */
async function loadTlsCredentials({
  certFile,
  keyFile,
  certDir = DEFAULT_CERT_DIR,
  hosts = [],
  name = 'demo',
}) {
  if (certFile || keyFile) {
    if (!certFile || !keyFile) {
      throw new Error(
        'The demo needs both a certificate and a key: set [demo] cert_file and key_file ' +
          '(or DEMO_CERT_FILE and DEMO_KEY_FILE), or neither to use a generated development certificate.',
      );
    }
    const [cert, key] = await Promise.all([
      readPem(certFile, 'certificate'),
      readPem(keyFile, 'key'),
    ]);
    return { cert, key, certFile, keyFile, configured: true, generated: false };
  }

  const wanted = [...new Set(['127.0.0.1', 'localhost', ...hosts])];
  const devCertFile = path.join(certDir, `${name}-cert.pem`);
  const devKeyFile = path.join(certDir, `${name}-key.pem`);
  const [cert, key] = await Promise.all([readIfPresent(devCertFile), readIfPresent(devKeyFile)]);
  if (cert && key && isUsable(cert, key, wanted)) {
    return {
      cert,
      key,
      certFile: devCertFile,
      keyFile: devKeyFile,
      configured: false,
      generated: false,
    };
  }

  const { createSelfSignedCertificate } = require('express-oxd/testing');
  const fresh = await createSelfSignedCertificate({
    commonName: `express-oxd ${name}`,
    altIps: wanted.filter((host) => isIP(host)),
    altNames: wanted.filter((host) => !isIP(host)),
    validDays: VALID_DAYS,
  });
  await mkdir(certDir, { recursive: true, mode: 0o700 });
  await writeAtomically(devKeyFile, fresh.key, 0o600);
  await writeAtomically(devCertFile, fresh.cert, 0o644);
  return {
    ...fresh,
    certFile: devCertFile,
    keyFile: devKeyFile,
    configured: false,
    generated: true,
  };
}

module.exports = { loadTlsCredentials, DEFAULT_CERT_DIR };
