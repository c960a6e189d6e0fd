import type { Provider, ProviderClient, ProviderContext } from './provider-types';
import { contentSecurityPolicy, renderFrontchannelLogoutPage } from './views';

/**
 * Front-Channel Logout 1.0 §3: a client registered with `frontchannel_logout_session_required`
 * gets the `sid` claim in its ID tokens, so it can match the `sid` of the logout request.
 * oidc-provider adds `sid` only for back-channel logout clients; this extends the check on
 * this provider's own Client class (each provider instance has its own).
 */
export function includeSidForFrontchannelClients(provider: Provider): void {
  const prototype = provider.Client.prototype as { includeSid(this: ProviderClient): boolean };
  const includeSid = prototype.includeSid;
  prototype.includeSid = function includeSidForFrontchannel(this: ProviderClient) {
    return includeSid.call(this) || this.metadata().frontchannel_logout_session_required === true;
  };
}

/**
 * OpenID Connect Front-Channel Logout for the local OP (oidc-provider has no built-in support).
 * After a confirmed sign-out of the whole OP session, instead of redirecting at once, the OP
 * answers with a page that loads the `frontchannel_logout_uri` of every client the user was
 * signed in to (with `iss` and `sid` when the client registered
 * `frontchannel_logout_session_required: true`) and then continues to the original redirect.
 */
export function frontchannelLogoutMiddleware(provider: Provider) {
  return async function frontchannelLogout(ctx: ProviderContext, next: () => Promise<void>) {
    await next();
    const oidc = ctx.oidc;
    if (oidc?.route !== 'end_session_confirm' || ctx.status !== 303) return;
    if (oidc.params?.logout === undefined || oidc.session?.destroyed !== true) return;

    const frames: string[] = [];
    for (const [clientId, authorization] of Object.entries(oidc.session.authorizations ?? {})) {
      const client = await provider.Client.find(clientId).catch(() => undefined);
      const metadata = client?.metadata() ?? {};
      const uris = metadata.frontchannel_logout_uri;
      if (!Array.isArray(uris)) continue;
      for (const uri of uris) {
        const url = new URL(String(uri));
        if (metadata.frontchannel_logout_session_required === true) {
          url.searchParams.set('iss', provider.issuer);
          if (authorization.sid !== undefined) url.searchParams.set('sid', authorization.sid);
        }
        frames.push(url.href);
      }
    }
    if (frames.length === 0) return;

    const continueTo = ctx.response.get('Location');
    const origins = [...new Set(frames.map((uri) => new URL(uri).origin))];
    ctx.remove('Location');
    ctx.status = 200;
    ctx.type = 'html';
    ctx.set('Content-Security-Policy', contentSecurityPolicy(origins));
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.body = renderFrontchannelLogoutPage(frames, continueTo);
  };
}
