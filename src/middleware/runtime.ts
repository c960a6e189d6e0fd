/**
 * What one `oxdAuth()` instance shares between its requests: the resolved options and a
 * table of token refreshes in flight.
 */
import { type OxdSessionTokens } from '../session/login';
import { registerSessionKeys, type OxdIncomingMessage } from '../session/store';
import type { ResolvedOptions } from './options';

export interface OxdRuntime extends ResolvedOptions {
  /**
   * Refreshes in flight, keyed by session id, so concurrent requests of one session share a
   * single `get_access_token_by_refresh_token` call. An entry lives only while its call is
   * pending; nothing about a login stays in memory (sessions may live in a shared store).
   */
  readonly refreshes: Map<string, Promise<OxdSessionTokens>>;
  /** oxd 4.x takes the state and nonce from the client; 3.x makes its own. */
  readonly clientChoosesState: boolean;
  /** oxd 3.x sends every claim value as a list of strings; 4.x sends the OP's JSON. */
  readonly claimsAsLists: boolean;
  /**
   * Builds `req.oxd` (an `OxdContext`) for a request this runtime attached: what the
   * `req.oxd` getter shared by every copy of the package calls.
   */
  readonly contextOf: (req: OxdIncomingMessage) => object | undefined;
}

export function createRuntime(
  options: ResolvedOptions,
  contextOf: (req: OxdIncomingMessage) => object | undefined,
): OxdRuntime {
  const version = options.client.serverVersion ?? options.config.oxd.serverVersion;
  registerSessionKeys(options.sessionKey, options.loginsKey);
  return Object.freeze({
    ...options,
    refreshes: new Map<string, Promise<OxdSessionTokens>>(),
    clientChoosesState: version === 4,
    claimsAsLists: version !== 4,
    contextOf,
  });
}
