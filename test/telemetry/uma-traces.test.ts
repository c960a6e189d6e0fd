/**
 * Spans of UMA: a `umaProtect` check (with the resources' registration the first check
 * triggers) and a requesting party's `umaGetRpt`, against the local oxd's UMA authorization
 * server over the socket; a decision the cache answers makes no span; no RPT or ticket in
 * any attribute.
 */
import { request } from 'undici';
import { umaGetRpt, umaProtect } from '../../src';
import type { OxdClient } from '../../src/oxd/client';
import { dedicatedStack } from '../helpers/local-stack';
import { installTelemetry, type TestTelemetry } from '../helpers/telemetry';
import { clientFor, type LocalStack } from '../helpers/stack-fixture';
import {
  parseOxdChallenge,
  RESOURCES,
  type ResourceServer,
  startResourceServer,
} from '../uma/uma-fixture';

let stack: LocalStack;
let telemetry: TestTelemetry;
let rs: ResourceServer;
let rsClient: OxdClient;
let rp: OxdClient;

beforeAll(async () => {
  stack = await dedicatedStack();
  telemetry = installTelemetry();
  rsClient = clientFor(stack, 'socket').client;
  rp = clientFor(stack, 'socket').client;
  rs = await startResourceServer(umaProtect(RESOURCES, { client: rsClient }));
}, 120_000);

afterAll(async () => {
  await rs?.close();
  await rsClient?.close();
  await rp?.close();
  await telemetry?.shutdown();
});

async function get(path: string, rpt?: string) {
  const response = await request(rs.url + path, {
    headers: rpt === undefined ? {} : { authorization: `Bearer ${rpt}` },
  });
  await response.body.text();
  const header = response.headers['www-authenticate'];
  return { status: response.statusCode, header: typeof header === 'string' ? header : undefined };
}

test('umaProtect checks and umaGetRpt, each in its span with its oxd commands under it', async () => {
  const spans: ReturnType<TestTelemetry['spans']> = [];
  const reset = () => {
    spans.push(...telemetry.spans());
    telemetry.reset();
  };
  telemetry.reset();
  const denied = await get('/api/photos');
  expect(denied.status).toBe(401);
  const ticket = parseOxdChallenge(denied.header).ticket as string;
  expect(telemetry.tree()).toEqual([
    {
      name: 'express-oxd uma_check',
      children: [
        { name: 'oxd uma_rs_protect', children: [{ name: 'oxd register_site', children: [] }] },
        { name: 'oxd uma_rs_check_access', children: [] },
      ],
    },
  ]);

  reset();
  const { rpt } = await umaGetRpt(rp, { ticket });
  expect(telemetry.tree()).toEqual([
    {
      name: 'express-oxd uma_get_rpt',
      children: [
        { name: 'oxd uma_rp_get_rpt', children: [{ name: 'oxd register_site', children: [] }] },
      ],
    },
  ]);

  reset();
  expect((await get('/api/photos', rpt)).status).toBe(200);
  expect(telemetry.tree()).toEqual([
    {
      name: 'express-oxd uma_check',
      children: [{ name: 'oxd uma_rs_check_access', children: [] }],
    },
  ]);
  // The decision cache answers the same RPT for the same resource: no span.
  reset();
  expect((await get('/api/photos', rpt)).status).toBe(200);
  expect(telemetry.spans()).toEqual([]);

  expect(spans.length).toBe(9);
  const values = spans.flatMap((span) => Object.values(span.attributes).map(String));
  expect(values.filter((value) => value.includes(rpt) || value.includes(ticket))).toEqual([]);
  for (const span of spans) expect(span.attributes['express_oxd.outcome']).toBe('success');
});
