/**
 * `startLocalOxd()`: a local oxd server doing real OpenID Connect against one OP. By default
 * one process serves the oxd 3.x socket protocol and, over HTTPS, both the oxd 4.x REST
 * protocol (root paths) and the oxd-https-extension 3.x envelope (under `/v3/`). With
 * `oxdVersion` it reproduces one release line and serves only that line's transports
 * (see ./profiles).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { debuglog } from 'node:util';
import { type Certificate, createSelfSignedCertificate } from '../op/certificate';
import { type ClaimsPolicy, UmaAuthorizationServer } from '../uma';
import type { Services } from './call';
import { createHttpsHandler } from './https-server';
import { handlesReleased, listen } from '../listen';
import { OpClient } from './op-client';
import { PendingLogins } from './pending-logins';
import { type OxdVersion, profileOf } from './profiles';
import { CommandProcessor } from './processor';
import { RegistrationStore } from './registration-store';
import { RequestObjectStore } from './request-objects';
import { type RunningSocketServer, startSocketServer } from './socket-server';

const debug = debuglog('express-oxd');

/** Defaults of {@link LocalOxdOptions}. */
export const LOCAL_OXD_DEFAULTS = {
  host: '127.0.0.1',
  /** oxd 3.x's socket port. */
  port: 8099,
  /** oxd's HTTPS port. */
  httpsPort: 8443,
  /** oxd's `state_expiration_in_minutes` (5). */
  stateTtlSeconds: 300,
  /** oxd 3.x does not protect socket commands by default. */
  protectSocket: false,
  /** oxd 4.x does (`protect_commands_with_access_token: true` in its yml). */
  protectHttps: true,
} as const;

/** Path of the UMA claims-gathering page on the HTTPS server. */
export const CLAIMS_GATHERING_PATH = '/uma/claims-gathering';

export interface LocalOxdOptions {
  /** Issuer URL of the OP this server works with (e.g. `startLocalOp().issuer`). */
  opIssuer: string;
  /** PEM certificate(s) to trust for the OP's HTTPS. */
  opCa: string;
  /** Interface to listen on. Default `127.0.0.1`. */
  host?: string;
  /** Socket port. Default 8099; `0` picks a free port. */
  port?: number;
  /** HTTPS port. Default 8443; `0` picks a free port. */
  httpsPort?: number;
  /**
   * Directory for `registrations.json` (sites and UMA resources survive a restart).
   * Default: a fresh temporary directory, removed by `close()`.
   */
  dataDir?: string;
  /**
   * Whether commands need a protection/access token. `true`/`false` set both; `socket` is
   * oxd-server 3.x's `protect_commands_with_access_token` (the socket and the
   * https-extension's `/v3/` in front of it: stock `oxd-conf.json` ships false), `https` is
   * oxd 4.x's (its yml ships true). The extension itself always wants a Bearer header.
   */
  protectCommands?: boolean | { socket?: boolean; https?: boolean };
  /** TLS key and certificate of the HTTPS server. Default: a fresh self-signed one. */
  certificate?: Certificate;
  /** How long a state of get_authorization_url stays usable. Default 300. */
  stateTtlSeconds?: number;
  /** Claims the UMA authorization server requires per scope (need_info). Default: none. */
  umaClaimsPolicy?: ClaimsPolicy;
  /**
   * The oxd release line to reproduce: `3.1.3` or `3.1.4` (socket and `/v3/` only), `4.1` or
   * `4.2` (4.x REST only). Default: every transport, the 3.x ones as 3.1.4 and the 4.x REST
   * routes as 4.2.
   */
  oxdVersion?: OxdVersion;
}

/** A running local oxd server. */
export interface LocalOxd {
  /** Socket host. */
  readonly host: string;
  /** Socket port; `0` when the profile has no socket (4.x). */
  readonly port: number;
  /** The chosen profile (`undefined`: the default). */
  readonly oxdVersion: OxdVersion | undefined;
  /** HTTPS base URL, `https://127.0.0.1:<port>` (3.x envelope under `/v3/`). */
  readonly httpsUrl: string;
  /** PEM certificate to trust for `httpsUrl`. */
  readonly ca: string;
  /** Where registrations are kept. */
  readonly dataDir: string;
  /** Stops both servers and releases every handle. Idempotent. */
  close(): Promise<void>;
}

function checkPort(name: string, value: unknown): number {
  if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > 65535) {
    throw new TypeError(
      `startLocalOxd: ${name} must be an integer from 0 to 65535, got ${String(value)}`,
    );
  }
  return value as number;
}

function protectionOf(option: LocalOxdOptions['protectCommands']): {
  socket: boolean;
  https: boolean;
} {
  if (typeof option === 'boolean') return { socket: option, https: option };
  return {
    socket: option?.socket ?? LOCAL_OXD_DEFAULTS.protectSocket,
    https: option?.https ?? LOCAL_OXD_DEFAULTS.protectHttps,
  };
}

