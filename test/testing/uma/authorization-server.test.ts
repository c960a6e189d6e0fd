import type { UmaResource } from '../../../src/oxd/commands';
import {
  type ClaimsPolicy,
  type NeedInfoDetails,
  UmaAuthorizationServer,
  UmaError,
} from '../../../src/testing/uma/authorization-server';
import { ID_TOKEN_CLAIM_FORMAT } from '../../../src/testing/uma/claims-policy';

const AS_URI = 'https://as.example.test';
const GATHERING = 'https://as.example.test/uma/claims-gathering';
const RS = 'rs-oxd-id';
const RP = 'rp-oxd-id';
const VIEW = 'https://photoz.example/actions/view';
const ALL = 'https://photoz.example/actions/all';
const ADD = 'https://photoz.example/actions/add';
const INTERNAL = 'https://photoz.example/actions/internal';

const PHOTO: UmaResource[] = [
  {
    path: '/photo',
    conditions: [
      { httpMethods: ['GET'], scopes: [VIEW] },
      { httpMethods: ['PUT', 'POST'], scopes: [ALL, ADD], ticketScopes: [ADD] },
    ],
  },
];

let nowMs: number;
function clock(): number {
  return nowMs;
}

function server(
  extra: { claimsPolicy?: ClaimsPolicy; ticketTtlSeconds?: number; rptTtlSeconds?: number } = {},
): UmaAuthorizationServer {
  return new UmaAuthorizationServer({
    asUri: AS_URI,
    claimsGatheringEndpoint: GATHERING,
    now: clock,
    ...extra,
  });
}

/** Runs `fn`, expecting an UmaError, and returns it. */
function umaError(fn: () => unknown): UmaError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UmaError);
    return err as UmaError;
  }
  throw new Error('expected an UmaError, nothing was thrown');
}

function deniedTicket(
  as: UmaAuthorizationServer,
  req: { rpt?: string; path?: string; http_method?: string; scopes?: string[] } = {},
): string {
  const result = as.checkAccess(RS, {
    rpt: req.rpt ?? '',
    path: req.path ?? '/photo',
    http_method: req.http_method ?? 'GET',
    ...(req.scopes ? { scopes: req.scopes } : {}),
  });
  if (result.access !== 'denied') throw new Error('expected access to be denied');
  return result.ticket;
}

