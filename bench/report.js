'use strict';
/**
 * The bench's report: the tables (with the targets and whether each was met) as text and
 * Markdown, and the SVG chart.
 */
const { cpus } = require('node:os');
const { OXD_SETTINGS } = require('../dist/config/settings');
const { CALLERS, CONNECTIONS, INSTANCES, PINNING, PLAN, SMOKE } = require('./plan');

const fmt = (value, digits = 0) =>
  Number.isFinite(value)
    ? value.toLocaleString('en-US', {
        minimumFractionDigits: digits,
        maximumFractionDigits: digits,
      })
    : 'n/a';

function table(headers, rows) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
  return [
    line(headers),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.map(line),
  ].join('\n');
}

function escapeXml(text) {
  return String(text).replace(
    /[<>&"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c],
  );
}

/** A horizontal bar chart of one or more panels: { title, unit, bars: [{ label, value }] }. */
function svgChart(panels) {
  const width = 760;
  const labelWidth = 300;
  const barArea = width - labelWidth - 120;
  const rowHeight = 26;
  let y = 20;
  const parts = [];
  for (const panel of panels) {
    parts.push(
      `<text x="10" y="${y + 14}" font-size="15" font-weight="bold">${escapeXml(panel.title)}</text>`,
    );
    y += 28;
    const max = Math.max(...panel.bars.map((b) => b.value), 1);
    for (const bar of panel.bars) {
      const w = Math.max(1, Math.round((bar.value / max) * barArea));
      const fill = bar.ours ? '#2f6fb0' : '#9aa5b1';
      parts.push(
        `<text x="${labelWidth - 8}" y="${y + 16}" font-size="12" text-anchor="end">${escapeXml(bar.label)}</text>`,
        `<rect x="${labelWidth}" y="${y + 3}" width="${w}" height="18" fill="${fill}"/>`,
        `<text x="${labelWidth + w + 6}" y="${y + 16}" font-size="12">${escapeXml(`${fmt(bar.value)} ${panel.unit}`)}</text>`,
      );
      y += rowHeight;
    }
    y += 14;
  }
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}" ` +
    `font-family="sans-serif">\n<rect width="100%" height="100%" fill="#fff"/>\n${parts.join('\n')}\n</svg>\n`
  );
}

/** The login bursts (bench/burst.js): one row each, the first at the default settings. */
function burstSection(bursts) {
  const rows = bursts.map((b) => {
    const failed = Object.entries(b.failures)
      .map(([why, n]) => `${n} × ${why}`)
      .join(', ');
    return [
      b.poolSize === undefined
        ? `default settings (pool_size ${OXD_SETTINGS.poolSize.default})`
        : `pool_size ${b.poolSize}`,
      fmt(b.count),
      fmt(b.ok),
      failed || 'none',
      fmt(b.p50),
      fmt(b.p99),
      fmt(b.max),
      fmt(b.wall),
    ];
  });
  return [
    `Login burst: ${fmt(bursts[0].count)} simultaneous logins at one app (login → OP form → ` +
      'callback → a page behind requireAuth, all started at once; times from the start of the burst)',
    table(
      ['app', 'logins', 'succeeded', 'failed', 'p50 ms', 'p99 ms', 'slowest ms', 'burst ms'],
      rows,
    ),
  ];
}

/** The burst's target: every login of the burst at the default settings succeeds. */
function burstTarget([defaults]) {
  return [
    `${fmt(defaults.count)} simultaneous logins, default settings`,
    'all succeed',
    `${fmt(defaults.ok)}/${fmt(defaults.count)} (p50 ${fmt(defaults.p50)} ms, p99 ${fmt(defaults.p99)} ms)`,
    defaults.ok === defaults.count ? 'met' : 'MISSED',
  ];
}