/**
 * Starts a local oxd server for the OP at `options.opIssuer`: the oxd 3.x socket protocol and,
 * over HTTPS, the oxd 4.x REST API and the oxd-https-extension 3.x envelope (or only the
 * transports of `options.oxdVersion`'s release line), with a UMA authorization server.
 * Listens on 127.0.0.1 (ports 8099 and 8443 unless told otherwise); registrations are kept in
 * `options.dataDir`, or in a temporary directory that `close()` removes.
 */
export async function startLocalOxd(options: LocalOxdOptions): Promise<LocalOxd> {
  let issuer: URL;
  try {
    issuer = new URL(options?.opIssuer);
  } catch {
    throw new TypeError(
      `startLocalOxd: opIssuer must be the OP's https URL, got ${String(options?.opIssuer)}`,
    );
  }
  if (issuer.protocol !== 'https:') {
    throw new TypeError(`startLocalOxd: opIssuer must be an https URL, got ${options.opIssuer}`);
  }
  if (typeof options.opCa !== 'string' || !options.opCa.includes('BEGIN CERTIFICATE')) {
    throw new TypeError(
      'startLocalOxd: opCa must be the PEM certificate of the OP (startLocalOp().ca)',
    );
  }
  const host = options.host ?? LOCAL_OXD_DEFAULTS.host;
  const port = checkPort('port', options.port ?? LOCAL_OXD_DEFAULTS.port);
  const httpsPort = checkPort('httpsPort', options.httpsPort ?? LOCAL_OXD_DEFAULTS.httpsPort);
  const stateTtl = options.stateTtlSeconds ?? LOCAL_OXD_DEFAULTS.stateTtlSeconds;
  if (!Number.isInteger(stateTtl) || stateTtl < 1) {
    throw new TypeError(
      `startLocalOxd: stateTtlSeconds must be a whole number of seconds, got ${String(stateTtl)}`,
    );
  }
  const protect = protectionOf(options.protectCommands);
  let profile;
  try {
    profile = profileOf(options.oxdVersion);
  } catch (err) {
    throw new TypeError(`startLocalOxd: ${(err as Error).message}`);
  }

  const ownDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(tmpdir(), 'express-oxd-local-')));
  const cleanups: (() => Promise<void>)[] = [];
  const cleanUp = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    cleanups.length = 0;
    if (ownDataDir) await rm(dataDir, { recursive: true, force: true });
    await handlesReleased();
  };

  try {
    const store = await RegistrationStore.open(dataDir);
    cleanups.push(() => store.flush());
    const certificate = options.certificate ?? (await createSelfSignedCertificate());
    const op = new OpClient(options.opIssuer, options.opCa);
    cleanups.push(() => op.close());

    const httpsServer = createServer({ key: certificate.key, cert: certificate.cert });
    await listen(httpsServer, httpsPort, host);
    cleanups.push(
      () =>
        new Promise<void>((resolve, reject) => {
          httpsServer.close((err) => (err ? reject(err) : resolve()));
          httpsServer.closeAllConnections();
        }),
    );
    const httpsUrl = `https://${host}:${(httpsServer.address() as AddressInfo).port}`;

    const uma = new UmaAuthorizationServer({
      asUri: httpsUrl,
      claimsGatheringEndpoint: httpsUrl + CLAIMS_GATHERING_PATH,
      ...(options.umaClaimsPolicy ? { claimsPolicy: options.umaClaimsPolicy } : {}),
      // Claims marked signed_in_user are checked against the user signed in at this OP.
      op,
    });
    if (store.savedUmaState !== undefined) uma.fromJSON(store.savedUmaState);
    store.setUmaSnapshot(() => uma.toJSON());

    const services: Services = {
      op,
      store,
      logins: new PendingLogins(stateTtl * 1000),
      uma,
      requestObjects: new RequestObjectStore(),
      profile,
      siteRpts: new Map(),
    };
    const processor = new CommandProcessor(services);
    httpsServer.on(
      'request',
      createHttpsHandler({
        processor,
        protect: protect.https,
        protectV3: protect.socket,
        profile,
        requestObjects: services.requestObjects,
        claimsGathering: (req, res) => uma.handleClaimsGathering(req, res),
      }),
    );

    // oxd 4.x has no socket.
    let socketServer: RunningSocketServer | undefined;
    if (profile.v3 !== undefined) {
      const started = await startSocketServer(host, port, { processor, protect: protect.socket });
      socketServer = started;
      cleanups.push(() => started.close());
    }

    debug(
      'local oxd %s: socket %s:%d, https %s',
      profile.version ?? 'default',
      host,
      socketServer?.port ?? 0,
      httpsUrl,
    );
    let closing: Promise<void> | undefined;
    return Object.freeze({
      host,
      port: socketServer?.port ?? 0,
      oxdVersion: profile.version,
      httpsUrl,
      ca: certificate.cert,
      dataDir,
      close: () => (closing ??= cleanUp()),
    });
  } catch (err) {
    await cleanUp();
    throw err;
  }
}
