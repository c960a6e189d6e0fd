/**
 * With a context manager (as an application with OpenTelemetry's Node SDK has), our spans
 * nest under the span the application's HTTP instrumentation made active, and the trace ids
 * a log line can carry are those of the active span.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { context, trace } from '@opentelemetry/api';
import request from 'supertest';
import { oxdAuth, traceIds } from '../../src';
import { resolveConfig } from '../../src/config/resolve';
import { OxdClient } from '../../src/oxd/client';
import { ensureBuilt } from '../helpers/build';
import { dedicatedStack } from '../helpers/local-stack';
import { installTelemetry, type TestTelemetry } from '../helpers/telemetry';
import { buildApp } from '../fixtures/apps';
import { configFor, type LocalStack, logIn } from '../helpers/stack-fixture';

let stack: LocalStack;
let telemetry: TestTelemetry;

beforeAll(async () => {
  await ensureBuilt();
  stack = await dedicatedStack();
  telemetry = installTelemetry({ contextManager: true });
}, 240_000);

afterAll(async () => {
  await telemetry?.shutdown();
});

/** The app behind a server span made active for each request, as HTTP instrumentation does. */
function instrumented(
  app: (req: IncomingMessage, res: ServerResponse) => void,
): (req: IncomingMessage, res: ServerResponse) => void {
  const tracer = trace.getTracer('test-http-server');
  return (req, res) => {
    const span = tracer.startSpan(`GET ${(req.url ?? '/').split('?')[0]}`);
    res.on('finish', () => span.end());
    context.with(trace.setSpan(context.active(), span), () => {
      if (req.url === '/ids') {
        const { traceId, spanId } = span.spanContext();
        res.setHeader('Content-Type', 'application/json');
        res.end(
          JSON.stringify({ logged: traceIds(), server: { trace_id: traceId, span_id: spanId } }),
        );
        return;
      }
      app(req, res);
    });
  };
}

test('the login and callback spans nest under the active server spans', async () => {
  const config = configFor(stack, 'https4');
  const client = new OxdClient(resolveConfig(config), { writeBack: false });
  const agent = request.agent(instrumented(buildApp('express5', oxdAuth({ config, client }))));
  try {
    expect((await logIn(agent, stack)).status).toBe(302); // registers the site
    telemetry.reset();
    expect((await logIn(agent, stack)).status).toBe(302);
    expect(telemetry.tree()).toEqual([
      {
        name: 'GET /login',
        children: [
          {
            name: 'express-oxd login',
            children: [{ name: 'oxd get_authorization_url', children: [] }],
          },
        ],
      },
      {
        name: 'GET /callback',
        children: [
          {
            name: 'express-oxd callback',
            children: [
              { name: 'oxd get_tokens_by_code', children: [] },
              { name: 'oxd get_user_info', children: [] },
            ],
          },
        ],
      },
    ]);
  } finally {
    await client.close();
  }
});

test('traceIds() gives the active trace and span ids for a log line', async () => {
  const res = await request(instrumented(() => {})).get('/ids');
  expect(res.body.logged).toEqual(res.body.server);
  expect(res.body.logged.trace_id).toMatch(/^[0-9a-f]{32}$/);
});
