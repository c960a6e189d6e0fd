/**
 * `npm run demo -- --trace`: a login in a real browser prints the login's spans to the
 * console, nested (callback over its oxd commands), with no token or code in them.
 */
import type { BrowserSession } from '../helpers/browser';
import { ensureBuilt } from '../helpers/build';
import { openDemoBrowser, type DemoProcess } from '../helpers/demo-process';

jest.setTimeout(180_000);

let demo: DemoProcess | undefined;
let browser: BrowserSession | undefined;

beforeAll(async () => {
  await ensureBuilt();
  ({ demo, browser } = await openDemoBrowser({ args: ['--trace'] }));
});

afterAll(async () => {
  await browser?.close();
  await demo?.dispose();
});

/** The printed span lines: name, span id, parent id. */
function spans(output: string): { name: string; span: string; parent?: string; line: string }[] {
  return [...output.matchAll(/^\[trace \w+\] (\S+(?: \S+)?) [\d.]+ ms.*$/gm)].map((match) => {
    const line = match[0];
    const span = / span=(\w+)/.exec(line)?.[1] as string;
    const parent = / parent=(\w+)/.exec(line)?.[1];
    return { name: match[1] as string, span, line, ...(parent ? { parent } : {}) };
  });
}

test('a login prints the login and callback spans with their oxd commands under them', async () => {
  const { page } = browser!;
  const site = new URL(demo!.url);
  await page.goto(demo!.url);
  const callbackUrl = new Promise<URL>((resolve) => {
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.origin === site.origin && url.searchParams.has('code')) resolve(url);
    });
  });
  await page.click('#login');
  await page.waitForSelector('#username');
  await page.fill('#username', demo!.username!);
  await page.fill('#password', demo!.password!);
  await page.click('#login');
  await page.waitForURL((url) => url.origin === site.origin && url.pathname === '/claims');

  const printed = spans(demo!.output());
  const byName = (name: string) => printed.filter((entry) => entry.name === name);
  const [callback] = byName('express-oxd callback');
  expect(callback).toBeDefined();
  expect(byName('express-oxd login')).toHaveLength(1);
  for (const command of ['oxd get_tokens_by_code', 'oxd get_user_info']) {
    expect(byName(command).map((entry) => entry.parent)).toEqual([callback?.span]);
  }
  const code = (await callbackUrl).searchParams.get('code') as string;
  const state = (await callbackUrl).searchParams.get('state') as string;
  for (const entry of printed) {
    expect(entry.line).not.toContain(code);
    expect(entry.line).not.toContain(state);
  }
});
