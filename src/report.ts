/**
 * The one point where the middleware reports a failure it produced (login, callback, logout,
 * refresh, `umaProtect`, the UMA helpers, back-channel logout): it marks the operation's span
 * as failed with the `OXD_…` code, and logs the failure through the `logger` of the options
 * that produced it, when they have one. The middleware calls it once per failure, where the
 * failure ends the operation; nothing reports it again later.
 */
import { OxdError } from './errors';
import {
  failureCode,
  markFailed,
  startOperation,
  traceIds,
  type OperationName,
  type TelemetrySpan,
} from './telemetry';

/** Where failures are logged: console and winston fit as they are. */
export interface FailureLogger {
  warn(message: string, fields: Record<string, unknown>): void;
  error(message: string, fields: Record<string, unknown>): void;
}

/** What may carry a logger: the runtime of an `oxdAuth()` instance, say. */
export interface LoggerHolder {
  readonly logger?: FailureLogger | undefined;
}

/** Where a failure was produced. */
export interface FailureSite {
  /** The operation that failed (`callback`, `refresh`, `uma_check`, …). */
  readonly operation: string;
  /** The options of the middleware that produced it (their `logger`, when set, logs it). */
  readonly runtime?: LoggerHolder | undefined;
  /** The operation's span, when it is traced. */
  readonly span?: TelemetrySpan | undefined;
}

/**
 * Reports `failure`: the span's status becomes an error with the failure's code, and a
 * server-side failure (status 500 and above) is logged once with its code, status and the
 * trace and span ids. Never logs the error's message or anything the request carried.
 */
export function reportFailure(failure: unknown, site: FailureSite): void {
  markFailed(site.span, failure);
  const logger = site.runtime?.logger;
  if (logger === undefined) return;
  const status = failure instanceof OxdError ? failure.status : 500;
  if (status < 500) return;
  const code = failureCode(failure);
  logger.error(`express-oxd: ${site.operation} failed with ${code}`, {
    code,
    status,
    operation: site.operation,
    ...traceIds(site.span),
  });
}

/**
 * Runs one operation of the middleware in its span (`express-oxd <name>`, under the span of
 * the operation `req` is in, else the active one), counts how it ended, and reports its
 * failure. `outcomeOf` names failures that are an outcome rather than a failure (a refresh
 * token the OP refused: `refused`); those are counted, not reported.
 */
export async function traced<T>(
  name: OperationName,
  req: object | undefined,
  runtime: LoggerHolder | undefined,
  run: (span: TelemetrySpan | undefined) => Promise<T>,
  outcomeOf?: (failure: unknown) => string | undefined,
): Promise<T> {
  const operation = startOperation(name, req);
  try {
    const result = await run(operation.span);
    operation.end('success');
    return result;
  } catch (err) {
    const outcome = outcomeOf?.(err);
    if (outcome === undefined)
      reportFailure(err, { operation: name, runtime, span: operation.span });
    operation.end(outcome ?? 'failure', err);
    throw err;
  }
}