function idToken(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'RS256' })}.${part(claims)}.c2lnbmF0dXJl`;
}

beforeEach(() => {
  nowMs = Date.UTC(2030, 0, 1, 12, 0, 0);
});

describe('UmaAuthorizationServer options', () => {
  test.each([
    ['asUri that is not a URL', { asUri: 'as.example' }, /asUri/],
    ['asUri with a quote', { asUri: 'https://as.example/"x' }, /asUri/],
    [
      'relative claimsGatheringEndpoint',
      { claimsGatheringEndpoint: '/gather' },
      /claimsGatheringEndpoint/,
    ],
    [
      'claimsGatheringEndpoint with a query',
      { claimsGatheringEndpoint: `${GATHERING}?a=1` },
      /claimsGatheringEndpoint/,
    ],
    ['ticketTtlSeconds of zero', { ticketTtlSeconds: 0 }, /ticketTtlSeconds/],
    ['fractional rptTtlSeconds', { rptTtlSeconds: 1.5 }, /rptTtlSeconds/],
    ['a policy that is a list', { claimsPolicy: [] as unknown as ClaimsPolicy }, /claimsPolicy/],
    ['a claim without a name', { claimsPolicy: { [VIEW]: [{ name: '' }] } }, /name/],
    [
      'a claim named like a page input',
      { claimsPolicy: { [VIEW]: [{ name: 'ticket' }] } },
      /ticket/,
    ],
    [
      'a signed_in_user flag that is not a boolean',
      {
        claimsPolicy: {
          [VIEW]: [{ name: 'email', signed_in_user: 'yes' as unknown as boolean }],
        },
      },
      /signed_in_user must be true or false/,
    ],
  ])('constructor - rejects %s, naming the option', (_title, options, message) => {
    expect(
      () =>
        new UmaAuthorizationServer({
          asUri: AS_URI,
          claimsGatheringEndpoint: GATHERING,
          ...options,
        }),
    ).toThrow(message);
  });
});

describe('protect', () => {
  test('protect - registers one resource per condition with upper-case methods', () => {
    const as = server();
    as.protect(
      RS,
      [{ path: '/doc', conditions: [{ httpMethods: ['get', 'head'], scopes: [VIEW] }] }],
      false,
    );
    const [resource, ...rest] = as.toJSON().resources[RS] ?? [];
    expect(rest).toEqual([]);
    expect(resource).toEqual({
      id: expect.any(String),
      path: '/doc',
      httpMethods: ['GET', 'HEAD'],
      scopes: [VIEW],
      ticketScopes: [],
    });
    as.protect(RS, PHOTO, true);
    const ids = (as.toJSON().resources[RS] ?? []).map((r) => r.id);
    expect(ids).toHaveLength(2);
    expect(new Set(ids).size).toBe(2);
    expect(ids).not.toContain(resource?.id);
  });

  test('protect - refuses to protect again without overwrite', () => {
    const as = server();
    as.protect(RS, PHOTO, false);
    const err = umaError(() => as.protect(RS, PHOTO, false));
    expect(err.error).toBe('uma_protection_exists');
    expect(err.status).toBe(400);
    expect(err.description).toMatch(/overwrite/);
  });

  test('protect - overwrite replaces every resource of the oxd_id and leaves others alone', () => {
    const as = server();
    as.protect(RS, PHOTO, false);
    as.protect('other-rs', PHOTO, false);
    as.protect(
      RS,
      [{ path: '/doc', conditions: [{ httpMethods: ['GET'], scopes: [VIEW] }] }],
      true,
    );
    expect(umaError(() => deniedTicket(as)).error).toBe('invalid_request');
    expect(deniedTicket(as, { path: '/doc' })).toEqual(expect.any(String));
    expect(as.checkAccess('other-rs', { rpt: '', path: '/photo', http_method: 'GET' }).access).toBe(
      'denied',
    );
  });

  test('protect - a ticket for an overwritten resource is no longer valid', () => {
    const as = server();
    as.protect(RS, PHOTO, false);
    const ticket = deniedTicket(as);
    as.protect(RS, PHOTO, true);
    expect(umaError(() => as.getRpt(RP, { ticket })).error).toBe('invalid_ticket');
  });

  test.each([
    [
      'within one resource',
      [
        {
          path: '/photo',
          conditions: [
            { httpMethods: ['GET'], scopes: [VIEW] },
            { httpMethods: ['POST', 'get'], scopes: [ALL] },
          ],
        },
      ],
    ],
    [
      'across two resources with the same path',
      [
        { path: '/photo', conditions: [{ httpMethods: ['GET'], scopes: [VIEW] }] },
        { path: '/photo', conditions: [{ httpMethods: ['GET'], scopes: [ALL] }] },
      ],
    ],
  ])('protect - rejects an HTTP method used twice for a path %s', (_title, resources) => {
    const as = server();
    const err = umaError(() => as.protect(RS, resources, false));
    expect(err.error).toBe('http_method_not_unique');
    expect(err.description).toMatch(/GET.*\/photo/);
    expect(as.toJSON().resources[RS]).toBeUndefined();
  });

  test('protect - allows the same method on different paths', () => {
    const as = server();
    as.protect(
      RS,
      [
        { path: '/a', conditions: [{ httpMethods: ['GET'], scopes: [VIEW] }] },
        { path: '/b', conditions: [{ httpMethods: ['GET'], scopes: [VIEW] }] },
      ],
      false,
    );
    expect(as.toJSON().resources[RS]).toHaveLength(2);
  });

  test.each([
    ['an unknown operator', { rule: { xor: [{ var: 0 }] }, data: [VIEW] }],
    ['a var outside data', { rule: { var: 3 }, data: [VIEW] }],
    ['a top-level !', { rule: { '!': { var: 0 } }, data: [VIEW] }],
    ['JSON text that does not parse', '{"rule":'],
  ])('protect - rejects a scope_expression with %s', (_title, expression) => {
    const as = server();
    const resources = [
      {
        path: '/photo',
        conditions: [{ httpMethods: ['GET'], scope_expression: expression }],
      },
    ] as unknown as UmaResource[];
    expect(umaError(() => as.protect(RS, resources, false)).error).toBe('invalid_scope_expression');
  });

  test.each([
    ['no resources', [], 'invalid_uma_request'],
    [
      'a resource without path',
      [{ conditions: [{ httpMethods: ['GET'], scopes: [VIEW] }] }],
      'invalid_path_parameter',
    ],
    ['a resource without conditions', [{ path: '/photo' }], 'invalid_uma_request'],
    [
      'a condition without httpMethods',
      [{ path: '/photo', conditions: [{ scopes: [VIEW] }] }],
      'invalid_http_method',
    ],
    [
      'a condition without scopes',
      [{ path: '/photo', conditions: [{ httpMethods: ['GET'] }] }],
      'invalid_uma_request',
    ],
    [
      'scopes that are not strings',
      [{ path: '/photo', conditions: [{ httpMethods: ['GET'], scopes: [1] }] }],
      'invalid_uma_request',
    ],
  ])('protect - rejects %s', (_title, resources, code) => {
    const as = server();
    expect(umaError(() => as.protect(RS, resources as unknown as UmaResource[], false)).error).toBe(
      code,
    );
  });
});

describe('checkAccess', () => {
  test('checkAccess - without an RPT answers denied with a ticket and the exact UMA header', () => {
    const as = server();
    as.protect(RS, PHOTO, false);
    const result = as.checkAccess(RS, { rpt: '', path: '/photo', http_method: 'GET' });
    expect(result.access).toBe('denied');
    if (result.access !== 'denied') return;
    expect(result.ticket).toMatch(/^[0-9a-f-]{36}$/);
    expect(result['www-authenticate_header']).toBe(
      `UMA realm="rs",as_uri="${AS_URI}",error="insufficient_scope",ticket="${result.ticket}"`,
    );
    const second = deniedTicket(as);
    expect(second).not.toBe(result.ticket);
  });

  test('checkAccess - grants an RPT obtained for the ticket, and only for that resource', () => {
    const as = server();
    as.protect(RS, PHOTO, false);
    const { access_token, token_type, updated } = as.getRpt(RP, { ticket: deniedTicket(as) });
    expect(token_type).toBe('Bearer');
    expect(updated).toBe(false);
    expect(access_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(as.checkAccess(RS, { rpt: access_token, path: '/photo', http_method: 'get' })).toEqual({
      access: 'granted',
    });
    const post = as.checkAccess(RS, { rpt: access_token, path: '/photo', http_method: 'POST' });
    expect(post.access).toBe('denied');
    expect(post).toHaveProperty('ticket');
  });

  test('checkAccess - an unknown RPT is denied with a ticket', () => {
    const as = server();
    as.protect(RS, PHOTO, false);
    expect(deniedTicket(as, { rpt: 'not-an-rpt' })).toEqual(expect.any(String));
  });

  test('checkAccess - puts ticketScopes into the ticket, and any one of the condition scopes grants', () => {
    const as = server();
    as.protect(RS, PHOTO, false);
    const { access_token } = as.getRpt(RP, { ticket: deniedTicket(as, { http_method: 'PUT' }) });
    const introspection = as.introspectRpt(access_token);
    expect(introspection.permissions?.map((p) => p.resource_scopes)).toEqual([[ADD]]);
    expect(
      as.checkAccess(RS, { rpt: access_token, path: '/photo', http_method: 'POST' }).access,
    ).toBe('granted');
  });

  test('checkAccess - a scopes override the RPT lacks is denied with a fresh ticket for those scopes', () => {
    const as = server();
    as.protect(
      RS,
      [{ path: '/photo', conditions: [{ httpMethods: ['GET'], scopes: [VIEW, ALL] }] }],
      false,
    );
    const first = deniedTicket(as, { scopes: [VIEW] });
    const { access_token } = as.getRpt(RP, { ticket: first });
    expect(
      as.checkAccess(RS, { rpt: access_token, path: '/photo', http_method: 'GET' }).access,
    ).toBe('granted');
    const denied = as.checkAccess(RS, {
      rpt: access_token,
      path: '/photo',
      http_method: 'GET',
      scopes: [ALL],
    });
    expect(denied.access).toBe('denied');
    if (denied.access !== 'denied') return;
    expect(denied.ticket).not.toBe(first);
    const upgraded = as.getRpt(RP, { ticket: denied.ticket });
    expect(as.introspectRpt(upgraded.access_token).permissions?.[0]?.resource_scopes).toEqual([
      ALL,
    ]);
  });

  test('checkAccess - denies a permission for the resource that holds none of the condition scopes', () => {
    const as = server();
    as.protect(
      RS,
      [
        {
          path: '/photo',
          conditions: [{ httpMethods: ['GET'], scopes: [VIEW], ticketScopes: [INTERNAL] }],
        },
      ],
      false,
    );
    const { access_token } = as.getRpt(RP, { ticket: deniedTicket(as) });
    expect(as.introspectRpt(access_token).permissions?.[0]?.resource_scopes).toEqual([INTERNAL]);
    expect(deniedTicket(as, { rpt: access_token })).toEqual(expect.any(String));
  });

  test('checkAccess - rejects a scopes override that is not registered on the resource', () => {
    const as = server();
    as.protect(RS, PHOTO, false);
    const err = umaError(() => deniedTicket(as, { scopes: [INTERNAL] }));
    expect(err.error).toBe('invalid_scope');
    expect(err.description).toContain(INTERNAL);
  });

  test('checkAccess - an expired RPT is denied with a ticket', () => {
    const as = server({ rptTtlSeconds: 60 });
    as.protect(RS, PHOTO, false);
    const { access_token } = as.getRpt(RP, { ticket: deniedTicket(as) });
    nowMs += 59_000;
    expect(
      as.checkAccess(RS, { rpt: access_token, path: '/photo', http_method: 'GET' }).access,
    ).toBe('granted');
    nowMs += 1_000;
    expect(deniedTicket(as, { rpt: access_token })).toEqual(expect.any(String));
    expect(as.introspectRpt(access_token)).toEqual({ active: false });
  });

  test.each([
    [
      'an unprotected path',
      { path: '/video', http_method: 'GET' },
      'invalid_request',
      /Resource is not protected with path: \/video and httpMethod: GET/,
    ],
    [
      'an unprotected method',
      { path: '/photo', http_method: 'DELETE' },
      'invalid_request',
      /Resource is not protected with path: \/photo/,
    ],
    [
      'a missing http_method',
      { path: '/photo', http_method: '' },
      'invalid_http_method',
      /http_method/,
    ],
    ['a missing path', { path: '', http_method: 'GET' }, 'invalid_path_parameter', /path/],
  ])('checkAccess - rejects %s', (_title, req, code, message) => {
    const as = server();
    as.protect(RS, PHOTO, false);
    const err = umaError(() => as.checkAccess(RS, { rpt: '', ...req }));
    expect(err.error).toBe(code);
    expect(err.description).toMatch(message);
  });

  describe('with a scope_expression (all or add) and internal', () => {
    const expression = {
      rule: { and: [{ or: [{ var: 0 }, { var: 1 }] }, { var: 2 }] },
      data: [ALL, ADD, INTERNAL],
    };

    test('checkAccess - puts the expression data into the ticket when there are no scopes', () => {
      const as = server();
      as.protect(
        RS,
        [{ path: '/photo', conditions: [{ httpMethods: ['GET'], scope_expression: expression }] }],
        false,
      );
      const { access_token } = as.getRpt(RP, { ticket: deniedTicket(as) });
      expect(as.introspectRpt(access_token).permissions?.[0]?.resource_scopes).toEqual([
        ALL,
        ADD,
        INTERNAL,
      ]);
      expect(
        as.checkAccess(RS, { rpt: access_token, path: '/photo', http_method: 'GET' }).access,
      ).toBe('granted');
    });

    test.each([
      [[ALL], 'denied'],
      [[ADD], 'denied'],
      [[INTERNAL], 'denied'],
      [[ALL, ADD], 'denied'],
      [[ALL, INTERNAL], 'granted'],
      [[ADD, INTERNAL], 'granted'],
    ])('checkAccess - an RPT holding %j is %s', (held, expected) => {
      const as = server();
      as.protect(
        RS,
        [{ path: '/photo', conditions: [{ httpMethods: ['GET'], scope_expression: expression }] }],
        false,
      );
      const { access_token } = as.getRpt(RP, { ticket: deniedTicket(as, { scopes: held }) });
      expect(
        as.checkAccess(RS, { rpt: access_token, path: '/photo', http_method: 'GET' }).access,
      ).toBe(expected);
    });

    test.each([
      [[ALL], 'denied'],
      [[ADD], 'granted'],
      [[INTERNAL], 'granted'],
    ])('checkAccess - with (not all) or add, an RPT holding %j is %s', (held, expected) => {
      const as = server();
      as.protect(
        RS,
        [
          {
            path: '/photo',
            conditions: [
              {
                httpMethods: ['GET'],
                scope_expression: {
                  rule: { or: [{ '!': { var: 0 } }, { var: 1 }] },
                  data: [ALL, ADD],
                },
                ticketScopes: [INTERNAL],
              },
            ],
          },
        ],
        false,
      );
      const { access_token } = as.getRpt(RP, { ticket: deniedTicket(as, { scopes: held }) });
      expect(
        as.checkAccess(RS, { rpt: access_token, path: '/photo', http_method: 'GET' }).access,
      ).toBe(expected);
    });
  });
});

describe('getRpt', () => {
  test('getRpt - a ticket can be exchanged only once', () => {
    const as = server();
    as.protect(RS, PHOTO, false);
    const ticket = deniedTicket(as);
    as.getRpt(RP, { ticket });
    const err = umaError(() => as.getRpt(RP, { ticket }));
    expect(err.error).toBe('invalid_ticket');
    expect(err.details).toEqual({ error: 'invalid_ticket', error_description: err.description });
  });

  test('getRpt - an expired ticket is invalid_ticket', () => {
    const as = server({ ticketTtlSeconds: 30 });
    as.protect(RS, PHOTO, false);
    const ticket = deniedTicket(as);
    nowMs += 30_000;
    expect(umaError(() => as.getRpt(RP, { ticket })).error).toBe('invalid_ticket');
  });

  test('getRpt - rejects an unknown ticket, a blank ticket and half a claim token', () => {
    const as = server();
    as.protect(RS, PHOTO, false);
    expect(umaError(() => as.getRpt(RP, { ticket: 'made-up' })).error).toBe('invalid_ticket');
    expect(umaError(() => as.getRpt(RP, { ticket: ' ' })).error).toBe('invalid_ticket_parameter');
    const ticket = deniedTicket(as);
    expect(umaError(() => as.getRpt(RP, { ticket, claim_token: 'x.y.z' })).error).toBe(
      'invalid_claim_token_or_claim_token_form',
    );
    expect(as.getRpt(RP, { ticket }).token_type).toBe('Bearer');
  });

  test('getRpt - upgrading an RPT carries its permissions into the new one', () => {
    const as = server();
    as.protect(RS, PHOTO, false);
    const first = as.getRpt(RP, { ticket: deniedTicket(as) });
    const second = as.getRpt(RP, {
      ticket: deniedTicket(as, { http_method: 'POST' }),
      rpt: first.access_token,
    });
    expect(second.updated).toBe(true);
    expect(second.access_token).not.toBe(first.access_token);
    for (const method of ['GET', 'POST']) {
      expect(
        as.checkAccess(RS, { rpt: second.access_token, path: '/photo', http_method: method })
          .access,
      ).toBe('granted');
    }
    expect(as.introspectRpt(second.access_token).permissions).toHaveLength(2);
    expect(as.introspectRpt(first.access_token).permissions).toHaveLength(1);
  });

  test("getRpt - another client's or an expired RPT is not upgraded", () => {
    const as = server({ rptTtlSeconds: 60 });
    as.protect(RS, PHOTO, false);
    const first = as.getRpt(RP, { ticket: deniedTicket(as) });
    const other = as.getRpt('other-rp', {
      ticket: deniedTicket(as, { http_method: 'POST' }),
      rpt: first.access_token,
    });
    expect(other.updated).toBe(false);
    expect(as.introspectRpt(other.access_token).permissions).toHaveLength(1);
    nowMs += 60_000;
    const late = as.getRpt(RP, { ticket: deniedTicket(as), rpt: first.access_token });
    expect(late.updated).toBe(false);
  });

  test('getRpt - adds requested scopes registered on the resource and rejects others', () => {
    const as = server();
    as.protect(RS, PHOTO, false);
    const ticket = deniedTicket(as, { http_method: 'POST' });
    const err = umaError(() => as.getRpt(RP, { ticket, scope: [VIEW] }));
    expect(err.error).toBe('invalid_scope');
    const { access_token } = as.getRpt(RP, { ticket, scope: [ALL] });
    expect(as.introspectRpt(access_token).permissions?.[0]?.resource_scopes).toEqual([ADD, ALL]);
  });

  describe('with a claims policy', () => {
    const policy: ClaimsPolicy = {
      [VIEW]: [
        {
          name: 'email',
          friendly_name: 'email',
          claim_type: 'urn:oid:0.9.2342.19200300.100.1.3',
          value: 'alice@example.com',
        },
      ],
    };

    test('getRpt - answers need_info with a new ticket, the required claims and the gathering endpoint', () => {
      const as = server({ claimsPolicy: policy });
      as.protect(RS, PHOTO, false);
      const ticket = deniedTicket(as);
      const err = umaError(() => as.getRpt(RP, { ticket }));
      expect(err.error).toBe('need_info');
      expect(err.status).toBe(403);
      const details = err.details as NeedInfoDetails;
      expect(details).toEqual({
        error: 'need_info',
        ticket: expect.any(String),
        required_claims: [
          {
            name: 'email',
            friendly_name: 'email',
            claim_type: 'urn:oid:0.9.2342.19200300.100.1.3',
            claim_token_format: [ID_TOKEN_CLAIM_FORMAT],
            issuer: [AS_URI],
          },
        ],
        redirect_user: GATHERING,
      });
      expect(details.ticket).not.toBe(ticket);
      expect(umaError(() => as.getRpt(RP, { ticket })).error).toBe('invalid_ticket');
      expect(umaError(() => as.getRpt(RP, { ticket: details.ticket })).error).toBe('need_info');
    });

    test('getRpt - scopes without a policy need no claims', () => {
      const as = server({ claimsPolicy: policy });
      as.protect(RS, PHOTO, false);
      expect(as.getRpt(RP, { ticket: deniedTicket(as, { http_method: 'POST' }) }).updated).toBe(
        false,
      );
    });

    test('getRpt - accepts a pushed ID token carrying the required claim, and its pct later', () => {
      const as = server({ claimsPolicy: policy });
      as.protect(RS, PHOTO, false);
      const claim_token = idToken({
        sub: 'alice',
        email: 'alice@example.com',
        exp: nowMs / 1000 + 60,
      });
      const first = as.getRpt(RP, {
        ticket: deniedTicket(as),
        claim_token,
        claim_token_format: ID_TOKEN_CLAIM_FORMAT,
      });
      expect(first.pct).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const second = as.getRpt(RP, { ticket: deniedTicket(as), pct: first.pct });
      expect(second.pct).toBe(first.pct);
      expect(
        as.checkAccess(RS, { rpt: second.access_token, path: '/photo', http_method: 'GET' }).access,
      ).toBe('granted');
      expect(
        umaError(() => as.getRpt('other-rp', { ticket: deniedTicket(as), pct: first.pct })).error,
      ).toBe('invalid_grant');
      expect(
        umaError(() => as.getRpt(RP, { ticket: deniedTicket(as), pct: 'unknown' })).error,
      ).toBe('invalid_grant');
    });

    test('getRpt - a pushed ID token with another value still needs info', () => {
      const as = server({ claimsPolicy: policy });
      as.protect(RS, PHOTO, false);
      const claim_token = idToken({ email: 'mallory@example.com' });
      const err = umaError(() =>
        as.getRpt(RP, {
          ticket: deniedTicket(as),
          claim_token,
          claim_token_format: ID_TOKEN_CLAIM_FORMAT,
        }),
      );
      expect(err.error).toBe('need_info');
      expect(JSON.stringify(err.details)).not.toContain('alice@example.com');
    });

    test.each([
      [
        'an unsupported format',
        idToken({ email: 'alice@example.com' }),
        'urn:example:saml',
        'invalid_claim_token_format',
      ],
      [
        'a token that is not a JWT',
        'opaque-token',
        ID_TOKEN_CLAIM_FORMAT,
        'invalid_claim_token_format',
      ],
      [
        'an expired ID token',
        idToken({ email: 'alice@example.com', exp: 1 }),
        ID_TOKEN_CLAIM_FORMAT,
        'invalid_grant',
      ],
    ])(
      'getRpt - rejects %s without using the ticket up',
      (_title, claim_token, claim_token_format, code) => {
        const as = server({ claimsPolicy: policy });
        as.protect(RS, PHOTO, false);
        const ticket = deniedTicket(as);
        const err = umaError(() => as.getRpt(RP, { ticket, claim_token, claim_token_format }));
        expect(err.error).toBe(code);
        expect(err.details).toEqual({ error: code, error_description: err.description });
        expect(umaError(() => as.getRpt(RP, { ticket })).error).toBe('need_info');
      },
    );
  });
});

describe('claimsGatheringUrl', () => {
  test('claimsGatheringUrl - builds the URL with client_id, ticket, claims_redirect_uri and a generated state', () => {
    const as = server();
    as.protect(RS, PHOTO, false);
    const ticket = deniedTicket(as);
    const { url, state } = as.claimsGatheringUrl(RP, {
      ticket,
      claims_redirect_uri: 'https://rp.example/uma/claims?x=1&y=2',
    });
    expect(state).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(url).toBe(
      `${GATHERING}?client_id=${RP}&ticket=${ticket}&claims_redirect_uri=${encodeURIComponent('https://rp.example/uma/claims?x=1&y=2')}&state=${state}`,
    );
    expect(
      as.claimsGatheringUrl(RP, {
        ticket,
        claims_redirect_uri: 'https://rp.example/c',
        state: 'mine',
      }).state,
    ).toBe('mine');
  });

  test.each([
    [
      'an unknown ticket',
      { ticket: 'made-up', claims_redirect_uri: 'https://rp.example/c' },
      'invalid_ticket',
    ],
    [
      'a blank ticket',
      { ticket: '', claims_redirect_uri: 'https://rp.example/c' },
      'invalid_ticket_parameter',
    ],
    [
      'no claims_redirect_uri',
      { ticket: 'T', claims_redirect_uri: '' },
      'invalid_claims_redirect_uri_parameter',
    ],
    [
      'a relative claims_redirect_uri',
      { ticket: 'T', claims_redirect_uri: '/c' },
      'invalid_claims_redirect_uri_parameter',
    ],
    [
      'a javascript: claims_redirect_uri',
      { ticket: 'T', claims_redirect_uri: 'javascript:alert(1)' },
      'invalid_claims_redirect_uri_parameter',
    ],
  ])('claimsGatheringUrl - rejects %s', (_title, req, code) => {
    const as = server();
    expect(umaError(() => as.claimsGatheringUrl(RP, req)).error).toBe(code);
  });
});

describe('introspectRpt', () => {
  test('introspectRpt - reports client, times, issuer and permissions of an active RPT', () => {
    const as = server({ rptTtlSeconds: 600 });
    as.protect(RS, PHOTO, false);
    const { access_token } = as.getRpt(RP, { ticket: deniedTicket(as) });
    const resourceId = as.toJSON().resources[RS]?.[0]?.id;
    const iat = nowMs / 1000;
    expect(as.introspectRpt(access_token)).toEqual({
      active: true,
      client_id: RP,
      iss: AS_URI,
      iat,
      nbf: iat,
      exp: iat + 600,
      permissions: [{ resource_id: resourceId, resource_scopes: [VIEW], exp: iat + 600 }],
    });
  });

  test('introspectRpt - an unknown RPT is inactive and a blank one is an error', () => {
    const as = server();
    expect(as.introspectRpt('unknown')).toEqual({ active: false });
    expect(umaError(() => as.introspectRpt('')).error).toBe('invalid_rpt_parameter');
  });
});

describe('toJSON / fromJSON', () => {
  test('fromJSON - keeps resources (ids included) across a restart, but not tickets or RPTs', () => {
    const before = server();
    before.protect(RS, PHOTO, false);
    const ticket = deniedTicket(before);
    const { access_token } = before.getRpt(RP, { ticket: deniedTicket(before) });
    const saved = JSON.parse(JSON.stringify(before.toJSON())) as unknown;

    const after = server();
    after.fromJSON(saved);
    expect(after.toJSON()).toEqual(before.toJSON());
    expect(umaError(() => after.protect(RS, PHOTO, false)).error).toBe('uma_protection_exists');
    expect(umaError(() => after.getRpt(RP, { ticket })).error).toBe('invalid_ticket');
    expect(after.introspectRpt(access_token)).toEqual({ active: false });
    const { access_token: fresh } = after.getRpt(RP, { ticket: deniedTicket(after) });
    expect(after.checkAccess(RS, { rpt: fresh, path: '/photo', http_method: 'GET' }).access).toBe(
      'granted',
    );
  });

  test('fromJSON - keeps scope expressions', () => {
    const before = server();
    const scope_expression = { rule: { or: [{ var: 0 }, { var: 1 }] }, data: [ALL, ADD] };
    before.protect(
      RS,
      [{ path: '/p', conditions: [{ httpMethods: ['GET'], scope_expression }] }],
      false,
    );
    const after = server();
    after.fromJSON(JSON.parse(JSON.stringify(before.toJSON())));
    expect(after.toJSON().resources[RS]?.[0]?.scope_expression).toEqual(scope_expression);
  });

  test.each([
    ['nothing', undefined],
    ['another version', { version: 2, resources: {} }],
    [
      'a resource without id',
      {
        version: 1,
        resources: {
          [RS]: [{ path: '/p', httpMethods: ['GET'], scopes: [VIEW], ticketScopes: [] }],
        },
      },
    ],
    [
      'a resource without methods',
      {
        version: 1,
        resources: { [RS]: [{ id: 'r1', path: '/p', scopes: [VIEW], ticketScopes: [] }] },
      },
    ],
  ])('fromJSON - rejects %s and keeps the current resources', (_title, state) => {
    const as = server();
    as.protect(RS, PHOTO, false);
    const current = as.toJSON();
    expect(() => as.fromJSON(state)).toThrow(TypeError);
    expect(as.toJSON()).toEqual(current);
  });
});
