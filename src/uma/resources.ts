/**
 * The resources `umaProtect()` guards: their validation at start-up, and the lookup of the
 * protected resource (path template + registered HTTP method) an incoming request falls under.
 *
 * A resource's `path` is an Express-style template (`/photos`, `/photos/:id`, `/files/*`). It
 * is registered with oxd as written, so every request matching the template is checked against
 * the same UMA resource: `GET /photos/42` is sent to `uma_rs_check_access` as `/photos/:id`.
 */
import type { ScopeExpression, UmaCondition, UmaResource } from '../oxd/commands';

/** A protected resource: oxd's `uma_rs_protect` resource, whose `path` may be a template. */
export type UmaProtectedResource = UmaResource;

/** What a request is checked as: the registered path template and HTTP method. */
export interface UmaResourceMatch {
  /** The template as registered with oxd (`/photos/:id`). */
  readonly path: string;
  /** The registered method the request falls under (`GET` for a `HEAD` request). */
  readonly method: string;
}

type Segment = { kind: 'literal'; text: string } | { kind: 'param' } | { kind: 'rest' };

interface CompiledResource {
  readonly path: string;
  readonly segments: readonly Segment[];
  readonly methods: ReadonlySet<string>;
}

const METHOD = /^[A-Z]+$/;
const PARAM = /^:[A-Za-z_$][A-Za-z0-9_$]*$/;
/** Characters that would make a template mean something else in Express (regex syntax). */
const RESERVED = /[()[\]?+{}\\]/;

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.trim() !== '';
}

function isScopeList(value: unknown): value is string[] {
  return Array.isArray(value) && value.length > 0 && value.every(isNonEmptyString);
}

