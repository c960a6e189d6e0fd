/**
 * The demo site in a real browser: headless Chromium logs in at the local OP over HTTPS,
 * reads the claims, is refused the site registration page (not an administrator), logs out
 * at the OP, is sent to the login again by a protected page, and there the administrator
 * logs in and updates the site registration. Once over oxd's socket and once over its HTTPS API.
 * Screenshots of every step land in test-artifacts/demo/.
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { BrowserSession } from '../helpers/browser';
import { ensureBuilt, ROOT } from '../helpers/build';
import { openDemoBrowser, type DemoProcess } from '../helpers/demo-process';

jest.setTimeout(180_000);

const ARTIFACTS = join(ROOT, 'test-artifacts', 'demo');
const STEP_TIMEOUT_MS = 30_000;

const dialects = [
  { name: 'socket', args: ['--transport', 'socket'] },
  { name: 'https', args: ['--transport', 'https', '--oxd-version', '3'] },
  { name: 'https-v4', args: ['--transport', 'https', '--oxd-version', '4'] },
] as const;

describe.each(dialects)('demo site over oxd $name', ({ name, args }) => {
  let demo: DemoProcess | undefined;
  let browser: BrowserSession | undefined;
  let step = 0;
  /** Content-Security-Policy violations reported by the browser, on any page or frame. */
  const violations: string[] = [];

  beforeAll(async () => {
    await ensureBuilt();
    await mkdir(ARTIFACTS, { recursive: true });
    for (const file of await readdir(ARTIFACTS)) {
      if (new RegExp(`^${name}-\\d`).test(file)) await rm(join(ARTIFACTS, file));
    }
    ({ demo, browser } = await openDemoBrowser({ args, timeoutMs: STEP_TIMEOUT_MS }));
    browser.page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
    });
  });

  afterAll(async () => {
    await browser?.close();
    await demo?.dispose();
  });

  async function snap(page: Page, label: string): Promise<void> {
    step += 1;
    await page.screenshot({
      path: join(ARTIFACTS, `${name}-${String(step).padStart(2, '0')}-${label}.png`),
      fullPage: true,
    });
  }

  test('logs in at the OP, shows the claims, logs out, asks for login again; the administrator updates the site', async () => {
    const { page } = browser!;
    const site = new URL(demo!.url);
    expect(demo!.username).toBeDefined();

    // Home, logged out.
    await page.goto(demo!.url);
    await expect(page.locator('h1').textContent()).resolves.toContain('Log in');
    await snap(page, 'home');

    // Cancel at the OP: a normal outcome, back home with a notice, not an error page.
    await page.click('#login');
    await page.waitForSelector('#cancel');
    await page.click('#cancel');
    await page.waitForURL((url) => url.origin === site.origin && url.pathname === '/');
    await expect(page.locator('.notice').textContent()).resolves.toContain('Login cancelled');
    await expect(page.locator('.error-box').count()).resolves.toBe(0);
    await expect(page.locator('main').textContent()).resolves.not.toMatch(/\berror\b/i);
    await expect(page.locator('#login').isVisible()).resolves.toBe(true);
    await snap(page, 'login-cancelled');
    // The notice is shown once.
    await page.reload();
    await expect(page.locator('.notice').count()).resolves.toBe(0);

    // Login at the OP.
    await page.click('#login');
    await page.waitForSelector('#username');
    expect(new URL(page.url()).origin).not.toBe(site.origin);
    await snap(page, 'op-login');
    await page.fill('#username', demo!.username!);
    await page.fill('#password', demo!.password!);
    await page.click('#login');

    // Back on the demo: the claims page.
    await page.waitForURL((url) => url.origin === site.origin && url.pathname === '/claims');
    const claims = page.locator('table.claims');
    await expect(claims.textContent()).resolves.toContain('Jane Doe');
    await expect(claims.textContent()).resolves.toContain('jane.doe@example.com');
    await expect(page.locator('.site-header').textContent()).resolves.toContain('Jane Doe');
    await snap(page, 'claims');

    // The site registration is for administrators: no link, and the page answers 403.
    await expect(page.locator('nav >> text=Update site').count()).resolves.toBe(0);
    const refused = await page.goto(new URL('/update-site', site).href);
    expect(refused?.status()).toBe(403);
    await expect(page.locator('#error-title').textContent()).resolves.toContain('Not allowed');
    await snap(page, 'update-forbidden');
    await page.goto(new URL('/claims', site).href);

    // Logout: the OP asks for confirmation, then sends the browser back home.
    await page.click('.account >> text=Log out');
    await page.waitForSelector('#logout');
    await snap(page, 'op-logout');
    await page.click('#logout');
    await page.waitForURL((url) => url.origin === site.origin && url.pathname === '/');
    await expect(page.locator('#login').isVisible()).resolves.toBe(true);
    await expect(page.locator('.notice').textContent()).resolves.toContain('You have signed out');
    await snap(page, 'signed-out');

    // A protected page now sends the browser to the OP's login form.
    await page.goto(new URL('/claims', site).href);
    await page.waitForSelector('#username');
    expect(new URL(page.url()).origin).not.toBe(site.origin);
    await snap(page, 'login-required');

    // The administrator logs in there and changes the registration.
    const admin = /Administrator \(may update the site registration\): (\S+) \/ (\S+)/.exec(
      demo!.output(),
    );
    expect(admin).not.toBeNull();
    await page.fill('#username', admin![1]!);
    await page.fill('#password', admin![2]!);
    await page.click('#login');
    await page.waitForURL((url) => url.origin === site.origin && url.pathname === '/claims');
    await expect(page.locator('.site-header').textContent()).resolves.toContain('Ada Admin');

    // Update the registration; keep the post-logout URI so logout still lands here.
    await page.click('nav >> text=Update site');
    await page.waitForURL((url) => url.pathname === '/update-site');
    await expect(page.inputValue('#postLogoutRedirectUri')).resolves.toBe(`${site.origin}/`);
    await page.fill('#contacts', 'admin@example.com');
    await snap(page, 'update-form');
    await page.click('form.form button[type=submit]');
    await page.waitForSelector('#update-result');
    await expect(page.locator('#update-result').textContent()).resolves.toContain('Site updated');
    await expect(page.inputValue('#contacts')).resolves.toBe('admin@example.com');
    await snap(page, 'update-done');

    // A value the browser would refuse, sent anyway: the server checks it too.
    await page.$eval('form.form', (form) => form.setAttribute('novalidate', ''));
    await page.fill('#contacts', 'not-an-address');
    await page.click('form.form button[type=submit]');
    await page.waitForSelector('#contacts-error');
    await expect(page.locator('#update-result').count()).resolves.toBe(0);
    await snap(page, 'update-invalid');

    // A redirect URI carrying credentials is refused, whatever the browser lets through.
    await page.fill('#contacts', 'admin@example.com');
    await page.fill('#postLogoutRedirectUri', `https://user:secret@${site.host}/`);
    await page.click('form.form button[type=submit]');
    await page.waitForSelector('#postLogoutRedirectUri-error');
    await expect(page.locator('#postLogoutRedirectUri-error').textContent()).resolves.toContain(
      'user name and password',
    );
    await expect(page.locator('#update-result').count()).resolves.toBe(0);
    await snap(page, 'update-credentials-refused');

    // A form whose CSRF token is not the session's is refused before oxd is asked.
    await page.goto(new URL('/update-site', site).href);
    await page.$eval('form.form input[name=_csrf]', (input) =>
      input.setAttribute('value', 'forged'),
    );
    await page.fill('#contacts', 'mallory@example.com');
    await page.click('form.form button[type=submit]');
    await page.waitForSelector('#error-title');
    await expect(page.locator('#error-title').textContent()).resolves.toContain('form has expired');
    await snap(page, 'csrf-rejected');
    await page.goto(new URL('/update-site', site).href);
    await expect(page.inputValue('#contacts')).resolves.toBe('admin@example.com');

    // Including the OP's front-channel logout iframe, which loads the demo's logout route.
    expect(violations).toEqual([]);
  });

  test('on a 375 px wide screen the oxd address stays on one line and nothing scrolls sideways', async () => {
    const { page } = browser!;
    await page.setViewportSize({ width: 375, height: 740 });
    try {
      await page.goto(demo!.url);
      const address = page.locator('#oxd-address');
      await expect(address.textContent()).resolves.toMatch(/127\.0\.0\.1:\d+/);
      // An inline element broken over two lines has two client rectangles.
      await expect(address.evaluate((el) => el.getClientRects().length)).resolves.toBe(1);
      const sideways = await page.evaluate<number>(
        'document.documentElement.scrollWidth - document.documentElement.clientWidth',
      );
      expect(sideways).toBeLessThanOrEqual(0);
      await snap(page, 'home-375px');
    } finally {
      await page.setViewportSize({ width: 1100, height: 800 });
    }
  });
});
