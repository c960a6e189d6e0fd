/**
 * Who each RPT was handed to, for `umaClaims()` with per-user grants (the default).
 *
 * Through oxd the requesting party is the site, not the user: oxd keeps one RPT per site
 * (oxd_id) and, while it has not expired, answers every `uma_rp_get_rpt` with it, whatever
 * the ticket and without asking the authorization server (`UmaTokenService.getRpt`, oxd 3.1.3
 * to 4.5). An RPT obtained after one user's claims gathering would so reach every other user
 * of the site. This registry remembers, in this process, whose session each RPT went to, and
 * refuses to hand it to anyone else.
 */
import { createHash } from 'node:crypto';
import { ERROR_CODES, OxdAuthError } from '../errors';
import { loginClaims } from '../session/login';
import { registeredSessionKeys, sessionLogin, type OxdIncomingMessage } from '../session/store';

/** RPTs remembered at most; the oldest are forgotten first. */
const MAX_RPTS = 10_000;

function fingerprint(rpt: string): string {
  return createHash('sha256').update(rpt).digest('base64url');
}

/**
 * The user a request's session stands for: the `sub` of the login kept under any
 * `oxdAuth()` session key, else the session itself.
 */
export function rptOwnerOf(req: OxdIncomingMessage): string {
  const session = req.session;
  for (const key of registeredSessionKeys()) {
    const login = sessionLogin(session, key);
    if (login === undefined) continue;
    const sub = loginClaims(login).sub;
    const one = Array.isArray(sub) ? sub[0] : sub;
    if (typeof one === 'string' && one !== '') return `sub:${one}`;
  }
  return `session:${req.sessionID ?? ''}`;
}

/** The 403 a user gets instead of an RPT oxd obtained for another user. */
function rptOfAnotherUser(): OxdAuthError {
  return new OxdAuthError(
    ERROR_CODES.UMA_RPT_OF_ANOTHER_USER,
    'oxd handed back an RPT that was obtained for another user of this site (oxd keeps one ' +
      'RPT per site and answers every exchange with it until it expires), so it was not used. ' +
      'Try again once it has expired; if RPTs are meant to be shared by the whole site ' +
      '(machine-to-machine use), set siteWideRpt: true in umaClaims()',
    { status: 403 },
  );
}

export class RptOwners {
  readonly #owners = new Map<string, string>();

  /**
   * Records that `rpt` goes to `owner`; throws {@link rptOfAnotherUser} when it already went
   * to someone else.
   */
  claim(rpt: string, owner: string): void {
    const key = fingerprint(rpt);
    const known = this.#owners.get(key);
    if (known !== undefined && known !== owner) throw rptOfAnotherUser();
    if (known === undefined) {
      if (this.#owners.size >= MAX_RPTS) {
        const oldest = this.#owners.keys().next().value;
        if (oldest !== undefined) this.#owners.delete(oldest);
      }
      this.#owners.set(key, owner);
    }
  }
}
