/**
 * Traces and metrics through OpenTelemetry's API. The API is loaded only once something
 * (an SDK, a context manager) has registered with it: an application without OpenTelemetry
 * never loads it, and every function here then returns at once.
 *
 * Our spans are internal spans. They nest under the span the caller passes explicitly
 * (across awaits, so they need no context manager), else under whatever is active; while
 * an oxd command runs its span is made active too, so that the HTTP client spans of an
 * undici instrumentation nest under it when the application has a context manager.
 *
 * No attribute ever carries a token, code, state, cookie, secret or claim value: only the
 * names of operations and commands, the transport, the oxd dialect, outcomes and codes.
 */
import type * as Otel from '@opentelemetry/api';
import { OxdCommandError, OxdError } from './errors';

type Api = typeof Otel;
/** A span of OpenTelemetry's API. */
export type TelemetrySpan = Otel.Span;

/** Where every copy of OpenTelemetry's API (major version 1) keeps what was registered. */
const GLOBAL_KEY = Symbol.for('opentelemetry.js.api.1');
/** The instrumentation scope of our spans and metrics. */
const SCOPE = 'express-oxd';
/** `SpanStatusCode.ERROR`, without loading the API. */
const STATUS_ERROR = 2;

let loaded: Api | undefined;

/** The API, or undefined while nothing has registered with it. */
function otel(): Api | undefined {
  if (loaded !== undefined) return loaded;
  if ((globalThis as Record<symbol, unknown>)[GLOBAL_KEY] === undefined) return undefined;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  loaded = require('@opentelemetry/api') as Api;
  return loaded;
}

// -----------------------------------------------------------------------------------------
// Parents

/** The parent the next oxd command started (synchronously) takes; see {@link withParent}. */
let ambient: TelemetrySpan | undefined;
/** The span of the operation a request is in (login, callback, refresh, …). */
const requestSpans = new WeakMap<object, TelemetrySpan>();

/**
 * Calls `start`, which starts an oxd command synchronously (an `OxdClient` method), with
 * `parent` as the parent of that command's span. Nothing else is changed.
 */
export function withParent<T>(parent: TelemetrySpan | undefined, start: () => T): T {
  if (parent === undefined) return start();
  const previous = ambient;
  ambient = parent;
  try {
    return start();
  } finally {
    ambient = previous;
  }
}

/** {@link withParent} with the span of the operation `req` is in. */
export function underRequest<T>(req: object, start: () => T): T {
  return withParent(requestSpans.get(req), start);
}

/** The parent {@link withParent} gives the command being started, read at its start. */
export function takeParent(): TelemetrySpan | undefined {
  return ambient;
}

// -----------------------------------------------------------------------------------------
// Metrics

/** What a socket transport reports about its pool. */
export interface PoolGauge {
  readonly address: string;
  readonly port: number;
  inUse(): number;
  waiting(): number;
}

/** Pools of live socket transports: a transport dropped by the application drops out. */
const pools = new Set<WeakRef<PoolGauge>>();

/** Reports `pool` in the pool metrics for as long as something else holds it. */
export function watchPool(pool: PoolGauge): void {
  pools.add(new WeakRef(pool));
}

function observePools(result: Otel.ObservableResult, read: (pool: PoolGauge) => number): void {
  for (const ref of pools) {
    const pool = ref.deref();
    if (pool === undefined) {
      pools.delete(ref);
      continue;
    }
    result.observe(read(pool), { 'server.address': pool.address, 'server.port': pool.port });
  }
}

interface Instruments {
  readonly provider: Otel.MeterProvider;
  readonly logins: Otel.Counter;
  readonly refreshes: Otel.Counter;
  readonly logouts: Otel.Counter;
  readonly commandDuration: Otel.Histogram;
}

let instruments: Instruments | undefined;

