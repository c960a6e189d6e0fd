/**
 * The one point where the middleware reports a failure it produced (login, callback, logout,
 * refresh, `umaProtect`, the UMA helpers, back-channel logout): it marks the operation's span
 * as failed with the `OXD_…` code, and logs the failure through the `logger` of the options
 * that produced it, when they have one. The middleware calls it once per failure, where the
 * failure ends the operation; nothing reports it again later.
 */
import { OxdCommandError, OxdError } from './errors';
import { consoleLogger, LOGGER_METHODS, type Logger } from './logger';
import { hasMethods, type Fail } from './option-check';
import {
  failureCode,
  markFailed,
  startOperation,
  traceIds,
  type OperationName,
  type TelemetrySpan,
} from './telemetry';

/** Where failures are logged: console and winston fit as they are. */
export type FailureLogger = Logger;

/** What may carry a logger: the runtime of an `oxdAuth()` instance, say. */
interface LoggerHolder {
  readonly logger?: FailureLogger | undefined;
}

/** Where a failure was produced. */
interface FailureSite {
  /** The operation that failed (`callback`, `refresh`, `uma_check`, …). */
  readonly operation: string;
  /** The options of the middleware that produced it: their `logger` logs it (else `console`). */
  readonly runtime?: LoggerHolder | undefined;
  /** The operation's span, when it is traced. */
  readonly span?: TelemetrySpan | undefined;
  /**
   * `warn` for a failure the request got over (a refresh ahead of expiry that failed while
   * the current token stays valid). Default `error`.
   */
  readonly level?: 'warn' | 'error' | undefined;
}

/** A Node system error code (`ECONNREFUSED`, `ETIMEDOUT`, …): a name, never free text. */
const SYSTEM_CODE = /^E[A-Z0-9_]{1,40}$/;
/** A plain name (oxd's `error`, an error class): no spaces, no values. */
const PLAIN_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * What caused `failure`, as a name safe to log: oxd's `error` (`invalid_request`,
 * `http_status_503`, …) when oxd answered one, else the first system error code
 * (`ECONNREFUSED`) or error class (`SocketError`) down its chain of causes. Never a message:
 * messages can quote what a request or a store carried.
 */
export function causeOf(failure: unknown): string | undefined {
  if (failure instanceof OxdCommandError && PLAIN_NAME.test(failure.error)) return failure.error;
  // Errors of Node and undici may come from another realm: no `instanceof Error` below.
  let current = causeIn(failure);
  for (let depth = 0; depth < 8 && current !== undefined; depth += 1) {
    if (current instanceof OxdCommandError && PLAIN_NAME.test(current.error)) return current.error;
    const { code, name } = current as { code?: unknown; name?: unknown };
    if (typeof code === 'string' && SYSTEM_CODE.test(code)) return code;
    if (!(current instanceof OxdError)) {
      // undici's errors carry a code (`UND_ERR_CONNECT_TIMEOUT`) besides their class name.
      if (typeof code === 'string' && PLAIN_NAME.test(code)) return code;
      if (typeof name === 'string' && PLAIN_NAME.test(name)) return name;
    }
    current = causeIn(current);
  }
  return undefined;
}

/** The `cause` of an error, when it is an object. */
function causeIn(error: unknown): object | undefined {
  const cause =
    typeof error === 'object' && error !== null ? (error as { cause?: unknown }).cause : undefined;
  return typeof cause === 'object' && cause !== null ? cause : undefined;
}

/**
 * Reports `failure`: the span's status becomes an error with the failure's code, and a
 * server-side failure (status 500 and above) is logged once through the site's logger
 * (default `console`) with its code, status, cause (see {@link causeOf}) and the trace and
 * span ids. A visitor's 4xx is not logged. Never logs the error's message or anything the
 * request carried.
 */
export function reportFailure(failure: unknown, site: FailureSite): void {
  markFailed(site.span, failure);
  const status = failure instanceof OxdError ? failure.status : 500;
  if (status < 500) return;
  const logger = site.runtime?.logger ?? consoleLogger;
  const code = failureCode(failure);
  const cause = causeOf(failure);
  // A warning's request was served: the status its failure would have had is not given.
  const fields: Record<string, unknown> =
    site.level === 'warn'
      ? { code, operation: site.operation }
      : { code, status, operation: site.operation };
  if (cause !== undefined) fields.cause = cause;
  Object.assign(fields, traceIds(site.span));
  const message = `express-oxd: ${site.operation} failed with ${code}${cause === undefined ? '' : ` (${cause})`}`;
  if (site.level === 'warn') logger.warn(message, fields);
  else logger.error(message, fields);
}

/**
 * What an operation that answers its own refusals and failures instead of throwing them
 * (back-channel logout answers the OP 400 or 503) resolves with: how it ended, for its span
 * and its counter. The failure is reported where it was answered.
 */
export class AnsweredOutcome {
  constructor(
    readonly outcome: 'refused' | 'failure',
    readonly failure?: unknown,
  ) {}
}

/**
 * Runs one operation of the middleware in its span (`express-oxd <name>`, under the span of
 * the operation `req` is in, else the active one), counts how it ended, and reports its
 * failure. `outcomeOf` names failures that are an outcome rather than a failure (a refresh
 * token the OP refused: `refused`); those are counted, not reported. `levelOf` says how a
 * reported failure is logged (default `error`). An operation that answered a refusal or a
 * failure itself resolves with an {@link AnsweredOutcome}, counted as what it says.
 */
export async function traced<T>(
  name: OperationName,
  req: object | undefined,
  runtime: LoggerHolder | undefined,
  run: (span: TelemetrySpan | undefined) => Promise<T>,
  outcomeOf?: (failure: unknown) => string | undefined,
  levelOf?: (failure: unknown) => 'warn' | 'error',
): Promise<T> {
  const operation = startOperation(name, req);
  try {
    const result = await run(operation.span);
    if (result instanceof AnsweredOutcome) operation.end(result.outcome, result.failure);
    else operation.end('success');
    return result;
  } catch (err) {
    const outcome = outcomeOf?.(err);
    if (outcome === undefined)
      reportFailure(err, {
        operation: name,
        runtime,
        span: operation.span,
        level: levelOf?.(err),
      });
    operation.end(outcome ?? 'failure', err);
    throw err;
  }
}

/**
 * A middleware's `logger` option: the given object with `warn(message, fields)` and
 * `error(message, fields)`, else the logger of its oxd `client` (when it has one), else
 * `console`.
 */
export function loggerOption(value: unknown, client: unknown, fail: Fail): Logger {
  if (value !== undefined) {
    if (!hasMethods(value, LOGGER_METHODS)) {
      fail(
        'logger',
        'must be an object with warn(message, fields) and error(message, fields), such as console (pino: see the operations docs)',
      );
    }
    return value as Logger;
  }
  const own = (client as { logger?: unknown } | null | undefined)?.logger;
  return hasMethods(own, LOGGER_METHODS) ? (own as Logger) : consoleLogger;
}