function buildReport({ started, load0, http, scenarios, login, bursts, footprint, scale, client }) {
  const get = (name) => http.get(name);
  const bare = get('bare express-session guard');
  const vsBare = http.ratios('express-oxd requireAuth', 'bare express-session guard');
  const vsEoc = http.ratios('express-oxd requireAuth', 'express-openid-connect requiresAuth');
  const p99OverBare = http.p99Deltas('express-oxd requireAuth', 'bare express-session guard');
  const httpRows = scenarios.map((s) => {
    const m = get(s.name);
    return [
      s.name,
      fmt(m.rps),
      `${fmt(m.min)}–${fmt(m.max)}`,
      fmt(m.rps / bare.rps, 2),
      fmt(m.p50, 3),
      fmt(m.p99, 3),
    ];
  });
  const clientRows = Object.entries(client).map(([name, value]) => [name, fmt(value)]);
  const socketPool = client['socket, pool of 4 (default)'];
  const socketNew = client['socket, new connection per command'];
  const keepAlive = client['HTTPS, keep-alive'];
  const newTls = client['HTTPS, new TLS connection per command'];
  const scaleRows = scale.scenarios.map((s) => {
    const m = scale.measured.get(s.name);
    const heap = s.store === 'MemoryStore' ? fmt(scale.heap[s.count]) : 'n/a (kept by Redis)';
    return [s.name, fmt(m.rps), fmt(m.p99, 3), heap];
  });
  const flatness = ['MemoryStore', 'Redis']
    .map((store) => {
      const list = scale.scenarios.filter((s) => s.store === store);
      if (list.length < 2) return undefined;
      const small = scale.measured.get(list[0].name).rps;
      const large = scale.measured.get(list[list.length - 1].name).rps;
      return [store, fmt(large / small, 2)];
    })
    .filter(Boolean);
  const verdict = (ok) => (ok ? 'met' : 'MISSED');
  const targets = [
    [
      'requireAuth vs bare express-session (median of per-round ratios)',
      '≥ 0.97×',
      `${fmt(vsBare, 2)}×`,
      verdict(vsBare >= 0.97),
    ],
    [
      'requireAuth vs express-openid-connect (median of per-round ratios)',
      '≥ 1.6×',
      `${fmt(vsEoc, 2)}×`,
      verdict(vsEoc >= 1.6),
    ],
    [
      'p99 over bare (median of per-round differences)',
      '≤ 0.5 ms',
      `${fmt(p99OverBare, 3)} ms`,
      verdict(p99OverBare <= 0.5),
    ],
    [
      'stored session, one login',
      '≤ 1,300 B',
      `${fmt(footprint.oxd)} B`,
      verdict(footprint.oxd <= 1300),
    ],
    [
      'socket, 64 callers, default pool',
      '≥ 35,000/s',
      `${fmt(socketPool)}/s`,
      verdict(socketPool >= 35000),
    ],
    [
      'socket pool vs new connection',
      '≥ 4×',
      `${fmt(socketPool / socketNew, 1)}×`,
      verdict(socketPool / socketNew >= 4),
    ],
    [
      'HTTPS keep-alive vs new TLS',
      '≥ 15×',
      `${fmt(keepAlive / newTls, 1)}×`,
      verdict(keepAlive / newTls >= 15),
    ],
    [
      'our code in a login round trip (CPU profile)',
      '≤ 10%',
      `${fmt(login.ownShare * 100, 1)}% (whole app process ${fmt(login.share * 100, 1)}%)`,
      verdict(login.ownShare <= 0.1),
    ],
    burstTarget(bursts),
  ];
  const sections = [
    [
      'Protected route, logged-in session (median of rounds)',
      table(['scenario', 'req/s', 'rounds min–max', '× bare', 'p50 ms', 'p99 ms'], httpRows),
    ],
    ['Targets', table(['what', 'target', 'measured', ''], targets)],
    [
      'Stored session for one login (bytes of the store entry / cookie)',
      table(
        ['app', 'bytes'],
        [
          ['express-oxd (express-session JSON, cookie included)', fmt(footprint.oxd)],
          ['bare express-session, tokens + claims', fmt(footprint.bare)],
          ['express-openid-connect (appSession cookie, encrypted)', fmt(footprint.eoc)],
        ],
      ),
    ],
    [
      `Login round trip (login → OP form → callback → user info), ${PLAN.logins} logins; per login: ` +
        "express-oxd's code (CPU profile: its functions and the built-ins they call), the whole " +
        "app process's CPU, the login routes minus their oxd calls, the oxd calls",
      table(
        [
          'p50 ms',
          'p90 ms',
          'express-oxd code ms',
          'share',
          'app CPU ms',
          'share',
          'login routes minus oxd calls ms',
          'share',
          'oxd calls ms',
        ],
        [
          [
            fmt(login.p50, 1),
            fmt(login.p90, 1),
            fmt(login.ownPerLogin, 2),
            `${fmt(login.ownShare * 100, 1)}%`,
            fmt(login.cpuPerLogin, 2),
            `${fmt(login.share * 100, 1)}%`,
            fmt(login.routesPerLogin, 2),
            `${fmt(login.routeShare * 100, 1)}%`,
            fmt(login.oxdPerLogin, 1),
          ],
        ],
      ),
    ],
    burstSection(bursts),
    [
      'Sessions in the store (express-oxd requireAuth)',
      table(['store', 'req/s', 'p99 ms', 'heap bytes per session'], scaleRows),
    ],
    ['Largest vs smallest store (req/s ratio)', table(['store', 'ratio'], flatness)],
    [
      `oxd client, ${CALLERS} concurrent callers (get_rp)`,
      table(['mode', 'commands/s'], clientRows),
    ],
  ];
  const text = sections.map(([title, body]) => `${title}\n${body}`).join('\n\n');
  const machine =
    `${started.toISOString()}, Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ` +
    `load average ${fmt(load0, 2)} at start; ${PLAN.rounds} rounds of ${PLAN.seconds} s per HTTP scenario ` +
    `after a ${PLAN.warmup} s warm-up, ${CONNECTIONS} connections, ` +
    `${INSTANCES} processes taking turns, each serving all four protected-route apps; ` +
    (PINNING
      ? `during the HTTP rounds the app servers run on CPU ${PINNING.servers} and the load generator on CPU ${PINNING.generator}`
      : 'app servers and load generator not pinned to CPUs') +
    `${SMOKE ? ' (smoke run: figures are not meaningful)' : ''}.`;
  const markdown =
    `# Benchmark results\n\nWritten by \`npm run bench\` (bench/run.js). ${machine}\n` +
    'The machine may be shared: compare the ratios measured side by side in one run, not the absolute figures. ' +
    'Absolute figures also differ from table to table: their processes serve different sets of apps.\n\n' +
    '![requests per second and oxd commands per second](results.svg)\n\n' +
    sections.map(([title, body]) => `## ${title}\n\n${body}\n`).join('\n');
  const svg = svgChart([
    {
      title: 'Protected route, logged-in session (req/s, higher is better)',
      unit: 'req/s',
      bars: scenarios.map((s) => ({
        label: s.name,
        value: get(s.name).rps,
        ours: s.name.startsWith('express-oxd'),
      })),
    },
    {
      title: `oxd client, ${CALLERS} callers (commands/s)`,
      unit: '/s',
      bars: Object.entries(client).map(([label, value]) => ({ label, value, ours: true })),
    },
  ]);
  return { text, markdown, svg };
}

module.exports = { buildReport, burstSection, burstTarget, table };
