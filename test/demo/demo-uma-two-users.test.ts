/**
 * Two users on the demo's private album, in two headless Chromium profiles. Through oxd the
 * requesting party is a site: oxd keeps one RPT per site and hands it back, whatever the
 * ticket, while it has not expired (`UmaTokenService.getRpt`, oxd 3.1.3 to 4.5; the local
 * oxd does the same). Jane goes through claims gathering with her own e-mail address and reads
 * the album. Then John opens it:
 * - by default (per-user grants) he gets 403 OXD_UMA_RPT_OF_ANOTHER_USER with an explanation,
 *   never Jane's RPT or her photos;
 * - with DEMO_UMA_SITE_WIDE_RPT=1 the RPT is declared site-wide and he reads the album with it.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_TEST_USERS } from '../../src/testing/op/users';
import { launchBrowser, type BrowserSession } from '../helpers/browser';
import { ensureBuilt, ROOT } from '../helpers/build';
import { startDemoProcess, type DemoProcess } from '../helpers/demo-process';

jest.setTimeout(240_000);

const ARTIFACTS = join(ROOT, 'test-artifacts', 'demo');
const [JANE, JOHN] = DEFAULT_TEST_USERS as [
  (typeof DEFAULT_TEST_USERS)[number],
  (typeof DEFAULT_TEST_USERS)[number],
];

describe.each<{ name: 'per-user' | 'site-wide'; env: Record<string, string> }>([
  { name: 'per-user', env: {} },
  { name: 'site-wide', env: { DEMO_UMA_SITE_WIDE_RPT: '1' } },
])('demo private album, two users, $name RPTs', ({ name, env }) => {
  let demo: DemoProcess | undefined;
  const browsers: BrowserSession[] = [];

  beforeAll(async () => {
    await ensureBuilt();
    await mkdir(ARTIFACTS, { recursive: true });
    demo = await startDemoProcess({ args: ['--transport', 'socket'], env });
    const trusted = [
      await demo.demoCertificate(),
      await demo.opCertificate(),
      await readFile(join(demo.workDir, 'data', 'oxd-cert.pem'), 'utf8'),
    ];
    for (let i = 0; i < 2; i += 1) {
      const browser = await launchBrowser({ trustedCertificates: trusted });
      browser.page.setDefaultTimeout(30_000);
      browsers.push(browser);
    }
  });

  afterAll(async () => {
    for (const browser of browsers) await browser.close();
    await demo?.dispose();
  });

  /** Logs `user` in to the demo at the OP in `browser`. */
  async function logIn(browser: BrowserSession, user: typeof JANE): Promise<void> {
    const { page } = browser;
    const origin = new URL((demo as DemoProcess).url).origin;
    await page.goto(`${origin}/`);
    await page.click('#login');
    await page.waitForSelector('#username');
    await page.fill('#username', user.username);
    await page.fill('#password', user.password);
    await page.click('#login');
    await page.waitForURL((url) => url.origin === origin && url.pathname === '/claims');
    expect(await page.textContent('.site-header')).toContain(user.claims.name as string);
  }

  test("Jane's claims earn the private site's RPT; John gets what the RPT rule says", async () => {
    const [jane, john] = browsers as [BrowserSession, BrowserSession];
    const origin = new URL((demo as DemoProcess).url).origin;
    const steps = (browser: BrowserSession) =>
      browser.page.locator('#uma-steps li').allTextContents();

    await logIn(jane, JANE);
    await logIn(john, JOHN);

    // Jane: need_info, her own e-mail address at the claims-gathering page, the album.
    await jane.page.goto(`${origin}/uma?album=private`);
    await jane.page.waitForURL((url) => url.pathname === '/uma/claims-gathering');
    await jane.page.fill('#email', JANE.claims.email as string);
    await Promise.all([
      jane.page.waitForURL(`${origin}/uma?album=private`),
      jane.page.click('#submit'),
    ]);
    expect(await jane.page.textContent('#uma-photos')).toContain('family-picnic.jpg');
    await jane.page.goto(`${origin}/uma`);
    const janeRpt = /This session holds the RPT (\S{8})…/.exec(
      (await jane.page.textContent('#uma-private-rule')) ?? '',
    )?.[1];
    expect(janeRpt).toMatch(/^\S{8}$/);

    // John: oxd hands back the private site's RPT, which Jane's claims earned.
    const answer = await john.page.goto(`${origin}/uma?album=private`);
    const johnSteps = await steps(john);
    expect(johnSteps[0]).toMatch(/GET \/api\/photos\/private without an RPT:\s+401/);
    await john.page.screenshot({
      path: join(ARTIFACTS, `two-users-${name}-john.png`),
      fullPage: true,
    });
    if (name === 'per-user') {
      expect(answer?.status()).toBe(403);
      expect(johnSteps[1]).toMatch(/RPT obtained for another user:\s+403/);
      const refused = (await john.page.textContent('#uma-refused')) ?? '';
      expect(refused).toContain('OXD_UMA_RPT_OF_ANOTHER_USER');
      expect(refused).toMatch(/one RPT per site/);
      expect(refused).toContain('DEMO_UMA_SITE_WIDE_RPT=1');
      expect(await john.page.locator('#uma-photos').count()).toBe(0);
      const page = (await john.page.content()) ?? '';
      expect(page).not.toContain('family-picnic.jpg');
      expect(page).not.toContain(janeRpt);
      await john.page.goto(`${origin}/uma`);
      expect(await john.page.textContent('#uma-private-rule')).toContain(
        'This session holds no RPT yet.',
      );
      // Jane keeps reading the album with her RPT.
      await jane.page.goto(`${origin}/uma?album=private`);
      expect((await steps(jane))[0]).toMatch(/with the session's RPT .{8}…:\s+200/);
      expect(await jane.page.textContent('#uma-photos')).toContain('family-picnic.jpg');
    } else {
      // Site-wide: sharing is the point. John reads the album with the site's one RPT,
      // without any claims gathering of his own.
      expect(answer?.status()).toBe(200);
      expect(john.page.url()).toBe(`${origin}/uma?album=private`);
      expect(johnSteps[1]).toMatch(
        new RegExp(`Ticket exchanged for the RPT ${janeRpt}… \\(uma_rp_get_rpt\\).*:\\s+200`, 's'),
      );
      expect(await john.page.textContent('#uma-photos')).toContain('family-picnic.jpg');
    }
  });
});
