/**
 * The issuer the configured OP speaks as: what a callback's `iss` (RFC 9207) and a
 * back-channel `logout_token`'s `iss` must name.
 */
import type { OxdRuntime } from './runtime';

const DISCOVERY_SUFFIX = '/.well-known/openid-configuration';

/** An issuer without its trailing `/`, if any (`https://op/` → `https://op`). */
export function trimIssuer(value: string): string {
  return value.endsWith('/') ? value.slice(0, -1) : value;
}

/** True when `a` and `b` name the same issuer (`https://op/` and `https://op` do). */
export function sameIssuer(a: string, b: string): boolean {
  return trimIssuer(a) === trimIssuer(b);
}

/**
 * The configured OP's issuer: `op_host`, else the location of its discovery document
 * (`op_configuration_endpoint` less `/.well-known/openid-configuration`); `undefined` when
 * neither says.
 */
export function expectedIssuer(runtime: Pick<OxdRuntime, 'config'>): string | undefined {
  const { opHost, opConfigurationEndpoint } = runtime.config.client;
  if (opHost) return opHost;
  if (opConfigurationEndpoint?.endsWith(DISCOVERY_SUFFIX)) {
    return opConfigurationEndpoint.slice(0, -DISCOVERY_SUFFIX.length);
  }
  return undefined;
}
