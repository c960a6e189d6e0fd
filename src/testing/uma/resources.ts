/**
 * Protected resources of the local UMA authorization server (`uma_rs_protect`): every
 * condition (path + its HTTP methods) of a resource becomes one record with its own id, as
 * oxd registers them, kept per oxd_id. The only UMA state that survives a restart.
 */
import { randomUUID } from 'node:crypto';
import { debuglog } from 'node:util';
import type { ScopeExpression, UmaCondition, UmaResource } from '../../oxd/commands';
import { ScopeExpressionError, parseScopeExpression } from './json-logic';
import { UmaError, isNonEmptyString, isStringList } from './uma-error';

const debug = debuglog('express-oxd');

/** One registered resource: a path and the HTTP methods of one condition. */
export interface ProtectedResource {
  id: string;
  path: string;
  /** Upper case. */
  httpMethods: string[];
  scopes: string[];
  ticketScopes: string[];
  scope_expression?: ScopeExpression;
  iat?: number;
  exp?: number;
}

/** What {@link ResourceRegistry.toJSON} returns and `fromJSON` accepts. */
export interface UmaServerState {
  version: 1;
  /** oxd_id -> its protected resources. */
  resources: Record<string, ProtectedResource[]>;
}

type ResourceRecord = Omit<ProtectedResource, 'id'>;

/** Checks one resource of `uma_rs_protect` (or of saved state) and returns it as records. */
function toRecords(resource: unknown, index: number): ResourceRecord[] {
  const where = `resources[${index}]`;
  if (typeof resource !== 'object' || resource === null) {
    throw new UmaError(
      'invalid_uma_request',
      `${where} must be an object with path and conditions`,
    );
  }
  const { path, conditions, iat, exp } = resource as Partial<UmaResource>;
  if (!isNonEmptyString(path)) {
    throw new UmaError('invalid_path_parameter', `${where}.path is required (e.g. "/photo")`);
  }
  if (!Array.isArray(conditions) || conditions.length === 0) {
    throw new UmaError(
      'invalid_uma_request',
      `${where} (path ${path}) needs a non-empty "conditions" list`,
    );
  }
  return conditions.map((condition: Partial<UmaCondition> | null, i) => {
    const at = `${where}.conditions[${i}] (path ${path})`;
    if (typeof condition !== 'object' || condition === null) {
      throw new UmaError('invalid_uma_request', `${at} must be an object`);
    }
    const { httpMethods, scopes, ticketScopes, scope_expression } = condition;
    if (!isStringList(httpMethods) || httpMethods.length === 0) {
      throw new UmaError('invalid_http_method', `${at} needs "httpMethods", e.g. ["GET"]`);
    }
    for (const [name, list] of Object.entries({ scopes, ticketScopes })) {
      if (list !== undefined && list !== null && !isStringList(list)) {
        throw new UmaError('invalid_uma_request', `${at} "${name}" must be a list of scopes`);
      }
    }
    let expression: ScopeExpression | undefined;
    if (scope_expression !== undefined && scope_expression !== null) {
      try {
        expression = parseScopeExpression(scope_expression);
      } catch (err) {
        if (!(err instanceof ScopeExpressionError)) throw err;
        throw new UmaError('invalid_scope_expression', `${at}: ${err.message}`);
      }
    }
    if (!expression && (scopes ?? []).length === 0) {
      throw new UmaError('invalid_uma_request', `${at} needs "scopes" or "scope_expression"`);
    }
    return {
      path,
      httpMethods: [...new Set(httpMethods.map((m) => m.trim().toUpperCase()))],
      scopes: [...(scopes ?? [])],
      ticketScopes: [...(ticketScopes ?? [])],
      ...(expression ? { scope_expression: expression } : {}),
      ...(typeof iat === 'number' ? { iat } : {}),
      ...(typeof exp === 'number' ? { exp } : {}),
    };
  });
}

function checkMethodsUnique(records: readonly ResourceRecord[]): void {
  const seen = new Set<string>();
  for (const record of records) {
    for (const method of record.httpMethods) {
      const key = `${method} ${record.path}`;
      if (seen.has(key)) {
        throw new UmaError(
          'http_method_not_unique',
          `HTTP method ${method} is used more than once for path ${record.path}; give each method one condition`,
        );
      }
      seen.add(key);
    }
  }
}

