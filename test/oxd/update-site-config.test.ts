/**
 * `updateSite()` without parameters, as oxd-python's `update_site()`: the configuration's
 * `[client]` values are sent again (here after another update changed them), over the oxd
 * 3.x socket and oxd-server 4.x, against the local OP and oxd.
 */
import { resolveConfig } from '../../src/config/resolve';
import { OxdClient } from '../../src/oxd/client';
import { useLocalStack } from '../helpers/local-stack';
import { APP_ORIGIN, configFor, countingTransport } from '../helpers/stack-fixture';

const stack = useLocalStack();
const clients: OxdClient[] = [];

afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
});

describe.each(['socket', 'https4'] as const)('over %s', (transport) => {
  test('updateSite() re-sends [client]; updateSite(params) sends the params', async () => {
    const base = configFor(stack, transport);
    const config = resolveConfig({
      ...base,
      client: { ...base.client, clientName: 'Site from the configuration' },
    });
    const counter = countingTransport(stack, transport);
    const client = new OxdClient(config, { transport: counter, writeBack: false });
    clients.push(client);
    await client.getAuthorizationUrl();
    const registered = (await client.getRp()).node as Record<string, unknown>;
    expect(registered.client_name).toBe('Site from the configuration');

    const elsewhere = `${APP_ORIGIN}/elsewhere`;
    await client.updateSite({
      client_name: 'Changed by hand',
      ...(transport === 'https4'
        ? { post_logout_redirect_uris: [elsewhere] }
        : { post_logout_redirect_uri: elsewhere }),
    });
    const changed = (await client.getRp()).node as Record<string, unknown>;
    expect(changed.client_name).toBe('Changed by hand');
    expect(client.postLogoutRedirectUri).toBe(elsewhere);

    await client.updateSite();
    const restored = (await client.getRp()).node as Record<string, unknown>;
    expect(restored.client_name).toBe('Site from the configuration');
    expect(JSON.stringify(restored)).toContain(`${APP_ORIGIN}/logged-out`);
    expect(JSON.stringify(restored)).not.toContain(elsewhere);
    // Logout sends the URI the OP now has again.
    expect(client.postLogoutRedirectUri).toBe(`${APP_ORIGIN}/logged-out`);
  });
});