/** Splits `/a/b/` into `['a', 'b']` (a trailing slash does not count, as in Express). */
function splitPath(path: string): string[] {
  const parts = path.split('/').slice(1);
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

function compileTemplate(path: string, fail: (message: string) => never): Segment[] {
  if (!path.startsWith('/') || RESERVED.test(path) || /[\s#]/.test(path)) {
    fail(
      `path ${JSON.stringify(path)} must start with "/" and use only literal segments, ":name" ` +
        'parameters and a final "*" (no regular-expression syntax, spaces or "#")',
    );
  }
  const parts = splitPath(path);
  return parts.map((part, i): Segment => {
    if (part === '*') {
      if (i !== parts.length - 1) fail(`path ${path}: "*" may only be the last segment`);
      return { kind: 'rest' };
    }
    if (part.startsWith(':')) {
      if (!PARAM.test(part)) fail(`path ${path}: "${part}" is not a valid parameter name`);
      return { kind: 'param' };
    }
    if (part.includes(':') || part.includes('*')) {
      fail(`path ${path}: ":" and "*" must start a segment of their own`);
    }
    // Express routes ignore case by default, so `/PHOTOS` must not slip past `/photos`.
    return { kind: 'literal', text: part.toLowerCase() };
  });
}

function checkExpression(value: unknown, fail: (message: string) => never): ScopeExpression {
  const expression = value as Partial<ScopeExpression> | null;
  if (
    typeof expression !== 'object' ||
    expression === null ||
    expression.rule === undefined ||
    !isScopeList(expression.data)
  ) {
    fail('scope_expression must be {rule: <JsonLogic rule>, data: [scope, …]}');
  }
  return { rule: structuredClone(expression.rule), data: [...expression.data] };
}

function checkCondition(value: unknown, fail: (message: string) => never): UmaCondition {
  if (typeof value !== 'object' || value === null) fail('must be an object');
  const condition = value as Partial<UmaCondition>;
  const methods = condition.httpMethods;
  if (!Array.isArray(methods) || methods.length === 0 || !methods.every(isNonEmptyString)) {
    fail('httpMethods must be a non-empty list such as ["GET"]');
  }
  const upper = methods.map((m) => m.trim().toUpperCase());
  const bad = upper.find((m) => !METHOD.test(m));
  if (bad !== undefined) fail(`httpMethods: "${bad}" is not an HTTP method`);
  const checked: UmaCondition = { httpMethods: upper };
  if (condition.scopes !== undefined) {
    if (!isScopeList(condition.scopes)) fail('scopes must be a non-empty list of scope URIs');
    checked.scopes = [...condition.scopes];
  }
  if (condition.scope_expression !== undefined) {
    checked.scope_expression = checkExpression(condition.scope_expression, fail);
  }
  if (!checked.scopes && !checked.scope_expression) {
    fail('needs "scopes" or "scope_expression"');
  }
  if (condition.ticketScopes !== undefined) {
    if (!isScopeList(condition.ticketScopes)) fail('ticketScopes must be a list of scope URIs');
    checked.ticketScopes = [...condition.ticketScopes];
  }
  return checked;
}

/**
 * Checks the resources given to `umaProtect()` and returns the copy sent to oxd (methods in
 * upper case). `fail(key, message)` throws the caller's configuration error.
 */
export function checkResources(
  value: unknown,
  fail: (key: string, message: string) => never,
): UmaProtectedResource[] {
  if (!Array.isArray(value) || value.length === 0) {
    fail('resources', 'must be a non-empty list of {path, conditions}');
  }
  const seen = new Map<string, string>();
  return value.map((raw: unknown, i) => {
    const key = `resources[${i}]`;
    const resource = raw as Partial<UmaResource> | null;
    if (typeof resource !== 'object' || resource === null || !isNonEmptyString(resource.path)) {
      fail(key, 'must be an object with a path such as "/photos/:id" and conditions');
    }
    const path = resource.path;
    compileTemplate(path, (message) => fail(`${key}.path`, message));
    if (!Array.isArray(resource.conditions) || resource.conditions.length === 0) {
      fail(`${key}.conditions`, `must be a non-empty list (path ${path})`);
    }
    const conditions = resource.conditions.map((condition: unknown, j) =>
      checkCondition(condition, (message) => fail(`${key}.conditions[${j}]`, message)),
    );
    for (const method of conditions.flatMap((c) => c.httpMethods)) {
      const where = `${method} ${path}`;
      const other = seen.get(where);
      if (other !== undefined) {
        fail(key, `${where} is already protected by ${other}; give each method one condition`);
      }
      seen.set(where, key);
    }
    const copy: UmaProtectedResource = { path, conditions };
    if (typeof resource.exp === 'number') copy.exp = resource.exp;
    if (typeof resource.iat === 'number') copy.iat = resource.iat;
    return copy;
  });
}

function matches(segments: readonly Segment[], parts: readonly string[]): boolean {
  for (let i = 0; i < segments.length; i += 1) {
    const segment = segments[i] as Segment;
    if (segment.kind === 'rest') return true;
    const part = parts[i];
    if (part === undefined) return false;
    if (segment.kind === 'param' ? part === '' : part.toLowerCase() !== segment.text) {
      return false;
    }
  }
  return parts.length === segments.length;
}

/**
 * Finds the protected resource of a request: the first resource (in the order given) whose
 * template matches `path` and that registers `method`. A `HEAD` request falls under `GET`
 * unless `HEAD` is registered itself, since Express answers HEAD with the GET route.
 */
export class ResourceTable {
  readonly #resources: readonly CompiledResource[];

  constructor(resources: readonly UmaProtectedResource[]) {
    this.#resources = resources.map((resource) => ({
      path: resource.path,
      segments: compileTemplate(resource.path, (message) => {
        throw new TypeError(message);
      }),
      methods: new Set(resource.conditions.flatMap((c) => c.httpMethods)),
    }));
  }

  match(path: string, method: string): UmaResourceMatch | undefined {
    const parts = splitPath(path);
    const upper = method.toUpperCase();
    for (const resource of this.#resources) {
      if (!matches(resource.segments, parts)) continue;
      if (resource.methods.has(upper)) return { path: resource.path, method: upper };
      if (upper === 'HEAD' && resource.methods.has('GET')) {
        return { path: resource.path, method: 'GET' };
      }
    }
    return undefined;
  }
}