/** Every scope a resource knows: plain, ticket and those of its scope expression. */
export function registeredScopes(resource: ProtectedResource): Set<string> {
  return new Set([
    ...resource.scopes,
    ...resource.ticketScopes,
    ...(resource.scope_expression?.data ?? []),
  ]);
}

/** The protected resources of every oxd_id. */
export class ResourceRegistry {
  private readonly resources = new Map<string, ProtectedResource[]>();

  /** `uma_rs_protect`: registers `resources` for `oxdId` (all of them replace the old ones). */
  protect(oxdId: string, resources: UmaResource[], overwrite: boolean): void {
    if (!Array.isArray(resources) || resources.length === 0) {
      throw new UmaError('invalid_uma_request', 'No resources to protect: "resources" is empty');
    }
    const records = resources.flatMap((resource, i) => toRecords(resource, i));
    checkMethodsUnique(records);
    if ((this.resources.get(oxdId) ?? []).length > 0 && !overwrite) {
      throw new UmaError(
        'uma_protection_exists',
        'Resources are already protected for this oxd_id; pass overwrite=true to replace them',
      );
    }
    this.resources.set(
      oxdId,
      records.map((record) => ({ id: randomUUID(), ...record })),
    );
    debug('uma: %s protected %d resource(s)', oxdId, records.length);
  }

  /** Drops every resource of `oxdId`. */
  remove(oxdId: string): void {
    this.resources.delete(oxdId);
  }

  /** The resource of `oxdId` with this id. */
  find(oxdId: string, resourceId: string): ProtectedResource | undefined {
    return (this.resources.get(oxdId) ?? []).find((r) => r.id === resourceId);
  }

  /** The resource of `oxdId` protecting `method` (upper case) on `path`. */
  match(oxdId: string, path: string, method: string): ProtectedResource | undefined {
    return (this.resources.get(oxdId) ?? []).find(
      (r) => r.path === path && r.httpMethods.includes(method),
    );
  }

  /** The protected resources, for persistence. */
  toJSON(): UmaServerState {
    const resources: Record<string, ProtectedResource[]> = {};
    for (const [oxdId, list] of this.resources) {
      resources[oxdId] = structuredClone(list);
    }
    return { version: 1, resources };
  }

  /** Replaces the protected resources with saved ones; throws a TypeError on a bad shape. */
  fromJSON(state: unknown): void {
    const { version, resources } = (state ?? {}) as Partial<UmaServerState>;
    if (version !== 1 || typeof resources !== 'object' || resources === null) {
      throw new TypeError('UMA state must be {version: 1, resources: {…}} as toJSON returns it');
    }
    const restored = new Map<string, ProtectedResource[]>();
    for (const [oxdId, list] of Object.entries(resources)) {
      if (!Array.isArray(list)) {
        throw new TypeError(`UMA state: resources of ${oxdId} must be a list`);
      }
      restored.set(
        oxdId,
        list.map((saved: Partial<ProtectedResource>, i) => restore(saved, i, oxdId)),
      );
      checkMethodsUnique(restored.get(oxdId) ?? []);
    }
    this.resources.clear();
    for (const [oxdId, list] of restored) this.resources.set(oxdId, list);
  }
}

/** One saved resource, checked like a new one. */
function restore(saved: Partial<ProtectedResource>, i: number, oxdId: string): ProtectedResource {
  if (!isNonEmptyString(saved?.id)) {
    throw new TypeError(`UMA state: resource ${i} of ${oxdId} has no id`);
  }
  let record: ResourceRecord;
  try {
    [record] = toRecords(
      {
        path: saved.path,
        conditions: [
          {
            httpMethods: saved.httpMethods,
            scopes: saved.scopes,
            ticketScopes: saved.ticketScopes,
            scope_expression: saved.scope_expression,
          },
        ],
        iat: saved.iat,
        exp: saved.exp,
      },
      i,
    ) as [ResourceRecord];
  } catch (err) {
    if (!(err instanceof UmaError)) throw err;
    throw new TypeError(`UMA state of ${oxdId}: ${err.description}`, { cause: err });
  }
  return { id: saved.id, ...record };
}
