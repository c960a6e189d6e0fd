/** Options of `req.oxd.refresh()`, checked before anything is sent. */
import { OxdConfigError } from '../errors';
import { isPlainObject } from '../option-check';
import { tokens } from './login-params';

export interface RefreshOptions {
  /**
   * Scopes to ask for (a list, or space-separated), sent as oxd's `scope` parameter of
   * `get_access_token_by_refresh_token`; the OP may grant at most those of the login.
   * Default: none sent (the OP keeps the login's scopes).
   */
  scope?: string | readonly string[];
}

/** The checked `scope` of `req.oxd.refresh(options)`, `undefined` when none is asked for. */
export function refreshScope(options: RefreshOptions): readonly string[] | undefined {
  if (!isPlainObject(options) || Object.keys(options).some((key) => key !== 'scope')) {
    throw new OxdConfigError('refresh() takes { scope } (a list of scopes, or space-separated)', {
      key: 'scope',
    });
  }
  if (options.scope === undefined) return undefined;
  const list =
    typeof options.scope === 'string' || Array.isArray(options.scope)
      ? tokens(options.scope as string | readonly string[])
      : undefined;
  if (list === undefined) {
    throw new OxdConfigError(
      'refresh() scope: must be scope names (a list, or space-separated), e.g. ["openid", "email"]',
      { key: 'scope' },
    );
  }
  return list;
}
