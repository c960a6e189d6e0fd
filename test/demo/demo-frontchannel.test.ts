/**
 * Front-channel logout in a real browser: headless Chromium logs in to the demo (oxd 4.x,
 * session cookie `SameSite=None; Secure`), then signs out at the OP directly, as from
 * another site. The OP's page loads the demo's front-channel route in an iframe with `iss`
 * and `sid`; the iframe carries the session cookie, and the demo's session ends.
 */
import type { BrowserSession } from '../helpers/browser';
import { ensureBuilt } from '../helpers/build';
import { openDemoBrowser, type DemoProcess } from '../helpers/demo-process';

jest.setTimeout(180_000);

let demo: DemoProcess | undefined;
let browser: BrowserSession | undefined;

beforeAll(async () => {
  await ensureBuilt();
  ({ demo, browser } = await openDemoBrowser({
    args: ['--transport', 'https', '--oxd-version', '4'],
    env: { DEMO_COOKIE_SAMESITE: 'none' },
  }));
});

afterAll(async () => {
  await browser?.close();
  await demo?.dispose();
});

test('signing out at the OP ends the demo session through the front-channel iframe', async () => {
  const { page } = browser!;
  const site = new URL(demo!.url);
  await page.goto(demo!.url);
  await page.click('#login');
  await page.waitForSelector('#username');
  const op = new URL(page.url()).origin;
  await page.fill('#username', demo!.username!);
  await page.fill('#password', demo!.password!);
  await page.click('#login');
  await page.waitForURL((url) => url.origin === site.origin && url.pathname === '/claims');

  // Sign out at the OP itself, as from another application.
  await page.goto(`${op}/.well-known/openid-configuration`);
  const discovery = JSON.parse((await page.locator('body').textContent()) ?? '{}') as {
    end_session_endpoint: string;
  };
  const frames: string[] = [];
  page.on('request', (request) => {
    if (request.frame() !== page.mainFrame() && new URL(request.url()).origin === site.origin) {
      frames.push(request.url());
    }
  });
  await page.goto(discovery.end_session_endpoint);
  await page.click('#logout');
  await page.waitForLoadState('networkidle');
  expect(frames.length).toBeGreaterThan(0);
  const frame = new URL(frames[0] as string);
  expect(frame.searchParams.get('iss')).toBe(op);
  expect(frame.searchParams.get('sid')).toBeTruthy();

  // The demo's session has ended: the home page offers the login again.
  await page.goto(demo!.url);
  await expect(page.locator('#login').isVisible()).resolves.toBe(true);
});
