/**
 * The error codes as users switch on them: each key of ERROR_CODES is its code without the
 * `OXD_` prefix, so `ERROR_CODES.CONFIG_INVALID` is `'OXD_CONFIG_INVALID'`.
 */
import { ERROR_CODES } from '../src';

describe('ERROR_CODES', () => {
  test('every key names its own code', () => {
    for (const [key, code] of Object.entries(ERROR_CODES)) expect(code).toBe(`OXD_${key}`);
  });

  test('codes are unique', () => {
    const codes = Object.values(ERROR_CODES);
    expect(new Set(codes).size).toBe(codes.length);
  });
});
