/**
 * OP information commands (4.x): get_jwks, get_discovery and issuer_discovery. The local
 * OP has no WebFinger endpoint, so issuer_discovery answers the WebFinger document the
 * OP would publish: the served issuer for any `acct:` or https resource.
 */
import type { Handler } from './call';
import { CommandFailure } from './failure';

const ISSUER_REL = 'http://openid.net/specs/connect/1.0/issuer';

export const getJwks: Handler = async (call, services) => {
  const opHost = services.op.resolveOpHost(call.params.raw);
  return { keys: (await services.op.jwks(opHost)).keys };
};

export const getDiscovery: Handler = async (call, services) => {
  const opHost = services.op.resolveOpHost(call.params.raw);
  return { ...(await services.op.discovery(opHost)) };
};

export const issuerDiscovery: Handler = async (call, services) => {
  const resource = call.params.string('resource');
  if (!resource) {
    throw new CommandFailure('bad_request_no_resource', "'resource' is empty or not specified.", {
      httpStatus: 400,
    });
  }
  if (!/^acct:[^@\s]+@[^@\s]+$/.test(resource) && !/^https:\/\/\S+$/.test(resource)) {
    throw new CommandFailure(
      'failed_to_get_issuer',
      `resource ${resource} is neither an acct: URI nor an https URL.`,
    );
  }
  const opHost = services.op.resolveOpHost(call.params.raw);
  const { issuer } = await services.op.discovery(opHost);
  return { subject: resource, links: [{ rel: ISSUER_REL, href: issuer }] };
};
