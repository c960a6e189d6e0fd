/**
 * Every page of the demo and of the local OP and UMA server, in headless Chromium at desktop
 * width and at 375 px: nothing scrolls sideways, no request fails (no 404 for a favicon or
 * anything else), and the console stays free of errors. Along the way: claim names wrap only
 * after an underscore, "Log out of this site only" says what happened, the OP's sign-out page
 * has a way back, no `?state=` is left in the address bar, and an OP error is explained.
 */
import type { Page } from 'playwright-core';
import type { BrowserSession } from '../helpers/browser';
import { ensureBuilt } from '../helpers/build';
import { openDemoBrowser, type DemoProcess } from '../helpers/demo-process';

jest.setTimeout(240_000);

/** Claim names whose rendering starts a new line anywhere but right after an underscore. */
const CLAIM_NAMES_BROKEN_MID_WORD = `(() => {
  const broken = [];
  for (const code of document.querySelectorAll('table.claims tbody th code')) {
    const walker = document.createTreeWalker(code, NodeFilter.SHOW_TEXT);
    let previousTop;
    let previousChar = '';
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (let i = 0; i < node.data.length; i += 1) {
        const range = document.createRange();
        range.setStart(node, i);
        range.setEnd(node, i + 1);
        const top = range.getBoundingClientRect().top;
        if (previousTop !== undefined && top > previousTop + 2 && previousChar !== '_') {
          broken.push(code.textContent);
        }
        previousTop = top;
        previousChar = node.data[i];
      }
    }
  }
  return broken;
})()`;

const SIDEWAYS = 'document.documentElement.scrollWidth - document.documentElement.clientWidth';

