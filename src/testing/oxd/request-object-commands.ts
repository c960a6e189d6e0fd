/**
 * The get_request_uri command (oxd 4.x): signs a request object with the site's settings and the
 * caller's claims, keeps it in the {@link RequestObjectStore} and answers its URL.
 */
import { randomBytes } from 'node:crypto';
import { siteOf, type Handler } from './call';
import { CommandFailure } from './failure';
import { isHttpUrl } from './params';
import { ALGORITHMS, REQUEST_OBJECT_PATH, REQUEST_OBJECT_TTL_S } from './request-objects';

/**
 * get_request_uri: claims response_type, redirect_uri and scope from the site, then the
 * caller's `params`, then client_id, iss (the client_id), aud (the OP issuer), iat, exp, jti.
 */
export const getRequestUri: Handler = async (call, services) => {
  const site = siteOf(call);
  const { params } = call;
  const hostUrl = params.string('oxd_host_url');
  if (hostUrl === undefined || !isHttpUrl(hostUrl)) {
    throw new CommandFailure(
      'bad_request_no_oxd_host',
      hostUrl === undefined
        ? "'oxd_host_url' is empty or not specified; give the https URL the OP reaches this oxd server at."
        : `'oxd_host_url' ${hostUrl} is not an http(s) URL; give the https URL the OP reaches this oxd server at.`,
    );
  }
  const requested =
    params.string('request_object_signing_alg') ??
    (typeof site.metadata.request_object_signing_alg === 'string'
      ? site.metadata.request_object_signing_alg
      : undefined);
  const alg = requested ?? 'RS256';
  if (!ALGORITHMS.includes(alg)) {
    throw new CommandFailure(
      'invalid_algorithm',
      `request_object_signing_alg ${alg} is not supported here; use RS256 or none.`,
      { httpStatus: 400 },
    );
  }
  const issuer = (await services.op.discovery(site.op_host)).issuer;
  const now = Math.floor(Date.now() / 1000);
  const claims: Record<string, unknown> = {
    response_type: site.response_types.join(' '),
    redirect_uri: site.redirect_uris[0],
    scope: site.scope.join(' '),
    ...params.stringMap('params'),
    client_id: site.client_id,
    iss: site.client_id,
    aud: issuer,
    iat: now,
    exp: now + REQUEST_OBJECT_TTL_S,
    jti: randomBytes(16).toString('base64url'),
  };
  const id = await services.requestObjects.create(claims, alg);
  return { request_uri: hostUrl.replace(/\/+$/, '') + REQUEST_OBJECT_PATH + id };
};
