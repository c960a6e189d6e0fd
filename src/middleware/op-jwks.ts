/**
 * Where back-channel logout takes the OP's signing keys from: oxd 4.x `get_jwks`; oxd 3.x has
 * no such command, so the middleware reads the OP's discovery document (`op_configuration_endpoint`,
 * else `op_host` + `op_discovery_path` or the well-known path) and its `jwks_uri` itself, over
 * HTTPS, trusting the system's CAs plus `op_ca_file`. Both ways are bounded in time and size.
 */
import { rootCertificates } from 'node:tls';
import type { OxdConfig } from '../config/types';
import { OxdConfigError } from '../errors';
import { undici } from '../lazy-undici';
import type { OxdRuntime } from './runtime';

/** Largest discovery document or key set read from the OP. */
const MAX_OP_DOCUMENT_BYTES = 256 * 1024;
/** How long one request to the OP (connect, headers, body) may take. */
const OP_REQUEST_TIMEOUT_MS = 10_000;
const WELL_KNOWN = '/.well-known/openid-configuration';

/** The OP's key set could not be obtained (oxd or the OP failing, or a fetch still under way). */
export class KeysUnavailableError extends Error {}

/** oxd 3.x: the keys come from the OP itself (4.x: from oxd `get_jwks`). */
export function keysFromDiscovery(runtime: OxdRuntime): boolean {
  const version = runtime.client.serverVersion ?? runtime.config.oxd.serverVersion;
  return version !== 4;
}

/** The URL of the OP's discovery document, or `undefined` when the configuration gives none. */
function discoveryUrl(config: OxdConfig): string | undefined {
  const { opConfigurationEndpoint, opHost, opDiscoveryPath } = config.client;
  if (opConfigurationEndpoint) return opConfigurationEndpoint;
  if (!opHost) return undefined;
  const path = opDiscoveryPath ? `/${opDiscoveryPath.replace(/^\/+/, '')}` : WELL_KNOWN;
  return `${opHost.replace(/\/+$/, '')}${path}`;
}

/**
 * At start-up, with a back-channel logout route: on oxd 3.x the OP's keys are fetched from
 * its discovery document, so its location must be configured.
 */
export function checkKeySource(runtime: OxdRuntime): void {
  if (!keysFromDiscovery(runtime) || discoveryUrl(runtime.config) !== undefined) return;
  throw new OxdConfigError(
    'routes.backchannelLogout needs the OP keys, which oxd 3.x cannot fetch: set [client] ' +
      'op_configuration_endpoint (the OP discovery document) or op_host, so the middleware ' +
      'reads them from the OP',
    { key: 'client.op_configuration_endpoint' },
  );
}

/** GETs a JSON object from the OP, bounded in time and size. */
async function getOpJson(url: string, ca: string | undefined): Promise<Record<string, unknown>> {
  if (!url.startsWith('https://')) throw new Error(`the OP URL ${url} is not https`);
  const { Agent, request } = undici();
  const dispatcher = new Agent({
    connect: { timeout: OP_REQUEST_TIMEOUT_MS, ...(ca ? { ca: [...rootCertificates, ca] } : {}) },
    headersTimeout: OP_REQUEST_TIMEOUT_MS,
    bodyTimeout: OP_REQUEST_TIMEOUT_MS,
  });
  const abort = AbortSignal.timeout(OP_REQUEST_TIMEOUT_MS);
  try {
    const reply = await request(url, {
      dispatcher,
      signal: abort,
      headers: { accept: 'application/json' },
    });
    if (reply.statusCode !== 200) {
      await reply.body.dump();
      throw new Error(`the OP answered ${reply.statusCode} for ${url}`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of reply.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_OP_DOCUMENT_BYTES) {
        reply.body.destroy();
        throw new Error(`the OP answer for ${url} is larger than ${MAX_OP_DOCUMENT_BYTES} bytes`);
      }
      chunks.push(chunk);
    }
    const value = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new Error(`the OP answer for ${url} is not a JSON object`);
    }
    return value as Record<string, unknown>;
  } finally {
    await dispatcher.destroy().catch(() => undefined);
  }
}

/** The OP's JWK set: from oxd `get_jwks` (4.x) or from the OP's discovery document (3.x). */
export async function fetchOpJwks(runtime: OxdRuntime): Promise<Record<string, unknown>[]> {
  const { opHost, opDiscoveryPath, opConfigurationEndpoint, opCa } = runtime.config.client;
  let keys: unknown;
  if (keysFromDiscovery(runtime)) {
    const location = discoveryUrl(runtime.config);
    if (location === undefined) throw new Error('no OP discovery document is configured');
    const jwksUri = (await getOpJson(location, opCa)).jwks_uri;
    if (typeof jwksUri !== 'string') {
      throw new Error(`the OP discovery document ${location} has no jwks_uri`);
    }
    keys = (await getOpJson(jwksUri, opCa)).keys;
  } else {
    const reply = await runtime.client.getJwks({
      ...(opHost ? { op_host: opHost } : {}),
      ...(opDiscoveryPath ? { op_discovery_path: opDiscoveryPath } : {}),
      ...(opConfigurationEndpoint ? { op_configuration_endpoint: opConfigurationEndpoint } : {}),
    });
    keys = reply.keys;
  }
  if (!Array.isArray(keys)) throw new Error('the OP key set has no keys list');
  return keys.filter(
    (key): key is Record<string, unknown> =>
      typeof key === 'object' && key !== null && !Array.isArray(key),
  );
}
