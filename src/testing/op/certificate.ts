/** PEM key and certificate for a local HTTPS server. */
export interface Certificate {
  /** PKCS#8 private key, PEM. */
  key: string;
  /** Self-signed X.509 certificate, PEM. Clients trust it by passing it as `ca`. */
  cert: string;
}

export interface CertificateOptions {
  /** Subject common name. Default `express-oxd local`. */
  commonName?: string;
  /** IP addresses the certificate is valid for. Default `['127.0.0.1']`. */
  altIps?: readonly string[];
  /** DNS names the certificate is valid for. Default `['localhost']`. */
  altNames?: readonly string[];
  /** Validity in days, counted from now. Default 30. */
  validDays?: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** Backdating the start absorbs small clock differences between processes and hosts. */
const BACKDATE_MS = 5 * 60 * 1000;

/**
 * Creates a fresh self-signed server certificate (EC P-256, SHA-256) for `127.0.0.1` and
 * `localhost`. Needs the optional peer dependency `selfsigned`.
 */
export async function createSelfSignedCertificate(
  options: CertificateOptions = {},
): Promise<Certificate> {
  const {
    commonName = 'express-oxd local',
    altIps = ['127.0.0.1'],
    altNames = ['localhost'],
    validDays = 30,
  } = options;
  if (altIps.length === 0 && altNames.length === 0) {
    throw new TypeError(
      'createSelfSignedCertificate needs at least one entry in altIps or altNames',
    );
  }
  if (!Number.isFinite(validDays) || validDays <= 0) {
    throw new TypeError(
      `createSelfSignedCertificate: validDays must be a positive number, got ${validDays}`,
    );
  }
  const { generate } = await loadSelfsigned();
  const now = Date.now();
  const pems = await generate([{ name: 'commonName', value: commonName }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(now - BACKDATE_MS),
    notAfterDate: new Date(now + validDays * DAY_MS),
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyAgreement: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          ...altNames.map((value) => ({ type: 2 as const, value })),
          ...altIps.map((ip) => ({ type: 7 as const, ip })),
        ],
      },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}

async function loadSelfsigned(): Promise<typeof import('selfsigned')> {
  try {
    return await import('selfsigned');
  } catch (cause) {
    throw new Error(
      'The local HTTPS servers need the optional package "selfsigned" (npm install --save-dev selfsigned@5).',
      { cause },
    );
  }
}
