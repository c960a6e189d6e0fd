/**
 * Headless Chromium for browser tests: Debian's /usr/bin/chromium driven by playwright-core,
 * a fresh profile per launch, and certificate verification left on. Self-signed test
 * certificates are trusted one by one through their SPKI hashes.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { constants } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Where the browser lives; `CHROMIUM_PATH` overrides it. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface BrowserSession {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Closes the browser and deletes its profile directory. */
  close(): Promise<void>;
}

export interface LaunchOptions {
  /** PEM certificates (leaf or CA) whose keys the browser accepts although no root signed them. */
  trustedCertificates?: readonly string[];
}

/** Base64 SHA-256 of a certificate's SubjectPublicKeyInfo, as Chromium's SPKI list wants it. */
export function spkiHash(pem: string): string {
  const spki = new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

async function assertChromiumInstalled(): Promise<void> {
  try {
    await access(CHROMIUM_PATH, constants.X_OK);
  } catch {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM_PATH}. Run "bash scripts/setup-test-env.sh" ` +
        '(or apt-get install chromium), or point CHROMIUM_PATH at a Chromium binary.',
    );
  }
}

/**
 * Launches headless Chromium with a throw-away profile. Only the given certificates are
 * trusted on top of the system store; everything else is verified as usual.
 */
export async function launchBrowser(options: LaunchOptions = {}): Promise<BrowserSession> {
  await assertChromiumInstalled();
  const profile = await mkdtemp(join(tmpdir(), 'express-oxd-chromium-'));
  const hashes = (options.trustedCertificates ?? []).map(spkiHash);
  const args = [...CHROMIUM_FLAGS];
  if (hashes.length > 0) args.push(`--ignore-certificate-errors-spki-list=${hashes.join(',')}`);
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args,
      viewport: { width: 1100, height: 800 },
    });
  } catch (err) {
    await rm(profile, { recursive: true, force: true });
    throw err;
  }
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    async close() {
      try {
        await context.close();
      } finally {
        await rm(profile, { recursive: true, force: true });
      }
    },
  };
}
