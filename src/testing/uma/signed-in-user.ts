/**
 * Who is signed in at the OP, for the claims-gathering page: a policy claim marked
 * `signed_in_user` is accepted only with the value the signed-in user has for it (the demo's
 * private album wants the user's own e-mail address). The page sends the browser through an
 * authorization code request to the OP, as the client "local UMA authorization server" that
 * registers itself on first use; a user signed in there comes straight back, anyone else signs
 * in first. The ID token comes from the OP's token endpoint over TLS checked against the OP's
 * CA, which vouches for it (OpenID Connect Core 3.1.3.7).
 */
import { randomBytes } from 'node:crypto';
import { type ClaimValues, claimsFromIdToken } from './claims-policy';

/** What this needs of the OP; the local oxd server's OP client has it. */
export interface OpAccess {
  discovery(): Promise<{
    authorization_endpoint: string;
    token_endpoint: string;
    registration_endpoint?: string | undefined;
  }>;
  postForm(
    url: string,
    form: URLSearchParams,
    auth?: { client_id: string; client_secret?: string | undefined },
  ): Promise<{ status: number; json: unknown }>;
  sendJson(method: 'POST', url: string, body: unknown): Promise<{ status: number; json: unknown }>;
}

interface Registered {
  client_id: string;
  client_secret?: string | undefined;
}

export class SignedInUser {
  #client: Promise<Registered> | undefined;

  constructor(
    private readonly op: OpAccess,
    /** Where the OP sends the browser back: the claims-gathering page itself. */
    private readonly redirectUri: string,
    private readonly now: () => number,
  ) {}

  /**
   * The OP's authorization URL for a sign-in that comes back with `state`, and the nonce it
   * carries: keep it with the state and give it to {@link claims}.
   */
  async loginUrl(state: string): Promise<{ url: string; nonce: string }> {
    const [client, doc] = await Promise.all([this.client(), this.op.discovery()]);
    const nonce = randomBytes(16).toString('base64url');
    const url = new URL(doc.authorization_endpoint);
    url.search = new URLSearchParams({
      client_id: client.client_id,
      response_type: 'code',
      scope: 'openid profile email',
      redirect_uri: this.redirectUri,
      state,
      nonce,
    }).toString();
    return { url: url.href, nonce };
  }

  /**
   * The claims of the user the OP signed in, from the ID token `code` is exchanged for; its
   * `nonce` must be the one the sign-in's authorization request sent (OpenID Connect Core
   * 3.1.3.7), so that an ID token from another sign-in is not taken for this one.
   */
  async claims(code: string, nonce: string): Promise<ClaimValues> {
    const [client, doc] = await Promise.all([this.client(), this.op.discovery()]);
    const form = new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: this.redirectUri,
    });
    const reply = await this.op.postForm(doc.token_endpoint, form, client);
    const idToken = (reply.json as { id_token?: unknown } | undefined)?.id_token;
    if (reply.status !== 200 || typeof idToken !== 'string') {
      throw new Error(`the OP's token endpoint answered ${reply.status} without an ID token`);
    }
    const claims = claimsFromIdToken(idToken, this.now());
    const sent = claims.nonce;
    if (sent?.length !== 1 || sent[0] !== nonce) {
      throw new Error("the OP's ID token does not carry the nonce of this sign-in");
    }
    return claims;
  }

  /** This server's client at the OP, registered once (again after a failure). */
  private client(): Promise<Registered> {
    this.#client ??= this.register().catch((err: unknown) => {
      this.#client = undefined;
      throw err;
    });
    return this.#client;
  }

  private async register(): Promise<Registered> {
    const doc = await this.op.discovery();
    if (!doc.registration_endpoint) {
      throw new Error('the OP has no registration endpoint for the UMA server to sign users in');
    }
    const reply = await this.op.sendJson('POST', doc.registration_endpoint, {
      client_name: 'Local UMA authorization server',
      redirect_uris: [this.redirectUri],
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'client_secret_basic',
    });
    const registered = reply.json as Partial<Registered> | undefined;
    if (reply.status !== 201 || typeof registered?.client_id !== 'string') {
      throw new Error(`the OP refused to register the UMA server (HTTP ${reply.status})`);
    }
    return { client_id: registered.client_id, client_secret: registered.client_secret };
  }
}
