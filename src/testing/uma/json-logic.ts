/**
 * The JsonLogic subset of Gluu's UMA `scope_expression`: `{rule, data}` where `rule` is built
 * from `and`, `or`, `!` and `{"var": i}` (`i` indexes into `data`, a list of scope URIs).
 *
 * Two readings of a rule are needed:
 * - access checks read it as a boolean formula, `{"var": i}` being "the RPT carries `data[i]`";
 * - registration checks it the way oxd does: the rule is applied with JsonLogic value semantics
 *   to the `data` strings themselves, and the result must be one of those strings. That is why
 *   oxd refuses a rule whose top level is a `!` (its value is a boolean, not a scope).
 */
import type { ScopeExpression } from '../../oxd/commands';

/** A structurally invalid or unsupported scope expression. */
export class ScopeExpressionError extends Error {
  override readonly name = 'ScopeExpressionError';
}

type Rule =
  { op: 'var'; index: number } | { op: 'and' | 'or'; args: Rule[] } | { op: '!'; arg: Rule };

const OPERATORS = ['and', 'or', '!', 'var'] as const;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseIndex(raw: unknown, dataLength: number): number {
  const index =
    typeof raw === 'number'
      ? raw
      : typeof raw === 'string' && /^(0|[1-9]\d*)$/.test(raw)
        ? +raw
        : NaN;
  if (!Number.isInteger(index) || index < 0 || index >= dataLength) {
    throw new ScopeExpressionError(
      `"var" must be an index into "data" (0 to ${dataLength - 1}), got ${JSON.stringify(raw)}`,
    );
  }
  return index;
}

function parseRule(raw: unknown, dataLength: number): Rule {
  if (!isPlainObject(raw)) {
    throw new ScopeExpressionError(
      `each rule must be an object such as {"var": 0}, got ${JSON.stringify(raw)}`,
    );
  }
  const keys = Object.keys(raw);
  const op = keys[0];
  if (keys.length !== 1 || !OPERATORS.includes(op as (typeof OPERATORS)[number])) {
    throw new ScopeExpressionError(
      `each rule must have exactly one operator out of ${OPERATORS.join(', ')}; got ${JSON.stringify(keys)}`,
    );
  }
  const operand = raw[op as string];
  switch (op) {
    case 'var':
      return { op, index: parseIndex(operand, dataLength) };
    case '!': {
      const single = Array.isArray(operand) ? operand : [operand];
      if (single.length !== 1) {
        throw new ScopeExpressionError('"!" takes exactly one rule');
      }
      return { op, arg: parseRule(single[0], dataLength) };
    }
    default: {
      if (!Array.isArray(operand) || operand.length === 0) {
        throw new ScopeExpressionError(`"${op}" takes a non-empty array of rules`);
      }
      return {
        op: op as 'and' | 'or',
        args: operand.map((item) => parseRule(item, dataLength)),
      };
    }
  }
}

/** JsonLogic value semantics over the data strings (what oxd's registration check computes). */
function valueOf(rule: Rule, data: readonly string[]): string | boolean {
  switch (rule.op) {
    case 'var':
      return data[rule.index] as string;
    case '!':
      return !valueOf(rule.arg, data);
    case 'and': {
      let current: string | boolean = true;
      for (const arg of rule.args) {
        current = valueOf(arg, data);
        if (!current) return current;
      }
      return current;
    }
    case 'or': {
      let current: string | boolean = false;
      for (const arg of rule.args) {
        current = valueOf(arg, data);
        if (current) return current;
      }
      return current;
    }
  }
}

function truthOf(rule: Rule, data: readonly string[], has: (scope: string) => boolean): boolean {
  switch (rule.op) {
    case 'var':
      return has(data[rule.index] as string);
    case '!':
      return !truthOf(rule.arg, data, has);
    case 'and':
      return rule.args.every((arg) => truthOf(arg, data, has));
    case 'or':
      return rule.args.some((arg) => truthOf(arg, data, has));
  }
}

/**
 * Validates a scope expression (an object, or its JSON text as 4.x `uma_rs_modify` sends it)
 * and returns it as a plain `{rule, data}` copy. Throws {@link ScopeExpressionError} naming
 * what is wrong.
 */
export function parseScopeExpression(input: unknown): ScopeExpression {
  let value = input;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value) as unknown;
    } catch (cause) {
      throw new ScopeExpressionError('scope_expression is a string but not valid JSON', { cause });
    }
  }
  if (!isPlainObject(value)) {
    throw new ScopeExpressionError('scope_expression must be an object {"rule": …, "data": […]}');
  }
  const { rule, data } = value;
  if (
    !Array.isArray(data) ||
    data.length === 0 ||
    !data.every((scope) => typeof scope === 'string' && scope.trim() !== '')
  ) {
    throw new ScopeExpressionError('scope_expression "data" must be a non-empty list of scopes');
  }
  const parsed = parseRule(rule, data.length);
  const result = valueOf(parsed, data as string[]);
  if (typeof result !== 'string' || !data.includes(result)) {
    throw new ScopeExpressionError(
      'scope_expression "rule" applied to "data" must yield one of the scopes (oxd refuses a rule whose value is a boolean, such as a top-level "!")',
    );
  }
  return { rule: structuredClone(rule) as unknown, data: [...(data as string[])] };
}

/**
 * Evaluates a scope expression (already accepted by {@link parseScopeExpression}) as a boolean
 * formula: `{"var": i}` is true when `granted` holds `data[i]`.
 */
export function evaluateScopeExpression(
  expression: ScopeExpression,
  granted: ReadonlySet<string>,
): boolean {
  const parsed = parseRule(expression.rule, expression.data.length);
  return truthOf(parsed, expression.data, (scope) => granted.has(scope));
}
