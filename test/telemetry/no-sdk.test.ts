/**
 * Without OpenTelemetry in the application nothing changes: the package does not even load
 * `@opentelemetry/api`, not at start and not when commands run. Once something registers
 * with the API (an SDK), the same commands load it.
 */
import { join } from 'node:path';
import { ensureBuilt, ROOT } from '../helpers/build';
import { nodeOutput } from '../helpers/instances';

/** Runs `script` with node from the repository root; resolves with its stdout as JSON. */
async function runNode(script: string): Promise<{ code: string; loaded: string[] }> {
  return JSON.parse(await nodeOutput(['-e', script])) as { code: string; loaded: string[] };
}

/** A login's first command against an oxd that is down, then what was loaded. */
function script(withSdk: boolean): string {
  return `
    if (${withSdk}) {
      const api = require('@opentelemetry/api');
      const { BasicTracerProvider } = require('@opentelemetry/sdk-trace-base');
      api.trace.setGlobalTracerProvider(new BasicTracerProvider());
      // Forgotten, so that what is loaded below is what the package loads itself.
      for (const file of Object.keys(require.cache)) {
        if (file.includes('@opentelemetry')) delete require.cache[file];
      }
    }
    const { createOxdClient, oxdAuth } = require(${JSON.stringify(join(ROOT, 'dist', 'index.js'))});
    const config = {
      oxd: { host: '127.0.0.1', port: 1, oxdId: 'site-registered-before' },
      client: { opHost: 'https://op.example', authorizationRedirectUri: 'https://app.example/cb' },
    };
    oxdAuth({ config });
    const client = createOxdClient(config);
    client.getAuthorizationUrl().then(
      () => { throw new Error('oxd answered on port 1?'); },
      (err) => {
        const loaded = Object.keys(require.cache).filter((file) => file.includes('@opentelemetry'));
        process.stdout.write(JSON.stringify({ code: err.code, loaded }));
        return client.close();
      },
    );
  `;
}

beforeAll(async () => {
  await ensureBuilt();
}, 240_000);

test('no SDK: commands run without loading @opentelemetry/api', async () => {
  const { code, loaded } = await runNode(script(false));
  expect(code).toBe('OXD_TRANSPORT_FAILED');
  expect(loaded).toEqual([]);
});

test('an SDK registered: the same command loads the API', async () => {
  const { code, loaded } = await runNode(script(true));
  expect(code).toBe('OXD_TRANSPORT_FAILED');
  expect(loaded.some((file) => file.includes(join('@opentelemetry', 'api')))).toBe(true);
});
