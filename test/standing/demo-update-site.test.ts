/**
 * The demo's `update_site` form as an attacker would use it, in headless Chromium against the
 * demo process (local OP, oxd socket): a logged-in user who is not an administrator cannot
 * change the site's registration, and an administrator cannot point the post-logout
 * redirect at another site (every user who logs out would land there).
 */
import type { Page } from 'playwright-core';
import type { BrowserSession } from '../helpers/browser';
import { ensureBuilt } from '../helpers/build';
import { openDemoBrowser, type DemoProcess } from '../helpers/demo-process';

jest.setTimeout(180_000);

let demo: DemoProcess | undefined;
let browser: BrowserSession | undefined;
let site: URL;

beforeAll(async () => {
  await ensureBuilt();
  ({ demo, browser } = await openDemoBrowser({ args: ['--transport', 'socket'] }));
  site = new URL(demo.url);
});

afterAll(async () => {
  await browser?.close();
  await demo?.dispose();
});

async function logInAs(page: Page, username: string, password: string): Promise<void> {
  await browser!.context.clearCookies();
  await page.goto(new URL('/claims', site).href);
  await page.waitForSelector('#username');
  await page.fill('#username', username);
  await page.fill('#password', password);
  await page.click('#login');
  await page.waitForURL((url) => url.origin === site.origin && url.pathname === '/claims');
}

/** The form's CSRF token when the page shows the form, else `none`. */
async function formToken(page: Page): Promise<{ status: number; token: string }> {
  const answer = await page.goto(new URL('/update-site', site).href);
  const input = page.locator('form.form input[name=_csrf]');
  const token = (await input.count()) > 0 ? ((await input.getAttribute('value')) ?? '') : 'none';
  return { status: answer?.status() ?? 0, token };
}

/**
 * Submits a form to /update-site from the page (the browser's cookies, a same-origin POST as
 * a script-free form sends it); resolves with the status and the page shown.
 */
async function submit(page: Page, token: string, postLogoutRedirectUri: string) {
  const fields = { _csrf: token, contacts: 'mallory@example.com', postLogoutRedirectUri };
  const script = `(() => {
    const form = document.createElement('form');
    form.method = 'post';
    form.action = '/update-site';
    for (const [name, value] of Object.entries(${JSON.stringify(fields)})) {
      const input = document.createElement('input');
      input.type = 'hidden';
      input.name = name;
      input.value = value;
      form.append(input);
    }
    document.body.append(form);
    form.submit();
  })()`;
  const [posted] = await Promise.all([
    page.waitForResponse(
      (response) =>
        response.request().method() === 'POST' &&
        new URL(response.url()).pathname === '/update-site',
    ),
    page.waitForNavigation({ waitUntil: 'load' }),
    page.evaluate(script),
  ]);
  const status = posted.status();
  return { status, text: status === 303 ? '' : await posted.text() };
}

test('a user who is not an administrator: the form is 403, and a POST changes nothing', async () => {
  const { page } = browser!;
  await logInAs(page, demo!.username!, demo!.password!);
  const form = await formToken(page);
  expect(form.status).toBe(403);
  await expect(page.locator('#error-title').textContent()).resolves.toContain('Not allowed');
  const posted = await submit(page, form.token, 'https://evil.example/');
  expect(posted.status).toBe(403);
  expect(posted.text).toContain('Not allowed');
  expect(posted.text).not.toContain('Site updated');
});

test('the administrator: only https addresses on the site itself are accepted', async () => {
  const { page } = browser!;
  const admin = /Administrator \(may update the site registration\): (\S+) \/ (\S+)/.exec(
    demo!.output(),
  );
  expect(admin).not.toBeNull();
  await logInAs(page, admin![1]!, admin![2]!);
  const form = await formToken(page);
  expect(form.status).toBe(200);
  const otherPort = String(Number(site.port) === 1 ? 2 : Number(site.port) - 1);
  for (const elsewhere of [
    'https://evil.example/',
    `https://${site.hostname}:${otherPort}/`,
    `http://${site.host}/`,
    `https://${site.host}.evil.example/`,
  ]) {
    const posted = await submit(page, form.token, elsewhere);
    expect({ elsewhere, status: posted.status }).toEqual({ elsewhere, status: 400 });
    expect(posted.text).toContain('postLogoutRedirectUri-error');
  }
  const own = await submit(page, form.token, `${site.origin}/`);
  expect(own.status).toBe(303);
});
