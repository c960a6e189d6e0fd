import { matchesLogout } from '../../src/middleware/frontchannel-logout';
import type { OxdSessionData } from '../../src/session';

const ISS = 'https://op.example';

function login(extra: Partial<OxdSessionData>): OxdSessionData {
  return { tokens: { access_token: 'at' }, claims: { sub: 'u1' }, rawClaims: {}, ...extra };
}

describe('front-channel logout matching', () => {
  test.each<[string, Partial<OxdSessionData>, string | undefined, string | undefined, boolean]>([
    ['the same sid and iss', { sid: 's1', iss: ISS }, ISS, 's1', true],
    ['the same sid and iss, trailing slash', { sid: 's1', iss: `${ISS}/` }, ISS, 's1', true],
    ['the same sid, no iss in the request', { sid: 's1', iss: ISS }, undefined, 's1', false],
    ['the same sid, no iss stored', { sid: 's1' }, ISS, 's1', false],
    ['another sid', { sid: 's1', iss: ISS }, ISS, 's2', false],
    [
      'the same sid from another issuer',
      { sid: 's1', iss: ISS },
      'https://other.example',
      's1',
      false,
    ],
    ['a sid when the login has none', { iss: ISS }, ISS, 's1', false],
    ['only the matching iss', { sid: 's1', iss: ISS }, ISS, undefined, false],
    ['only another iss', { sid: 's1', iss: ISS }, 'https://other.example', undefined, false],
    ['only an iss when the login has none', {}, ISS, undefined, false],
    ['neither iss nor sid', { sid: 's1', iss: ISS }, undefined, undefined, false],
    ['neither, and a login without sid', { iss: ISS }, undefined, undefined, false],
  ])('%s -> %s', (_name, stored, iss, sid, expected) => {
    expect(matchesLogout(login(stored), iss, sid)).toBe(expected);
  });
});