/** Our instruments on the meter provider registered now (made again when it changes). */
function meters(api: Api): Instruments {
  const provider = api.metrics.getMeterProvider();
  if (instruments?.provider === provider) return instruments;
  const meter = provider.getMeter(SCOPE);
  const inUse = meter.createObservableUpDownCounter('express_oxd.socket_pool.connections_in_use', {
    description: 'Connections of the oxd socket pool running a command',
    unit: '{connection}',
  });
  inUse.addCallback((result) => observePools(result, (pool) => pool.inUse()));
  const waiting = meter.createObservableUpDownCounter('express_oxd.socket_pool.commands_waiting', {
    description: 'oxd commands waiting for a free connection of the socket pool',
    unit: '{command}',
  });
  waiting.addCallback((result) => observePools(result, (pool) => pool.waiting()));
  instruments = {
    provider,
    logins: meter.createCounter('express_oxd.logins', {
      description: 'Logins that ended, by outcome (a login failing at its start counts too)',
      unit: '{login}',
    }),
    refreshes: meter.createCounter('express_oxd.refreshes', {
      description: 'Access-token refreshes, by outcome',
      unit: '{refresh}',
    }),
    logouts: meter.createCounter('express_oxd.logouts', {
      description: 'Logouts (RP-initiated, front- and back-channel), by outcome',
      unit: '{logout}',
    }),
    commandDuration: meter.createHistogram('express_oxd.oxd.command.duration', {
      description: 'Duration of oxd commands, by command, transport and outcome',
      unit: 's',
    }),
  };
  return instruments;
}

// -----------------------------------------------------------------------------------------
// Failures

/** The stable code of a failure: the `OXD_…` code, else the error's class name. */
export function failureCode(failure: unknown): string {
  if (failure instanceof OxdError) return failure.code;
  if (failure instanceof Error) return failure.name || 'Error';
  return '_OTHER';
}

/** Marks `span` as failed with the failure's code (and oxd's error name, when oxd sent one). */
export function markFailed(span: TelemetrySpan | undefined, failure: unknown): void {
  if (span === undefined || !span.isRecording()) return;
  const code = failureCode(failure);
  span.setAttribute('error.type', code);
  const oxdError = oxdErrorName(failure);
  if (oxdError !== undefined) span.setAttribute('express_oxd.oxd.error', oxdError);
  span.setStatus({ code: STATUS_ERROR, message: code });
}

/** oxd's `error` (`invalid_grant`, `http_status_503`, …) when it is a plain name. */
function oxdErrorName(failure: unknown): string | undefined {
  if (!(failure instanceof OxdCommandError)) return undefined;
  return /^[A-Za-z0-9_.-]{1,64}$/.test(failure.error) ? failure.error : undefined;
}

/**
 * The trace and span ids of `span`, else of the active span, as fields of a log line
 * (`{ trace_id, span_id }`); empty when there is none.
 */
export function traceIds(span?: TelemetrySpan): { trace_id?: string; span_id?: string } {
  const api = otel();
  if (api === undefined) return {};
  const context = (span ?? api.trace.getActiveSpan())?.spanContext();
  if (context === undefined || !api.isSpanContextValid(context)) return {};
  return { trace_id: context.traceId, span_id: context.spanId };
}

// -----------------------------------------------------------------------------------------
// Spans

function startSpan(
  api: Api,
  name: string,
  parent: TelemetrySpan | undefined,
  attributes: Otel.Attributes,
): TelemetrySpan {
  const active = api.context.active();
  const context = parent === undefined ? active : api.trace.setSpan(active, parent);
  return api.trace
    .getTracer(SCOPE)
    .startSpan(name, { kind: api.SpanKind.INTERNAL, attributes }, context);
}

/** Runs `run` with `span` active (for other instrumentation, with a context manager). */
function inSpan<T>(api: Api, span: TelemetrySpan, run: () => T): T {
  return api.context.with(api.trace.setSpan(api.context.active(), span), run);
}

/** What identifies an oxd command in spans and metrics. */
export interface CommandInfo {
  /** Snake_case as on the wire (`get_tokens_by_code`). */
  readonly command: string;
  readonly transport: 'socket' | 'https';
  /** The oxd dialect (`[oxd] server_version`). */
  readonly serverVersion: number;
}

