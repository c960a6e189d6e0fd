/**
 * The states the server handed out in authorization URLs, each with its nonce and
 * redirect URI, kept until used once or until they expire (oxd's
 * `state_expiration_in_minutes`, 5 by default). Expiry is checked on access: no timers.
 */

export interface PendingLogin {
  oxdId: string;
  nonce: string;
  redirectUri: string;
  expiresAt: number;
}

export class PendingLogins {
  private readonly byState = new Map<string, PendingLogin>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  remember(state: string, login: Omit<PendingLogin, 'expiresAt'>): void {
    this.sweep();
    this.byState.set(state, { ...login, expiresAt: this.now() + this.ttlMs });
  }

  /**
   * Removes and returns the login `oxdId` started with `state`; undefined when there is
   * none (unknown, expired, or another site's, which is left alone).
   */
  take(state: string, oxdId: string): PendingLogin | undefined {
    const login = this.byState.get(state);
    if (!login || login.oxdId !== oxdId) return undefined;
    this.byState.delete(state);
    return login.expiresAt > this.now() ? login : undefined;
  }

  private sweep(): void {
    const now = this.now();
    for (const [state, login] of this.byState) {
      if (login.expiresAt <= now) this.byState.delete(state);
    }
  }
}
