#!/usr/bin/env node
/**
 * `express-oxd`: commands for deploying a site.
 *
 *   express-oxd register <config> [--json]
 *
 * `register` makes the configuration file hold a registration oxd knows: without `[oxd] id`
 * it registers the site (`register_site`, or `setup_client` on 3.x with protected commands)
 * and writes the results back into the file, under the same lock the running middleware
 * uses; with an id it asks oxd whether it knows the site (`get_rp`, else a command that
 * needs the site) and changes nothing; an id without the client credentials a protection token
 * needs is refused (registering would replace it). A container can then ship the file read-only.
 * Exit codes: 0 done, 1 failed (the message says why), 2 bad usage.
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { oxdClientFor } from './client-from-config';
import { needsWriteBack, resolveConfig } from './config/resolve';
import type { OxdConfig } from './config/types';
import { ERROR_CODES, errorMessage, OxdCommandError, OxdConfigError, OxdError } from './errors';
import type { OxdClient } from './oxd/client';

const USAGE = `Usage:
  express-oxd register <config> [--json]
      register the site of the INI configuration file with oxd and write the oxd id and
      client credentials into the file (into its [client] secrets_file when it names one,
      owner-only); when it already has [oxd] id, check that oxd knows that site (nothing
      is written; an id without the client_id and client_secret a protection token needs
      is refused)
Options:
  --json   print one JSON line: {"action":"registered"|"verified","oxdId":"…","file":"…"},
           or on failure {"action":"failed","code":"OXD_…","message":"…","file":"…"}
           (the message also goes to stderr)
  --help   show this text`;

class UsageError extends Error {}

interface Command {
  file: string;
  json: boolean;
}

function parseCli(argv: string[]): Command | undefined {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: { json: { type: 'boolean' }, help: { type: 'boolean' } },
  });
  if (values.help) return undefined;
  const [command, file, ...extra] = positionals;
  if (command !== 'register') {
    throw new UsageError(
      command === undefined ? 'no command given' : `unknown command ${JSON.stringify(command)}`,
    );
  }
  if (file === undefined) throw new UsageError('register needs the configuration file');
  if (extra.length > 0) throw new UsageError(`unexpected ${JSON.stringify(extra.join(' '))}`);
  return { file, json: values.json ?? false };
}

/** Checks that oxd knows the site; throws `OxdCommandError` (`invalid_oxd_id`) if not. */
async function verify(client: OxdClient): Promise<void> {
  try {
    await client.getRp({});
  } catch (error) {
    // 3.1.4's https-extension has no get_rp: a command that needs the site does as well.
    if (!(error instanceof OxdCommandError) || error.error === 'invalid_oxd_id') throw error;
    await client.getAuthorizationUrl({});
  }
}

/**
 * An id without the client credentials a protection token needs (oxd 4.x, or 3.x with
 * protected commands): oxd cannot be asked about that site, and registering would replace
 * the id, which the file's owner did not ask for. Refused, before any oxd call.
 */
function refuseIdWithoutCredentials(config: OxdConfig): void {
  if (config.oxd.oxdId === undefined || !needsWriteBack(config)) return;
  throw new OxdConfigError(
    `${config.file} has [oxd] id ${config.oxd.oxdId} but no [client] client_id and ` +
      'client_secret, which this oxd needs to obtain a protection token for the site. Nothing ' +
      'was registered or written: add the client_id and client_secret of that site to the ' +
      'file, or remove [oxd] id to register the site anew',
    { key: 'oxd.id', ...(config.file === undefined ? {} : { file: config.file }) },
  );
}

async function register(command: Command): Promise<string> {
  const config = resolveConfig(command.file);
  refuseIdWithoutCredentials(config);
  const client = oxdClientFor(config);
  try {
    const action = config.oxd.oxdId === undefined ? 'registered' : 'verified';
    if (action === 'verified') await verify(client);
    const oxdId = await client.register();
    return command.json
      ? JSON.stringify({ action, oxdId, file: config.file })
      : `${action} ${config.file}: oxd id ${oxdId}`;
  } finally {
    await client.close();
  }
}

/** What went wrong, for a command-line user: `{ code, message }`. */
function explain(error: unknown, file: string): { code: string | undefined; message: string } {
  const code = error instanceof OxdError ? error.code : undefined;
  if (error instanceof OxdCommandError && error.error === 'invalid_oxd_id') {
    return {
      code,
      message:
        `oxd does not know the site of ${file} (its [oxd] id): remove [oxd] id from the file ` +
        'and run express-oxd register again to register the site anew',
    };
  }
  if (
    error instanceof OxdConfigError &&
    error.code === ERROR_CODES.CONFIG_READ_FAILED &&
    error.cause instanceof Error
  ) {
    // The library's message also suggests passing the settings as an object, which a
    // command line cannot do.
    return {
      code,
      message:
        `cannot read the configuration file ${error.file ?? file} (${error.cause.message}); ` +
        'check the path (a relative path starts at the current directory)',
    };
  }
  return { code, message: errorMessage(error) };
}

async function main(): Promise<void> {
  let command: Command | undefined;
  try {
    command = parseCli(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`express-oxd: ${(error as Error).message}\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  if (!command) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  try {
    process.stdout.write(`${await register(command)}\n`);
  } catch (error) {
    const { code, message } = explain(error, command.file);
    process.stderr.write(
      `express-oxd register: ${code === undefined ? '' : `${code}: `}${message}\n`,
    );
    if (command.json) {
      const file = path.resolve(command.file);
      process.stdout.write(
        `${JSON.stringify({ action: 'failed', code: code ?? null, message, file })}\n`,
      );
    }
    process.exitCode = 1;
  }
}

void main();