/**
 * Runs one oxd command in a span `oxd <command>` under `parent` (else the active span) and
 * records its duration. `run` gets the span, to pass on to the commands it causes
 * (registration).
 */
export async function observeCommand<T>(
  info: CommandInfo,
  parent: TelemetrySpan | undefined,
  run: (span: TelemetrySpan | undefined) => Promise<T>,
): Promise<T> {
  const api = otel();
  if (api === undefined) return run(undefined);
  const started = performance.now();
  const span = startSpan(api, `oxd ${info.command}`, parent, {
    'rpc.system': 'oxd',
    'rpc.method': info.command,
    'express_oxd.transport': info.transport,
    'express_oxd.oxd.server_version': info.serverVersion,
  });
  const metric: Otel.Attributes = {
    'rpc.method': info.command,
    'express_oxd.transport': info.transport,
  };
  try {
    const result = await inSpan(api, span, () => run(span));
    span.setAttribute('express_oxd.outcome', 'success');
    metric['express_oxd.outcome'] = 'success';
    return result;
  } catch (err) {
    markFailed(span, err);
    span.setAttribute('express_oxd.outcome', 'failure');
    metric['express_oxd.outcome'] = 'failure';
    metric['error.type'] = failureCode(err);
    throw err;
  } finally {
    span.end();
    meters(api).commandDuration.record((performance.now() - started) / 1000, metric);
  }
}

/** The operations the middleware traces, and the counter each ending counts in. */
export type OperationName =
  | 'login'
  | 'callback'
  | 'logout'
  | 'frontchannel_logout'
  | 'backchannel_logout'
  | 'refresh'
  | 'uma_check'
  | 'uma_get_rpt';

const COUNTERS: Partial<Record<OperationName, 'logins' | 'refreshes' | 'logouts'>> = {
  login: 'logins',
  callback: 'logins',
  logout: 'logouts',
  frontchannel_logout: 'logouts',
  backchannel_logout: 'logouts',
  refresh: 'refreshes',
};

/** An operation's span, and what ending it records. */
export interface OperationSpan {
  readonly span: TelemetrySpan | undefined;
  /**
   * Ends the span and counts the operation: `success`, or the outcome a failure was
   * (`failure`, or `refused` for a refresh the OP refused), with the failure's code.
   */
  end(outcome: string, failure?: unknown): void;
}

const UNTRACED: OperationSpan = { span: undefined, end: () => {} };

/**
 * Starts the span `express-oxd <name>` under the span of the operation `req` is in (else the
 * active one); the oxd commands started through {@link underRequest} on `req` nest under it
 * until it ends.
 */
export function startOperation(name: OperationName, req: object | undefined): OperationSpan {
  const api = otel();
  if (api === undefined) return UNTRACED;
  const outer = req === undefined ? undefined : requestSpans.get(req);
  const span = startSpan(api, `express-oxd ${name}`, outer, { 'express_oxd.operation': name });
  if (req !== undefined) requestSpans.set(req, span);
  let ended = false;
  return {
    span,
    end(outcome, failure) {
      if (ended) return;
      ended = true;
      if (req !== undefined && requestSpans.get(req) === span) {
        if (outer === undefined) requestSpans.delete(req);
        else requestSpans.set(req, outer);
      }
      span.setAttribute('express_oxd.outcome', outcome);
      const counter = COUNTERS[name];
      if (counter !== undefined && !(name === 'login' && outcome === 'success')) {
        // A started login is counted once it ends (callback), or here when it failed.
        const attributes: Otel.Attributes = { 'express_oxd.outcome': outcome };
        if (counter === 'logouts') attributes['express_oxd.operation'] = name;
        if (failure !== undefined) attributes['error.type'] = failureCode(failure);
        meters(api)[counter].add(1, attributes);
      }
      span.end();
    },
  };
}
