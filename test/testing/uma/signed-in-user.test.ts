import { type OpAccess, SignedInUser } from '../../../src/testing/uma/signed-in-user';

/**
 * The OP here answers with a chosen ID token: a real OP echoes the authorization request's
 * nonce, so an ID token from another sign-in cannot be produced with it.
 */
const REDIRECT = 'https://as.example/uma/gather';
const NOW = Date.UTC(2030, 0, 1, 12, 0, 0);

function idToken(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'RS256' })}.${part(claims)}.c2lnbmF0dXJl`;
}

/** Signs in at an OP whose token endpoint answers an ID token with `tokenClaims(nonce)`. */
async function signIn(tokenClaims: (nonce: string) => Record<string, unknown>) {
  let nonce = '';
  const op: OpAccess = {
    discovery: () =>
      Promise.resolve({
        authorization_endpoint: 'https://op.example/auth',
        token_endpoint: 'https://op.example/token',
        registration_endpoint: 'https://op.example/reg',
      }),
    sendJson: () =>
      Promise.resolve({ status: 201, json: { client_id: 'uma-as', client_secret: 's' } }),
    postForm: () =>
      Promise.resolve({ status: 200, json: { id_token: idToken(tokenClaims(nonce)) } }),
  };
  const user = new SignedInUser(op, REDIRECT, () => NOW);
  const login = await user.loginUrl('the-state');
  nonce = login.nonce;
  return { user, login };
}

describe('SignedInUser', () => {
  it('sends a fresh nonce in the authorization request and returns it', async () => {
    const { login } = await signIn(() => ({}));
    const sent = new URL(login.url).searchParams;
    expect(sent.get('state')).toBe('the-state');
    expect(login.nonce).toMatch(/^[\w-]{20,}$/);
    expect(sent.get('nonce')).toBe(login.nonce);
    const again = await signIn(() => ({}));
    expect(again.login.nonce).not.toBe(login.nonce);
  });

  it("takes the ID token's claims when it carries the sign-in's nonce", async () => {
    const { user, login } = await signIn((nonce) => ({
      email: 'alice@example.com',
      nonce,
      exp: NOW / 1000 + 60,
    }));
    await expect(user.claims('code', login.nonce)).resolves.toMatchObject({
      email: ['alice@example.com'],
    });
  });

  it('refuses an ID token that carries another nonce', async () => {
    const { user, login } = await signIn(() => ({
      email: 'mallory@example.com',
      nonce: 'a-nonce-of-another-sign-in',
    }));
    await expect(user.claims('code', login.nonce)).rejects.toThrow(
      "the OP's ID token does not carry the nonce of this sign-in",
    );
  });

  it('refuses an ID token without a nonce', async () => {
    const { user, login } = await signIn(() => ({ email: 'mallory@example.com' }));
    await expect(user.claims('code', login.nonce)).rejects.toThrow(/nonce of this sign-in/);
  });
});
