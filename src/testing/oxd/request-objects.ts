/**
 * get_request_uri (oxd 4.2+): builds an OpenID Connect request object for a site, signs it
 * with a key this server generates once per process (RS256, or unsigned with `none`), keeps
 * it for a short time under a random id and answers the URI the OP fetches it from,
 * `<oxd_host_url>/get-request-object/<id>` (served by the HTTPS server).
 */
import { type KeyObject, generateKeyPair, randomBytes, sign } from 'node:crypto';

/** Path prefix of the request objects on the HTTPS server. */
export const REQUEST_OBJECT_PATH = '/get-request-object/';
/** How long a request object can be fetched, in seconds. */
export const REQUEST_OBJECT_TTL_S = 120;
/** Algorithms the server signs request objects with. */
export const ALGORITHMS = ['RS256', 'none'];

function base64urlJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** Request objects by id, each until it expires. Expiry is checked on access: no timers. */
export class RequestObjectStore {
  private readonly objects = new Map<string, { jwt: string; expiresAt: number }>();
  private key: Promise<{ kid: string; privateKey: KeyObject }> | undefined;

  constructor(
    private readonly ttlMs: number = REQUEST_OBJECT_TTL_S * 1000,
    private readonly now: () => number = Date.now,
  ) {}

  /** The process's signing key, generated on first use. */
  private signingKey(): Promise<{ kid: string; privateKey: KeyObject }> {
    this.key ??= new Promise((resolve, reject) => {
      generateKeyPair('rsa', { modulusLength: 2048 }, (err, _publicKey, privateKey) => {
        if (err) reject(err);
        else resolve({ kid: randomBytes(8).toString('hex'), privateKey });
      });
    });
    return this.key;
  }

  /** Signs `claims` with `alg` (`RS256` or `none`), stores the JWT and returns its id. */
  async create(claims: Record<string, unknown>, alg: string): Promise<string> {
    let jwt: string;
    if (alg === 'none') {
      jwt = `${base64urlJson({ alg: 'none', typ: 'JWT' })}.${base64urlJson(claims)}.`;
    } else {
      const { kid, privateKey } = await this.signingKey();
      const input = `${base64urlJson({ alg, typ: 'JWT', kid })}.${base64urlJson(claims)}`;
      jwt = `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
    }
    this.sweep();
    const id = randomBytes(24).toString('base64url');
    this.objects.set(id, { jwt, expiresAt: this.now() + this.ttlMs });
    return id;
  }

  /** The JWT stored under `id`, unless unknown or expired. */
  get(id: string): string | undefined {
    const found = this.objects.get(id);
    if (!found) return undefined;
    if (found.expiresAt <= this.now()) {
      this.objects.delete(id);
      return undefined;
    }
    return found.jwt;
  }

  private sweep(): void {
    const now = this.now();
    for (const [id, found] of this.objects) {
      if (found.expiresAt <= now) this.objects.delete(id);
    }
  }
}