describe.each([
  ['desktop', 1100],
  ['375 px', 375],
])('every demo, OP and UMA page at %s', (_label, width) => {
  let demo: DemoProcess | undefined;
  let browser: BrowserSession | undefined;
  /** Problems seen since the last check: failed requests and console errors. */
  let problems: string[] = [];
  /** URLs whose main document is expected to answer with an error status. */
  const expectedErrors = new Set<string>();
  const visited: string[] = [];

  beforeAll(async () => {
    await ensureBuilt();
    ({ demo, browser } = await openDemoBrowser({
      args: ['--transport', 'socket'],
      trustOxd: true,
    }));
    const { page } = browser;
    await page.setViewportSize({ width, height: 800 });
    page.on('console', (message) => {
      // The error status of an expected error page is reported on the console as well.
      const expected =
        message.text().startsWith('Failed to load resource') &&
        expectedErrors.has(message.location().url);
      if (message.type() === 'error' && !expected) problems.push(`console: ${message.text()}`);
    });
    page.on('requestfailed', (request) => {
      problems.push(`failed: ${request.url()} (${request.failure()?.errorText})`);
    });
    page.on('response', (response) => {
      if (response.status() >= 400 && !expectedErrors.has(response.url())) {
        problems.push(`${response.status()}: ${response.url()}`);
      }
    });
  });

  afterAll(async () => {
    await browser?.close();
    await demo?.dispose();
  });

  /** Checks the page shown now; `what` names it in failures. */
  async function check(page: Page, what: string): Promise<void> {
    await page.waitForLoadState('load');
    // Favicon requests go out after the load event.
    await page.waitForTimeout(300);
    visited.push(`${what} ${page.url()}`);
    expect({ what, sideways: await page.evaluate<number>(SIDEWAYS) }).toEqual({
      what,
      sideways: 0,
    });
    expect({ what, problems }).toEqual({ what, problems: [] });
    problems = [];
  }

  test('logged out, logged in, UMA claims gathering, both logouts and the error pages', async () => {
    const { page } = browser!;
    const site = new URL(demo!.url);

    await page.goto(site.href);
    await check(page, 'home, logged out');
    await page.goto(new URL('/uma', site).href);
    await check(page, 'UMA intro, logged out');
    const missing = new URL('/no-such-page', site).href;
    expectedErrors.add(missing);
    await page.goto(missing);
    await expect(page.locator('#error-title').count()).resolves.toBe(1);
    await check(page, 'not found');

    // Login at the OP's styled form.
    await page.goto(site.href);
    await page.click('#login');
    await page.waitForSelector('#username');
    const op = new URL(page.url()).origin;
    await check(page, 'OP login');
    await page.fill('#username', demo!.username!);
    await page.fill('#password', 'not-the-password');
    await page.click('#login');
    await page.waitForSelector('#login-error');
    await check(page, 'OP login, wrong password');
    await page.fill('#username', demo!.username!);
    await page.fill('#password', demo!.password!);
    await page.click('#login');
    await page.waitForURL((url) => url.origin === site.origin && url.pathname === '/claims');
    await check(page, 'claims');
    await expect(page.evaluate<string[]>(CLAIM_NAMES_BROKEN_MID_WORD)).resolves.toEqual([]);
    // The registration form is for administrators: this user gets the 403 page.
    const updateSite = new URL('/update-site', site).href;
    expectedErrors.add(updateSite);
    await page.goto(updateSite);
    await expect(page.locator('#error-title').textContent()).resolves.toContain('Not allowed');
    await check(page, 'update site, not an administrator');
    await page.goto(site.href);
    await check(page, 'home, logged in');

    // The private album: the UMA server's claims-gathering page, then the album.
    await page.goto(new URL('/uma', site).href);
    await check(page, 'UMA intro, logged in');
    await page.click('#uma-private');
    await page.waitForSelector('#submit');
    expect(new URL(page.url()).origin).not.toBe(site.origin);
    await check(page, 'UMA claims gathering');
    // Somebody else's address is refused: only the signed-in user's own one is accepted.
    await page.fill('input[type=email]', 'john.roe@example.com');
    const gathering = new URL(page.url());
    // The refusal is the form again, with status 400.
    expectedErrors.add(`${gathering.origin}${gathering.pathname}`);
    await page.click('#submit');
    await page.waitForSelector('#error');
    await expect(page.locator('#error').textContent()).resolves.toContain(
      'not the one of the account you are signed in with',
    );
    await check(page, 'UMA claims gathering, refused');
    await page.fill('input[type=email]', 'jane.doe@example.com');
    await page.click('#submit');
    await page.waitForSelector('#uma-photos');
    await check(page, 'UMA private album');
    await page.goto(new URL('/uma?album=public', site).href);
    await page.waitForSelector('#uma-photos');
    await check(page, 'UMA public album');
    // A claims-gathering link without its ticket: a styled message, not a bare error.
    const stale = `${gathering.origin}${gathering.pathname}`;
    await page.goto(stale);
    await expect(page.locator('#error').textContent()).resolves.toContain('invalid');
    await check(page, 'UMA claims gathering, invalid link');

    // Log out, and at the OP choose to stay signed in there: back on the site, no state.
    await page.goto(site.href);
    await page.click('.account >> text=Log out');
    await page.waitForSelector('#logout');
    await check(page, 'OP sign-out');
    await page.click('#stay');
    await page.waitForURL((url) => url.origin === site.origin && url.pathname === '/');
    expect(page.url()).toBe(site.href);
    await expect(page.locator('#login').isVisible()).resolves.toBe(true);
    await check(page, 'home after staying signed in at the OP');

    // Still signed in at the OP: the login goes through; then out of this site only.
    await page.click('#login');
    await page.waitForURL((url) => url.origin === site.origin && url.pathname === '/claims');
    await page.goto(site.href);
    await page.click('text=Log out of this site only');
    await page.waitForURL((url) => url.origin === site.origin && url.pathname === '/');
    await expect(page.locator('.notice').textContent()).resolves.toContain(
      'signed out of this site',
    );
    await check(page, 'home after logging out of this site only');

    // Log in and out everywhere: the OP's confirmation, then home with no state in the URL.
    await page.click('#login');
    await page.waitForURL((url) => url.origin === site.origin && url.pathname === '/claims');
    await page.click('.account >> text=Log out');
    await page.waitForSelector('#logout');
    await page.click('#logout');
    await page.waitForURL((url) => url.origin === site.origin && url.pathname === '/');
    await page.waitForLoadState('load');
    expect(page.url()).toBe(site.href);
    await expect(page.locator('.notice').textContent()).resolves.toContain('You have signed out');
    await check(page, 'home after signing out everywhere');

    // An OP error explained in words, on a styled page.
    const bad = new URL('/auth', op);
    bad.search = new URLSearchParams({
      client_id: 'no-such-client',
      response_type: 'code',
      scope: 'openid',
      redirect_uri: `${site.origin}/callback`,
    }).toString();
    expectedErrors.add(bad.href);
    await page.goto(bad.href);
    await expect(page.locator('#op-error').textContent()).resolves.toContain(
      'application is not known here',
    );
    await check(page, 'OP error');
    expect(visited.length).toBeGreaterThanOrEqual(15);
  });
});
