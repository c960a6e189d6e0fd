/**
 * Back-channel logout records that follow a login into a new session. The session id
 * changes under a login when another `oxdAuth()` instance's login regenerates the session
 * and carries it over (followed at once, `followSessionId`), and when the application
 * regenerates the session itself and copies the login into it: the login keeps the id its
 * records name (`recordedIn`), and the first request that shows another id brings them to
 * it (`movedLogin`, `followMovedLogin`), unless a back-channel logout named them meanwhile.
 */
import { debuglog } from 'node:util';
import type { StoredLogin } from '../session/login';
import { sessionLogin, type OxdSession } from '../session/store';
import {
  changeRecord,
  forgetIds,
  hasRecords,
  loginRecordKeys,
  recordSession,
  type RecordSettings,
  type SessionStore,
} from './logout-records';
import type { RefreshLock } from './refresh-lock';

const debug = debuglog('express-oxd');

/**
 * After a login regenerated the session (`oldId` → `newId`) and carried other instances'
 * logins over (`kept`): their records name the new id from now on, and so do the logins
 * (`recordedIn`, saved with the session). Failures are logged; a login whose records could
 * not be moved (or were not found) keeps naming the old id, and its next request moves them.
 */
export async function followSessionId(
  store: SessionStore | undefined,
  lock: RefreshLock | undefined,
  kept: readonly [string, unknown][],
  oldId: string | undefined,
  newId: string | undefined,
): Promise<void> {
  if (!store || !oldId || !newId || oldId === newId) return;
  const logins = kept.flatMap(([sessionKey, value]) =>
    hasRecords(sessionKey) && typeof value === 'object' && value !== null
      ? [{ sessionKey, data: value as StoredLogin }]
      : [],
  );
  try {
    await Promise.all(
      logins.map(async ({ sessionKey, data }) => {
        // A record not found (lost from the store) is written anew by the login's own
        // instance, which knows its lifetime: the login is not stamped, so its next request
        // records it.
        let moved = true;
        await Promise.all(
          loginRecordKeys(data, sessionKey).map((key) =>
            changeRecord(store, lock, key, async (found) => {
              if (!found) {
                moved = false;
                return found;
              }
              const before = found.oxdSessionIds ?? [];
              if (before.includes(newId) && !before.includes(oldId)) return found;
              const ids = before.filter((other) => other !== oldId && other !== newId);
              return { ...found, oxdSessionIds: [...ids, newId] };
            }),
          ),
        );
        if (moved) data.recordedIn = newId;
      }),
    );
  } catch (err) {
    debug('back-channel logout: could not move the login records (%s)', (err as Error).message);
  }
}

/**
 * The session's login under `settings.sessionKey` when its records name another session
 * id than `id`, the session's own: the application regenerated the session and copied the
 * login into it (or an earlier version stored the login). A property read and a compare.
 */
export function movedLogin(
  sessionKey: string,
  session: OxdSession | undefined,
  id: string | undefined,
): StoredLogin | undefined {
  const data = sessionLogin(session, sessionKey);
  return data !== undefined && id !== undefined && data.recordedIn !== id ? data : undefined;
}

/**
 * Brings the records of a moved login (`movedLogin`) to the session id `id` and stamps the
 * login with it (saved with the session). When a back-channel logout named the login's
 * records after it began (the logout came while they named the old session), the login is
 * removed from the session instead. A store failure is logged and leaves the login as it
 * was, to be tried again on the next request; without a store the login is only stamped.
 */
export async function followMovedLogin(
  settings: RecordSettings,
  store: SessionStore | undefined,
  session: OxdSession,
  id: string,
  data: StoredLogin,
): Promise<void> {
  if (!store) {
    // No store to keep records in (so none to move): stamped, not looked at again.
    data.recordedIn = id;
    return;
  }
  try {
    if (await recordSession(settings, store, id, data, data.startedAt ?? 0)) {
      data.recordedIn = id;
      return;
    }
    await forgetIds(store, settings.refreshLock, loginRecordKeys(data, settings.sessionKey), [id]);
    if (session[settings.sessionKey] === data) delete session[settings.sessionKey];
    debug('back-channel logout: a copied login had been logged out; it ended');
  } catch (err) {
    debug('back-channel logout: could not move the login records (%s)', (err as Error).message);
  }
}
