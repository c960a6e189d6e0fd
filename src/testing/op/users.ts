/** An account of the local OpenID Provider. */
export interface TestUser {
  /** What the user types into the login form's `username` field. */
  username: string;
  /** What the user types into the login form's `password` field. */
  password: string;
  /**
   * The user's OpenID Connect claims. `sub` is required and identifies the account; the OP
   * releases the other claims according to the granted scopes (`profile`, `email`, ...).
   */
  claims: Record<string, unknown>;
}

/** The accounts the local OP knows when `startLocalOp()` is given no `users`. */
export const DEFAULT_TEST_USERS: readonly TestUser[] = Object.freeze([
  {
    username: 'jane',
    password: 'jane-password',
    claims: {
      sub: '248289761001',
      name: 'Jane Doe',
      given_name: 'Jane',
      family_name: 'Doe',
      preferred_username: 'jane',
      email: 'jane.doe@example.com',
      email_verified: true,
      locale: 'en-US',
    },
  },
  {
    username: 'john',
    password: 'john-password',
    claims: {
      sub: '248289761002',
      name: 'John Roe',
      given_name: 'John',
      family_name: 'Roe',
      preferred_username: 'john',
      email: 'john.roe@example.com',
      email_verified: true,
      locale: 'en-GB',
    },
  },
  {
    username: 'alex',
    password: 'alex-password',
    claims: {
      sub: '248289761003',
      name: 'Alex Poe',
      given_name: 'Alex',
      family_name: 'Poe',
      preferred_username: 'alex',
      email: 'alex.poe@example.com',
      email_verified: false,
    },
  },
  {
    // The administrator: `groups` holds `admin` (released with the `profile` scope).
    username: 'ada',
    password: 'ada-password',
    claims: {
      sub: '248289761004',
      name: 'Ada Admin',
      given_name: 'Ada',
      family_name: 'Admin',
      preferred_username: 'ada',
      email: 'ada.admin@example.com',
      email_verified: true,
      groups: ['admin'],
    },
  },
]);

/**
 * Checks a user list once at start-up: each user needs a username, a password and a `sub`,
 * and usernames and subjects must be unique.
 */
export function validateUsers(users: readonly TestUser[]): void {
  if (users.length === 0) {
    throw new TypeError('startLocalOp: users must contain at least one user');
  }
  const usernames = new Set<string>();
  const subjects = new Set<string>();
  users.forEach((user, index) => {
    const where = `startLocalOp: users[${index}]`;
    if (typeof user.username !== 'string' || user.username === '') {
      throw new TypeError(`${where}.username must be a non-empty string`);
    }
    if (typeof user.password !== 'string' || user.password === '') {
      throw new TypeError(`${where}.password must be a non-empty string`);
    }
    const sub: unknown = user.claims?.sub;
    if (typeof sub !== 'string' || sub === '') {
      throw new TypeError(`${where}.claims.sub must be a non-empty string`);
    }
    if (usernames.has(user.username)) {
      throw new TypeError(`${where}.username "${user.username}" is used twice`);
    }
    if (subjects.has(sub)) {
      throw new TypeError(`${where}.claims.sub "${sub}" is used twice`);
    }
    usernames.add(user.username);
    subjects.add(sub);
  });
}
