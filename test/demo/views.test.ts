/**
 * The demo's page templates and error explanations, without a server: every value from the
 * OP, oxd or the visitor is escaped, and each failure family gets its own plain-words page.
 */
interface Explained {
  status: number;
  title: string;
  explanation: string;
  advice?: string;
}
type Page = (input: Record<string, unknown>) => string;
interface Views {
  homePage: Page;
  claimsPage: Page;
  updateSitePage: Page;
  errorPage: Page;
}
interface Errors {
  explainError(err: unknown): Explained;
  CsrfError: new () => Error;
}

// The demo is plain CommonJS JavaScript, as user code would be.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const views: Views = require('../../demo-app/views');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { explainError, CsrfError }: Errors = require('../../demo-app/errors');

const HOSTILE = '<script>alert("x")</script>&\'';
const ESCAPED = '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;';

const user = {
  name: HOSTILE,
  email: 'jane@example.com',
  sub: '1',
  logoutHref: '/logout',
  csrfToken: 'token"<',
};

test('claims page - escapes claim names and values and lists every claim', () => {
  const html = views.claimsPage({
    user,
    claims: { name: HOSTILE, [HOSTILE]: 'v', address: { street: '<b>' }, groups: ['a', 'b'] },
  });
  expect(html).not.toContain('<script>');
  expect(html).toContain(ESCAPED);
  expect(html).toContain('{&quot;street&quot;:&quot;&lt;b&gt;&quot;}');
  expect(html).toContain('<td>a, b</td>');
  expect(html.match(/<tr>/g)).toHaveLength(5); // header row + four claims
});

test('home page - shows a login link when logged out and the name when logged in', () => {
  const out = views.homePage({ user: undefined, site: undefined });
  expect(out).toContain('href="/login?returnTo=%2Fclaims"');
  expect(out).not.toContain('Signed in as');
  const inside = views.homePage({ user, site: undefined });
  expect(inside).toContain(`Signed in as <span class="user-name">${ESCAPED}</span>`);
  // Logging out is a POST (a link could be followed from any other site), with the token.
  expect(inside).toContain('<form class="inline-form" method="post" action="/logout">');
  expect(inside).toContain('<form class="inline-form" method="post" action="/logout/here">');
  expect(inside).toContain('name="_csrf" value="token&quot;&lt;"');
  expect(inside).not.toContain('href="/logout');
  expect(inside).not.toContain('<script>');
});

test('update-site page - escapes field values, the CSRF token and oxd error messages', () => {
  const html = views.updateSitePage({
    user,
    csrfToken: '"><x',
    values: { contacts: HOSTILE, postLogoutRedirectUri: 'https://a.example/"' },
    result: { ok: false, message: HOSTILE },
    fieldErrors: { contacts: HOSTILE },
  });
  expect(html).not.toContain('<script>');
  expect(html).toContain('value="&quot;&gt;&lt;x"');
  expect(html).toContain('value="https://a.example/&quot;"');
  expect(html).toContain('aria-invalid="true"');
});

test('pages - load only the site stylesheet and carry no inline script or style', () => {
  const html = views.homePage({ user, site: undefined });
  expect(html).toContain('<link rel="stylesheet" href="/static/style.css" />');
  expect(html).not.toMatch(/<script|<style|\sstyle=|\son[a-z]+=/i);
});

describe('explainError', () => {
  const cases: [string, object, number, RegExp][] = [
    [
      'oxd down',
      { code: 'OXD_TRANSPORT_FAILED', status: 503, message: 'ECONNREFUSED' },
      503,
      /cannot be reached/,
    ],
    ['oxd timeout', { code: 'OXD_RESPONSE_TIMEOUT', status: 504, message: 't' }, 504, /too slow/],
    [
      'bad state',
      { code: 'OXD_STATE_MISMATCH', status: 400, message: 's' },
      400,
      /does not belong/,
    ],
    [
      'OP cancelled',
      { code: 'OXD_OP_ERROR', status: 400, message: 'o', opError: 'access_denied' },
      400,
      /cancelled/,
    ],
    [
      'oxd lost the site',
      {
        code: 'OXD_COMMAND_FAILED',
        status: 502,
        message: 'm',
        error: 'invalid_oxd_id',
        command: 'get_authorization_url',
      },
      502,
      /does not know this site/,
    ],
    ['unknown failure', { message: 'boom' }, 500, /Something went wrong/],
  ];

  test.each(cases)('%s - gets its own title and keeps its status', (_label, err, status, title) => {
    const explained = explainError(err);
    expect(explained.status).toBe(status);
    expect(explained.title).toMatch(title);
    expect(explained.explanation.length).toBeGreaterThan(10);
  });

  test('a CSRF failure - is a 403 asking to resubmit the form', () => {
    const explained = explainError(new CsrfError());
    expect(explained.status).toBe(403);
    expect(explained.advice).toMatch(/resubmit/);
  });

  test('an error page - shows the explanation escaped, with the code under technical details', () => {
    const html = views.errorPage({
      user: undefined,
      ...explainError({
        code: 'OXD_CONFIG_INVALID',
        status: 500,
        expose: true,
        message: HOSTILE,
      } as unknown as Error),
    });
    expect(html).toContain(ESCAPED);
    expect(html).toContain('<code>OXD_CONFIG_INVALID</code>');
    expect(html).not.toContain('<script>');
  });

  test.each([
    ['oxd unreachable', 'OXD_TRANSPORT_FAILED', 503],
    ['a bad setting', 'OXD_CONFIG_INVALID', 500],
    ['oxd refused a command', 'OXD_COMMAND_FAILED', 502],
  ])(
    'an error page for %s - leaves out a message the error does not expose',
    (_label, code, status) => {
      const secret = 'connect ECONNREFUSED 10.20.30.40:8099 reading /srv/site/secret.cfg';
      const err = { code, status, expose: false, message: secret, error: 'e', command: 'c' };
      const html = views.errorPage({ user: undefined, ...explainError(err) });
      expect(html).not.toContain('10.20.30.40');
      expect(html).not.toContain('secret.cfg');
      expect(html).toContain(`<code>${code}</code>`);
    },
  );
});
