/**
 * An OpenTelemetry SDK for tests: spans go to an in-memory exporter, metrics to a reader
 * the test collects from. Installed as the global providers of the test file (each test
 * file has its own globals).
 */
import { context, metrics, trace, type Attributes } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  type DataPoint,
  type Histogram,
  MeterProvider,
  MetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';

class CollectingReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** A span and the spans under it, by name; attributes of our spans kept for assertions. */
export interface SpanNode {
  name: string;
  children: SpanNode[];
}

export interface TestTelemetry {
  /** Finished spans so far, in the order they ended. */
  spans(): ReadableSpan[];
  /** Forgets the spans so far. */
  reset(): void;
  /** The finished spans as trees (roots: spans whose parent is not among them), by start time. */
  tree(spans?: ReadableSpan[]): SpanNode[];
  /** The data points of the metric `name` now (cumulative). */
  points(name: string): Promise<DataPoint<number | Histogram>[]>;
  shutdown(): Promise<void>;
}

export function installTelemetry(options: { contextManager?: boolean } = {}): TestTelemetry {
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const reader = new CollectingReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  if (options.contextManager) {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  }
  trace.setGlobalTracerProvider(tracerProvider);
  metrics.setGlobalMeterProvider(meterProvider);

  const tree = (spans: ReadableSpan[] = exporter.getFinishedSpans()): SpanNode[] => {
    const ids = new Set(spans.map((span) => span.spanContext().spanId));
    const byStart = [...spans].sort(
      (a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1],
    );
    const node = (span: ReadableSpan): SpanNode => ({
      name: span.name,
      children: byStart
        .filter((child) => child.parentSpanContext?.spanId === span.spanContext().spanId)
        .map(node),
    });
    return byStart.filter((span) => !ids.has(span.parentSpanContext?.spanId ?? '')).map(node);
  };

  return {
    spans: () => exporter.getFinishedSpans(),
    reset: () => exporter.reset(),
    tree,
    async points(name) {
      const { resourceMetrics } = await reader.collect();
      for (const scope of resourceMetrics.scopeMetrics) {
        for (const metric of scope.metrics) {
          if (metric.descriptor.name === name) {
            return metric.dataPoints as DataPoint<number | Histogram>[];
          }
        }
      }
      return [];
    },
    async shutdown() {
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
      trace.disable();
      metrics.disable();
      context.disable();
    },
  };
}

/** The value of the counter point whose attributes include `attributes` (0 when none). */
export function countOf(points: DataPoint<number | Histogram>[], attributes: Attributes): number {
  let sum = 0;
  for (const point of points) {
    const matches = Object.entries(attributes).every(([k, v]) => point.attributes[k] === v);
    if (matches) sum += typeof point.value === 'number' ? point.value : point.value.count;
  }
  return sum;
}
