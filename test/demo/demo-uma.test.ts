/**
 * The demo's UMA page in headless Chromium: the server side calls the site's own protected
 * API, gets 401 with a ticket, exchanges it for an RPT and gets 200; the private album takes
 * the detour through the claims-gathering page of the local UMA server first (which has the
 * user sign in at the OP, to accept only that user's own e-mail address). Screenshots
 * land in test-artifacts/demo/.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { launchBrowser, type BrowserSession } from '../helpers/browser';
import { ensureBuilt, ROOT } from '../helpers/build';
import { startDemoProcess, type DemoProcess } from '../helpers/demo-process';

jest.setTimeout(180_000);

const ARTIFACTS = join(ROOT, 'test-artifacts', 'demo');

describe.each([
  { name: 'socket', args: ['--transport', 'socket'] },
  { name: 'https-v4', args: ['--transport', 'https', '--oxd-version', '4'] },
])('demo UMA page over oxd $name', ({ name, args }) => {
  let demo: DemoProcess | undefined;
  let browser: BrowserSession | undefined;

  beforeAll(async () => {
    await ensureBuilt();
    await mkdir(ARTIFACTS, { recursive: true });
    demo = await startDemoProcess({ args });
    const oxdCertificate = await readFile(join(demo.workDir, 'data', 'oxd-cert.pem'), 'utf8');
    browser = await launchBrowser({
      trustedCertificates: [
        await demo.demoCertificate(),
        await demo.opCertificate(),
        oxdCertificate,
      ],
    });
    browser.page.setDefaultTimeout(30_000);
  });

  afterAll(async () => {
    await browser?.close();
    await demo?.dispose();
  });

  test('401, ticket, RPT, 200 - and the claims-gathering detour for the private album', async () => {
    const { page } = browser as BrowserSession;
    const origin = new URL((demo as DemoProcess).url).origin;
    await page.goto(`${origin}/uma`);
    expect(await page.textContent('nav a[aria-current="page"]')).toBe('UMA');

    await page.click('#uma-public');
    const steps = () => page.locator('#uma-steps li').allTextContents();
    const publicSteps = await steps();
    expect(publicSteps).toHaveLength(2);
    expect(publicSteps[0]).toMatch(/GET \/api\/photos without an RPT:\s+401/);
    expect(publicSteps[0]).toMatch(/WWW-Authenticate: UMA … ticket="[0-9a-f-]{8}…"/);
    expect(publicSteps[1]).toMatch(
      /Ticket exchanged for the RPT .{8}… \(uma_rp_get_rpt\).*:\s+200/s,
    );
    expect(await page.textContent('#uma-photos')).toContain('harbour-at-dawn.jpg');
    await page.screenshot({ path: join(ARTIFACTS, `${name}-uma-1-public.png`), fullPage: true });

    await page.goto(`${origin}/uma`);
    await page.click('#uma-private');
    // need_info: the authorization server's page needs the user's own e-mail address, so it
    // first asks the OP who is signed in: nobody yet, so the OP's login form comes first.
    await page.waitForSelector('#username');
    await page.fill('#username', demo!.username!);
    await page.fill('#password', demo!.password!);
    await page.click('#login');
    await page.waitForURL((url) => url.pathname === '/uma/claims-gathering');
    expect(page.url()).toContain('/uma/claims-gathering?');
    await page.screenshot({ path: join(ARTIFACTS, `${name}-uma-2-claims.png`), fullPage: true });
    await page.fill('#email', 'jane.doe@example.com');
    await Promise.all([page.waitForURL(`${origin}/uma?album=private`), page.click('#submit')]);
    const privateSteps = await steps();
    expect(privateSteps).toHaveLength(1);
    expect(privateSteps[0]).toMatch(/with the session's RPT .{8}…:\s+200/);
    expect(await page.textContent('#uma-photos')).toContain('family-picnic.jpg');
    await page.screenshot({ path: join(ARTIFACTS, `${name}-uma-3-private.png`), fullPage: true });

    // The public album's requesting party is the site itself (oxd keeps one RPT per site,
    // UmaTokenService.getRpt): its RPT, kept by the site, opens the album at the first try.
    await page.goto(`${origin}/uma?album=public`);
    const again = await steps();
    expect(again).toHaveLength(1);
    expect(again[0]).toMatch(/with the site's RPT .{8}…:\s+200/);
  });
});
