import {
  ScopeExpressionError,
  evaluateScopeExpression,
  parseScopeExpression,
} from '../../../src/testing/uma/json-logic';

const A = 'https://rs.example/scope/all';
const B = 'https://rs.example/scope/add';
const C = 'https://rs.example/scope/internal';

describe('parseScopeExpression', () => {
  test('parseScopeExpression - accepts the documented and/or/var example and copies it', () => {
    const input = {
      rule: { and: [{ or: [{ var: 0 }, { var: 1 }] }, { var: 2 }] },
      data: [A, B, C],
    };
    const parsed = parseScopeExpression(input);
    expect(parsed).toEqual(input);
    expect(parsed.data).not.toBe(input.data);
  });

  test('parseScopeExpression - accepts the expression as JSON text', () => {
    const parsed = parseScopeExpression(JSON.stringify({ rule: { or: [{ var: 0 }] }, data: [A] }));
    expect(parsed).toEqual({ rule: { or: [{ var: 0 }] }, data: [A] });
  });

  test.each([
    [
      'an unknown operator',
      { rule: { xor: [{ var: 0 }, { var: 1 }] }, data: [A, B] },
      /exactly one operator/,
    ],
    ['two operators in one rule', { rule: { var: 0, and: [] }, data: [A] }, /exactly one operator/],
    ['a var beyond data', { rule: { var: 2 }, data: [A, B] }, /index into "data"/],
    ['a negative var', { rule: { var: -1 }, data: [A] }, /index into "data"/],
    ['a var by name', { rule: { var: 'scope' }, data: [A] }, /index into "data"/],
    ['an empty and', { rule: { and: [] }, data: [A] }, /non-empty array/],
    ['an or that is not an array', { rule: { or: { var: 0 } }, data: [A] }, /non-empty array/],
    [
      'a ! with two rules',
      { rule: { or: [{ '!': [{ var: 0 }, { var: 1 }] }] }, data: [A, B] },
      /exactly one rule/,
    ],
    ['a literal rule', { rule: true, data: [A] }, /must be an object/],
    ['empty data', { rule: { var: 0 }, data: [] }, /non-empty list/],
    ['blank scope in data', { rule: { var: 0 }, data: [' '] }, /non-empty list/],
    ['no rule at all', { data: [A] }, /must be an object/],
    ['an array', [{ var: 0 }], /must be an object/],
    ['text that is not JSON', '{rule:', /not valid JSON/],
    [
      'a top-level ! (oxd refuses a boolean value)',
      { rule: { '!': { var: 0 } }, data: [A] },
      /must yield one of the scopes/,
    ],
    [
      'an and ending in ! (boolean value)',
      { rule: { and: [{ var: 0 }, { '!': { var: 1 } }] }, data: [A, B] },
      /must yield one of the scopes/,
    ],
  ])('parseScopeExpression - rejects %s', (_title, input, message) => {
    expect(() => parseScopeExpression(input)).toThrow(ScopeExpressionError);
    expect(() => parseScopeExpression(input)).toThrow(message);
  });

  test('parseScopeExpression - accepts a ! whose value is not the result, and a numeric-string var', () => {
    expect(() =>
      parseScopeExpression({ rule: { or: [{ '!': [{ var: '0' }] }, { var: 1 }] }, data: [A, B] }),
    ).not.toThrow();
  });
});

describe('evaluateScopeExpression', () => {
  const nested = parseScopeExpression({
    rule: { and: [{ or: [{ var: 0 }, { var: 1 }] }, { var: 2 }] },
    data: [A, B, C],
  });

  test.each([
    [[], false],
    [[A], false],
    [[B], false],
    [[C], false],
    [[A, B], false],
    [[A, C], true],
    [[B, C], true],
    [[A, B, C], true],
  ])('evaluateScopeExpression - (all or add) and internal with %j is %s', (held, expected) => {
    expect(evaluateScopeExpression(nested, new Set(held))).toBe(expected);
  });

  const withNot = parseScopeExpression({
    rule: { or: [{ '!': { var: 0 } }, { var: 1 }] },
    data: [A, B],
  });

  test.each([
    [[], true],
    [[A], false],
    [[B], true],
    [[A, B], true],
  ])('evaluateScopeExpression - (not all) or add with %j is %s', (held, expected) => {
    expect(evaluateScopeExpression(withNot, new Set(held))).toBe(expected);
  });
});
