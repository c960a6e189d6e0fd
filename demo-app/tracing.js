'use strict';
/**
 * `--trace`: prints every span the demo's login makes to the console, one line each, through
 * OpenTelemetry's SDK (the package's own devDependencies; an application would use the
 * Node SDK and an OTLP exporter, see docs/observability.md).
 */

/** One line for a finished span: name, duration, outcome, and what it nests under. */
function spanLine(span) {
  const ms = span.duration[0] * 1e3 + span.duration[1] / 1e6;
  const { traceId, spanId } = span.spanContext();
  const parent = span.parentSpanContext?.spanId;
  const failed = span.status.code === 2;
  const attributes = Object.entries(span.attributes)
    .map(([key, value]) => `${key}=${value}`)
    .join(' ');
  return (
    `[trace ${traceId.slice(0, 8)}] ${span.name} ${ms.toFixed(1)} ms` +
    `${failed ? ` ERROR ${span.status.message}` : ''} span=${spanId}` +
    `${parent ? ` parent=${parent}` : ''}${attributes ? ` ${attributes}` : ''}`
  );
}

/**
 * Registers a tracer provider printing finished spans with `log`, and a context manager (so
 * spans nest across the app's callbacks). Returns what shuts it down.
 */
function startConsoleTracing(log) {
  let api;
  let sdk;
  let hooks;
  try {
    api = require('@opentelemetry/api');
    sdk = require('@opentelemetry/sdk-trace-base');
    hooks = require('@opentelemetry/context-async-hooks');
  } catch (error) {
    throw new Error(
      '--trace needs the OpenTelemetry SDK of the devDependencies: run npm install first',
      { cause: error },
    );
  }
  const exporter = {
    export(spans, done) {
      for (const span of spans) log(spanLine(span));
      done({ code: 0 });
    },
    shutdown: () => Promise.resolve(),
  };
  const provider = new sdk.BasicTracerProvider({
    spanProcessors: [new sdk.SimpleSpanProcessor(exporter)],
  });
  api.context.setGlobalContextManager(new hooks.AsyncLocalStorageContextManager().enable());
  api.trace.setGlobalTracerProvider(provider);
  return () => provider.shutdown();
}

module.exports = { startConsoleTracing, spanLine };
