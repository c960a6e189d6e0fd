import { claimHoldsAll, claimString, hasClaimValue, normaliseClaims } from '../../src/claims';
import { loginClaims, loginIdTokenClaims } from '../../src/session';

describe('claim normalisation', () => {
  test('unwraps the one-element lists oxd 3.x sends', () => {
    expect(
      normaliseClaims({
        sub: ['24400320'],
        name: ['Jane Doe'],
        email_verified: ['true'],
        exp: ['1311281970'],
      }),
    ).toEqual({ sub: '24400320', name: 'Jane Doe', email_verified: true, exp: 1311281970 });
  });

  test('gives standard boolean and numeric claims their JSON type back', () => {
    expect(
      normaliseClaims({
        email_verified: 'false',
        phone_number_verified: ['true'],
        updated_at: ['1700000000'],
        auth_time: '1700000001',
        iat: '12.5',
      }),
    ).toEqual({
      email_verified: false,
      phone_number_verified: true,
      updated_at: 1700000000,
      auth_time: 1700000001,
      iat: 12.5,
    });
  });

  test('leaves values it cannot type, and non-standard claims, as strings', () => {
    expect(
      normaliseClaims({ email_verified: 'yes', exp: 'soon', sub: '42', zip: ['02134'] }),
    ).toEqual({ email_verified: 'yes', exp: 'soon', sub: '42', zip: '02134' });
  });

  test('keeps lists of several values and empty lists', () => {
    expect(normaliseClaims({ groups: ['admin', 'staff'], roles: [] })).toEqual({
      groups: ['admin', 'staff'],
      roles: [],
    });
  });

  test('keeps oxd 4.x scalars and nested objects as they are', () => {
    const address = { country: 'NL', locality: 'Delft' };
    expect(
      normaliseClaims({ sub: 'u1', email_verified: true, updated_at: 1700000000, address }),
    ).toEqual({ sub: 'u1', email_verified: true, updated_at: 1700000000, address });
  });

  test('drops null values and lists holding only null', () => {
    expect(
      normaliseClaims({ sub: 'u1', picture: null, nickname: [null], locale: undefined }),
    ).toEqual({ sub: 'u1' });
  });

  test('returns an empty object for anything that is not a claims object', () => {
    expect(normaliseClaims(undefined)).toEqual({});
    expect(normaliseClaims(null)).toEqual({});
    expect(normaliseClaims('sub')).toEqual({});
    expect(normaliseClaims([['sub', 'x']])).toEqual({});
  });

  test('does not modify its input', () => {
    const raw = { sub: ['u1'], groups: ['a', 'b'] };
    normaliseClaims(raw);
    expect(raw).toEqual({ sub: ['u1'], groups: ['a', 'b'] });
  });

  test('claimString reads only string values', () => {
    const claims = normaliseClaims({ sid: ['abc'], exp: 5, groups: ['a', 'b'] });
    expect(claimString(claims, 'sid')).toBe('abc');
    expect(claimString(claims, 'exp')).toBeUndefined();
    expect(claimString(claims, 'groups')).toBeUndefined();
    expect(claimString(undefined, 'sid')).toBeUndefined();
  });
});

describe('claim checks', () => {
  const claims = normaliseClaims({
    sub: ['u1'],
    role: ['admin'],
    groups: ['staff', 'ops'],
    verified: true,
    nothing: '',
  });

  test('hasClaimValue compares strictly', () => {
    expect(hasClaimValue(claims, 'role', 'admin')).toBe(true);
    expect(hasClaimValue(claims, 'role', 'Admin')).toBe(false);
    expect(hasClaimValue(claims, 'verified', true)).toBe(true);
    expect(hasClaimValue(claims, 'verified', 'true')).toBe(false);
    expect(hasClaimValue(claims, 'nothing', '')).toBe(true);
    expect(hasClaimValue(claims, 'missing', undefined)).toBe(false);
  });

  test('hasClaimValue ignores inherited properties', () => {
    expect(hasClaimValue(claims, 'constructor', Object)).toBe(false);
  });

  test('claimHoldsAll needs every value in a list claim', () => {
    expect(claimHoldsAll(claims, 'groups', ['staff'])).toBe(true);
    expect(claimHoldsAll(claims, 'groups', ['ops', 'staff'])).toBe(true);
    expect(claimHoldsAll(claims, 'groups', ['staff', 'finance'])).toBe(false);
  });

  test('claimHoldsAll treats a single (unwrapped) value as a list of one', () => {
    expect(claimHoldsAll(claims, 'role', ['admin'])).toBe(true);
    expect(claimHoldsAll(claims, 'role', ['admin', 'staff'])).toBe(false);
  });

  test('claimHoldsAll fails for a missing claim', () => {
    expect(claimHoldsAll(claims, 'missing', ['x'])).toBe(false);
  });
});

describe('claim names that reach the prototype', () => {
  const hostile = JSON.parse(
    '{"sub": "u1", "__proto__": {"role": "admin"}, "constructor": {"x": 1}, "prototype": [2]}',
  ) as unknown;

  test('are dropped, and the claims keep the ordinary object prototype', () => {
    const claims = normaliseClaims(hostile);
    expect(Object.getPrototypeOf(claims)).toBe(Object.prototype);
    expect(Object.keys(claims)).toEqual(['sub']);
    expect(claims.role).toBeUndefined();
    expect(hasClaimValue(claims, 'role', 'admin')).toBe(false);
  });

  test('do not reach the user claims read from an ID token', () => {
    const payload = Buffer.from(
      '{"iss":"https://op","sub":"u1","__proto__":{"role":"admin"}}',
    ).toString('base64url');
    const login = { tokens: { access_token: 'a', id_token: `e30.${payload}.sig` } };
    const user = loginClaims(login);
    expect(Object.getPrototypeOf(user)).toBe(Object.prototype);
    expect(user.role).toBeUndefined();
    expect(loginIdTokenClaims(login)?.role).toBeUndefined();
  });
});
