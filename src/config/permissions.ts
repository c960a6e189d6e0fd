/**
 * Who may read a configuration file that holds secrets (`client_secret`, the registration
 * access token, the protection token). Write-back makes such a file owner-only; reading one
 * that the group or others can read warns (once per file), without refusing it: read-only
 * mounts such as Kubernetes Secret volumes are 0644 by default.
 */
import { statSync } from 'node:fs';
import type { Logger } from '../logger';

/** INI keys of `[client]` whose values are secrets. */
export const SECRET_KEYS: readonly string[] = Object.freeze([
  'client_secret',
  'client_registration_access_token',
  'protection_access_token',
]);

/** Mode bits of the group and others. */
const OTHERS = 0o077;

const warned = new Set<string>();

function once(file: string, what: string): boolean {
  const key = `${what}:${file}`;
  if (warned.has(key)) return false;
  warned.add(key);
  return true;
}

function octal(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, '0')}`;
}

/** Whether `mode` lets the group or others read or write. */
export function isWide(mode: number): boolean {
  return process.platform !== 'win32' && (mode & OTHERS) !== 0;
}

/** The owner's bits of `mode` only. */
export function ownerOnly(mode: number): number {
  return mode & 0o7700;
}

/** Warns once when `file`, which holds secrets, can be read by the group or others. */
export function warnIfReadable(file: string, logger: Logger): void {
  let mode: number;
  try {
    mode = statSync(file).mode;
  } catch {
    return; // it was just read; a file gone meanwhile has nothing to say
  }
  if (!isWide(mode) || !once(file, 'read')) return;
  logger.warn(
    `express-oxd: ${file} holds secrets (client secret or tokens) and can be read by other ` +
      `users (mode ${octal(mode)}); make it owner-only (chmod 600), or keep the secrets in ` +
      'environment variables or a secrets_file',
    { file, mode: octal(mode) },
  );
}

/** Logs once that write-back made `file` owner-only as it wrote a secret into it. */
export function reportTightened(file: string, from: number, logger: Logger): void {
  if (!once(file, 'write')) return;
  logger.warn(
    `express-oxd: wrote secrets into ${file}, which other users could read (mode ` +
      `${octal(from)}); it is owner-only now (mode ${octal(ownerOnly(from))})`,
    { file, mode: octal(ownerOnly(from)), previousMode: octal(from) },
  );
}
