// tokencomp dashboards: one script for every page (`<body data-page="...">` picks the page).
//
// Rules this file keeps (the server's Content-Security-Policy enforces most of them):
// - no inline scripts, styles or event handlers: behaviour is attached here, looks are classes
//   in app.css;
// - API data only ever reaches the page through textContent / text nodes / attribute values,
//   never innerHTML;
// - token amounts are strings of base units and are formatted exactly with BigInt; they are
//   converted to Number only for chart geometry.
'use strict';

(() => {
  // -------------------------------------------------------------------------------------------
  // DOM helpers

  const SVG_NS = 'http://www.w3.org/2000/svg';

  function put(parent, kids) {
    for (const k of kids.flat(Infinity)) {
      if (k === null || k === undefined || k === false) continue;
      parent.append(k instanceof Node ? k : String(k));
    }
    return parent;
  }

  function setAttrs(e, props) {
    for (const [k, v] of Object.entries(props || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'text') e.textContent = String(v);
      else if (k === 'class') e.setAttribute('class', v);
      else if (k === 'dataset') for (const [dk, dv] of Object.entries(v)) e.dataset[dk] = String(dv);
      else if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
      else if (v === true) e.setAttribute(k, '');
      else e.setAttribute(k, String(v));
    }
    return e;
  }

  /** An HTML element: h('td', {class: 'num'}, 'text', node, ...). */
  function h(tag, props, ...kids) {
    return put(setAttrs(document.createElement(tag), props), kids);
  }

  /** An SVG element. */
  function s(tag, props, ...kids) {
    return put(setAttrs(document.createElementNS(SVG_NS, tag), props), kids);
  }

  const $ = (sel, root = document) => root.querySelector(sel);

  function fill(target, ...kids) {
    const el = typeof target === 'string' ? document.getElementById(target) : target;
    if (!el) return null;
    el.replaceChildren();
    return put(el, kids);
  }

  /**
   * An error message in place of a section. `data-source` tells an answer of the API
   * (`api`: the server refused or failed) from a failure of this script (`script`: a bug).
   */
  function errorBox(err, prefix) {
    const msg = err && err.message ? err.message : String(err);
    const code = err && err.code ? ` (${err.code})` : '';
    const source = err instanceof ApiError || (err && err.code) ? 'api' : 'script';
    if (source === 'script') console.error('tokencomp dashboard:', err);
    return h('p', { class: 'error', role: 'alert', 'data-source': source }, prefix ? `${prefix}: ` : '', msg, code);
  }

  const muted = (text) => h('p', { class: 'muted' }, text);

  // -------------------------------------------------------------------------------------------
  // numbers

  const GROUP = /\B(?=(\d{3})+(?!\d))/g;

  /** Exact formatting of base units: fmt("40996000000000000000000", 18, 2) → "40,996.00". */
  // Token amounts are truncated to `dp` places (a display never shows more than is held, as the
  // CLI does); fiat (`round`) is rounded as it is booked, half away from zero.
  function fmt(units, decimals, dp = 2, round = false) {
    if (units === null || units === undefined || units === '') return '—';
    let v;
    try {
      v = BigInt(units);
    } catch {
      return String(units);
    }
    const neg = v < 0n;
    if (neg) v = -v;
    const d = Number(decimals) || 0;
    if (dp < d) {
      const q = 10n ** BigInt(d - dp);
      v = round ? (v + q / 2n) / q : v / q; // |v|: half up is half away from zero
    } else if (dp > d) {
      v *= 10n ** BigInt(dp - d);
    }
    const scale = 10n ** BigInt(dp);
    const ip = (v / scale).toString().replace(GROUP, ',');
    const fp = dp > 0 ? '.' + (v % scale).toString().padStart(dp, '0') : '';
    return (neg && v !== 0n ? '-' : '') + ip + fp;
  }

  /** An exact decimal string ("-1234.5678") as base units and a scale. */
  function decParse(str) {
    const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(String(str ?? '').trim());
    if (!m) return null;
    const frac = m[3] || '';
    return { units: BigInt(m[1] + m[2] + frac), scale: frac.length };
  }

  /** An exact decimal string, rounded half up to `dp` places, with thousands separators. */
  function fmtDec(str, dp = 2) {
    const p = decParse(str);
    if (!p) return str === null || str === undefined ? '—' : String(str);
    return fmt(p.units.toString(), p.scale, dp, true);
  }

  /** The exact sum of decimal strings, formatted. */
  function decSum(list, dp = 2) {
    const parsed = list.map(decParse).filter(Boolean);
    const scale = Math.max(0, ...parsed.map((p) => p.scale));
    let total = 0n;
    for (const p of parsed) total += p.units * 10n ** BigInt(scale - p.scale);
    return fmt(total.toString(), scale, dp, true);
  }

  function unitsSum(list) {
    let t = 0n;
    for (const u of list) t += BigInt(u || '0');
    return t.toString();
  }

  /** Base units as a Number of whole tokens: chart geometry only. */
  function num(units, decimals) {
    try {
      return Number(BigInt(units || '0')) / 10 ** Number(decimals || 0);
    } catch {
      return 0;
    }
  }

  /** Compact axis labels: 1.2M, 350K, 4.5B. */
  function compact(x) {
    const a = Math.abs(x);
    const f = (v, suffix) => `${Number(v.toFixed(v < 10 ? 1 : 0))}${suffix}`;
    if (a >= 1e12) return f(x / 1e12, 'T');
    if (a >= 1e9) return f(x / 1e9, 'B');
    if (a >= 1e6) return f(x / 1e6, 'M');
    if (a >= 1e3) return f(x / 1e3, 'K');
    return Number(x.toFixed(a < 10 ? 2 : 0)).toString();
  }

  const nf = (x, dp = 0) =>
    Number(x).toLocaleString('en-US', { minimumFractionDigits: dp, maximumFractionDigits: dp });

  const pct = (part, whole) => (whole > 0 ? `${nf((100 * part) / whole, 1)}%` : '—');

  /** The share `part/whole` of two base-unit strings in percent, exact to 0.1. */
  function pctUnits(part, whole) {
    const w = BigInt(whole || '0');
    if (w === 0n) return '—';
    const tenths = (BigInt(part || '0') * 1000n + w / 2n) / w;
    return `${(tenths / 10n).toString()}.${(tenths % 10n).toString()}%`;
  }

  // -------------------------------------------------------------------------------------------
  // dates

  const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const DAY = 86400000;

  /** "YYYY-MM-DD" (or an RFC 3339 instant) as UTC milliseconds. */
  function ms(date) {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
    return m ? Date.UTC(+m[1], +m[2] - 1, +m[3]) : Date.parse(date);
  }

  const iso = (t) => new Date(t).toISOString().slice(0, 10);
  const monthLabel = (t) => {
    const d = new Date(t);
    return `${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
  };
  const dayLabel = (t) => {
    const d = new Date(t);
    return `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}`;
  };

  /** An instant for people: "2026-12-06 20:51 UTC". */
  function when(instant, seconds = false) {
    if (!instant) return '—';
    const t = Date.parse(instant);
    if (Number.isNaN(t)) return instant;
    return new Date(t).toISOString().slice(0, seconds ? 19 : 16).replace('T', ' ') + ' UTC';
  }

  /** Month starts from t0 to t1, every 1, 2, 3, 6, 12, ... months, at most about `max` of them. */
  function monthTicks(t0, t1, max = 8) {
    const a = new Date(t0);
    const b = new Date(t1);
    const months = (b.getUTCFullYear() - a.getUTCFullYear()) * 12 + b.getUTCMonth() - a.getUTCMonth() + 1;
    const step = [1, 2, 3, 6, 12, 24, 60, 120].find((k) => months / k <= max) || 240;
    let idx = a.getUTCFullYear() * 12 + a.getUTCMonth();
    if (Date.UTC(a.getUTCFullYear(), a.getUTCMonth(), 1) < t0) idx += 1;
    while (idx % step !== 0) idx += 1; // quarters start in January, years are even for 24, ...
    const out = [];
    for (; out.length < 400; idx += step) {
      const t = Date.UTC(Math.floor(idx / 12), idx % 12, 1);
      if (t > t1) break;
      out.push(t);
    }
    return { ticks: out, label: step >= 12 ? (t) => String(new Date(t).getUTCFullYear()) : monthLabel };
  }

  // -------------------------------------------------------------------------------------------
  // the API

  let session = null;

  class ApiError extends Error {
    constructor(status, code, message, details) {
      super(message);
      this.status = status;
      this.code = code;
      this.details = details;
    }
  }

  async function api(path, opts = {}) {
    const method = opts.method || 'GET';
    const headers = { Accept: 'application/json' };
    const init = { method, headers, credentials: 'same-origin' };
    if (method !== 'GET' && method !== 'HEAD') {
      headers['Content-Type'] = 'application/json';
      if (session && session.csrf_token) headers['x-csrf-token'] = session.csrf_token;
      init.body = JSON.stringify(opts.body === undefined ? {} : opts.body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (e) {
      throw new ApiError(0, 'network', `the server did not answer (${e.message})`, null);
    }
    let doc = null;
    try {
      doc = await res.json();
    } catch {
      doc = null;
    }
    if (!res.ok) {
      if (res.status === 401 && !opts.noRedirect) {
        location.assign('/login');
      }
      throw new ApiError(
        res.status,
        doc && doc.code ? doc.code : `http_${res.status}`,
        doc && doc.message ? doc.message : `HTTP ${res.status} ${res.statusText}`,
        doc ? doc.details : null,
      );
    }
    return doc;
  }

  const enc = encodeURIComponent;

  const HOME = { admin: '/admin', employee: '/me', auditor: '/audit' };
  const NAV = [
    { href: '/admin', label: 'Company', roles: ['admin', 'auditor'] },
    { href: '/me', label: 'My tokens', roles: ['employee'] },
    { href: '/audit', label: 'Audit', roles: ['admin', 'auditor'] },
    { href: '/governance', label: 'Governance', roles: ['admin', 'auditor', 'employee'] },
  ];
  const PAGE_ROLES = {
    admin: ['admin', 'auditor'],
    me: ['employee'],
    audit: ['admin', 'auditor'],
    governance: ['admin', 'auditor', 'employee'],
  };

  /** Token amount with its symbol. */
  function tok(units, dp = 2, token) {
    const t = token || (session && session.token) || { symbol: '', decimals: 18 };
    return `${fmt(units, t.decimals, dp)} ${t.symbol}`.trim();
  }

  // -------------------------------------------------------------------------------------------
  // the shared header

  function renderHeader() {
    const here = location.pathname;
    const links = NAV.filter((n) => n.roles.includes(session.role)).map((n) =>
      h('li', {}, h('a', { href: n.href, 'aria-current': n.href === here ? 'page' : null }, n.label)),
    );
    const logout = h('button', { type: 'button', id: 'logout', class: 'ghost' }, 'Log out');
    logout.addEventListener('click', async () => {
      logout.disabled = true;
      try {
        await api('/api/session', { method: 'DELETE', noRedirect: true });
      } catch {
        // Logged out either way: the cookie is gone or was never valid.
      }
      location.assign('/login');
    });
    fill(
      'site-header',
      h(
        'div',
        { class: 'brand' },
        h('span', { class: 'logo', 'aria-hidden': 'true' }, '◆'),
        h('span', { id: 'company-name' }, session.company),
        h('span', { class: 'badge badge-muted', title: 'Token' }, session.token.symbol),
      ),
      h('nav', { 'aria-label': 'Dashboards' }, h('ul', {}, links)),
      h(
        'div',
        { class: 'who' },
        h('span', { id: 'current-user' }, session.user),
        session.person && session.person !== session.user ? h('span', { class: 'muted' }, `(${session.person})`) : null,
        h('span', { id: 'current-role', class: `badge role-${session.role}` }, session.role),
        logout,
      ),
    );
  }

  // -------------------------------------------------------------------------------------------
  // tables, stat cards, legends

  /**
   * A table: columns [{label, num?}], rows of cells (text or nodes, or {v, cls, title}).
   */
  function table(columns, rows, opts = {}) {
    const head = h(
      'thead',
      {},
      h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.num ? 'num' : null }, c.label))),
    );
    const body = h(
      'tbody',
      {},
      rows.map((r) => {
        const cells = Array.isArray(r) ? r : r.cells;
        const tr = h(
          'tr',
          (!Array.isArray(r) && r.attrs) || {},
          cells.map((cell, i) => {
            const col = columns[i] || {};
            const isDate = typeof cell === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(cell);
            const cls = [col.num ? 'num' : null, isDate ? 'nowrap' : null, cell && cell.cls].filter(Boolean).join(' ') || null;
            const tag = col.rowHeader ? 'th' : 'td';
            const props = { class: cls, scope: col.rowHeader ? 'row' : null, title: cell && cell.title };
            const content = cell && typeof cell === 'object' && !(cell instanceof Node) ? cell.v : cell;
            return h(tag, props, content === undefined || content === null ? '—' : content);
          }),
        );
        return tr;
      }),
    );
    const foot = opts.foot
      ? h(
          'tfoot',
          {},
          h(
            'tr',
            {},
            opts.foot.map((cell, i) => h(i === 0 ? 'th' : 'td', { class: columns[i] && columns[i].num ? 'num' : null, scope: i === 0 ? 'row' : null }, cell ?? '')),
          ),
        )
      : null;
    const t = h('table', { class: opts.cls || null, id: opts.id || null }, opts.caption ? h('caption', {}, opts.caption) : null, head, body, foot);
    return opts.scroll
      ? h('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': opts.caption || 'table' }, t)
      : h('div', { class: 'table-wrap' }, t);
  }

  function stat(label, value, opts = {}) {
    return h(
      'div',
      { class: `stat ${opts.cls || ''}`.trim(), id: opts.id || null },
      h('div', { class: 'stat-label' }, label),
      h('div', { class: 'stat-value' }, value),
      opts.sub ? h('div', { class: 'stat-sub' }, opts.sub) : null,
    );
  }

  const stats = (...items) => h('div', { class: 'stats' }, items);

  function legend(items) {
    return h(
      'ul',
      { class: 'legend' },
      items.map((it) => h('li', {}, h('span', { class: `swatch ${it.cls}`, 'aria-hidden': 'true' }), it.label)),
    );
  }

  // -------------------------------------------------------------------------------------------
  // charts (SVG, no libraries)

  /** A chart: a figure with a visible title, an SVG with role img and an accessible name. */
  function chart(id, title, w, hgt, opts = {}) {
    const svg = s('svg', {
      id,
      class: `chart-svg ${opts.cls || ''}`.trim(),
      viewBox: `0 0 ${w} ${hgt}`,
      role: 'img',
      'aria-label': opts.label || title,
      preserveAspectRatio: 'xMidYMid meet',
    });
    svg.append(s('title', { text: opts.label || title }));
    const fig = h('figure', { class: 'chart' }, h('figcaption', {}, title), svg, opts.legend || null, opts.note ? h('p', { class: 'chart-note muted' }, opts.note) : null);
    return { fig, svg };
  }

  const linear = (d0, d1, r0, r1) => (v) => (d1 === d0 ? (r0 + r1) / 2 : r0 + ((v - d0) * (r1 - r0)) / (d1 - d0));

  /** "Nice" ticks from 0 (or lo) to at least `max`. */
  function niceTicks(max, n = 5, lo = 0) {
    const span = max - lo;
    if (!(span > 0)) return [lo, lo + 1];
    const raw = span / n;
    const mag = 10 ** Math.floor(Math.log10(raw));
    const e = raw / mag;
    const step = (e >= 7.5 ? 10 : e >= 3.5 ? 5 : e >= 1.5 ? 2 : 1) * mag;
    const start = Math.floor(lo / step) * step;
    const out = [];
    for (let v = start; out.length < 50; v += step) {
      out.push(Number(v.toPrecision(12)));
      if (v >= max - step * 1e-9) break;
    }
    return out;
  }

  function yAxis(svg, ticks, y, x0, x1, format = compact) {
    const g = s('g', { class: 'axis axis-y' });
    for (const t of ticks) {
      g.append(s('line', { class: 'grid', x1: x0, x2: x1, y1: y(t), y2: y(t) }));
      g.append(s('text', { x: x0 - 6, y: y(t), dy: '0.32em', 'text-anchor': 'end', text: format(t) }));
    }
    svg.append(g);
  }

  function xAxisTime(svg, t0, t1, x, yBase, max = 8) {
    const { ticks, label } = monthTicks(t0, t1, max);
    const g = s('g', { class: 'axis axis-x' });
    g.append(s('line', { class: 'baseline', x1: x(t0), x2: x(t1), y1: yBase, y2: yBase }));
    for (const t of ticks) {
      g.append(s('line', { class: 'tick', x1: x(t), x2: x(t), y1: yBase, y2: yBase + 4 }));
      g.append(s('text', { x: x(t), y: yBase + 16, 'text-anchor': 'middle', text: label(t) }));
    }
    svg.append(g);
  }

  function axisTitle(svg, text, x, y, rotate) {
    svg.append(
      s('text', {
        class: 'axis-title',
        x,
        y,
        'text-anchor': 'middle',
        transform: rotate ? `rotate(-90 ${x} ${y})` : null,
        text,
      }),
    );
  }

  /** A vertical marker line (today, as of) with a label. */
  function markerLine(svg, xv, y0, y1, text, cls = 'marker') {
    svg.append(s('line', { class: cls, x1: xv, x2: xv, y1: y0, y2: y1 }));
    svg.append(s('text', { class: `${cls}-label`, x: xv + 4, y: y0 + 10, text }));
  }

  /**
   * Vertical bars, optionally stacked: data [{label, parts: [{value, cls, title}]}].
   */
  function barChart(id, title, data, opts = {}) {
    const W = opts.width || 900;
    const H = opts.height || 280;
    const m = { l: 64, r: 16, t: 16, b: 40 };
    const { fig, svg } = chart(id, title, W, H, opts);
    const totals = data.map((d) => d.parts.reduce((a, p) => a + p.value, 0));
    const ticks = niceTicks(Math.max(0, ...totals), 4);
    const y = linear(0, ticks[ticks.length - 1], H - m.b, m.t);
    yAxis(svg, ticks, y, m.l, W - m.r, opts.yFormat || compact);
    if (opts.yTitle) axisTitle(svg, opts.yTitle, 14, (H - m.b + m.t) / 2, true);
    const band = (W - m.l - m.r) / Math.max(1, data.length);
    const bw = Math.max(1, band * 0.72);
    const every = Math.max(1, Math.ceil(data.length / (opts.maxLabels || 12)));
    const g = s('g', { class: 'bars' });
    data.forEach((d, i) => {
      const x0 = m.l + i * band + (band - bw) / 2;
      let acc = 0;
      for (const p of d.parts) {
        if (!(p.value > 0)) continue;
        const top = y(acc + p.value);
        const rect = s('rect', {
          class: `bar ${p.cls || 'series-0'}`,
          x: x0.toFixed(2),
          y: top.toFixed(2),
          width: bw.toFixed(2),
          height: Math.max(0.5, y(acc) - top).toFixed(2),
        });
        rect.append(s('title', { text: p.title || `${d.label}: ${compact(p.value)}` }));
        g.append(rect);
        acc += p.value;
      }
      if (i % every === 0) {
        g.append(s('text', { class: 'bar-label', x: (x0 + bw / 2).toFixed(2), y: H - m.b + 16, 'text-anchor': 'middle', text: d.label }));
      }
    });
    svg.append(g);
    svg.append(s('line', { class: 'baseline', x1: m.l, x2: W - m.r, y1: H - m.b, y2: H - m.b }));
    return fig;
  }

  /** Horizontal bars: data [{label, value, cls, title, text}]. */
  function hbarChart(id, title, data, opts = {}) {
    const W = opts.width || 900;
    const row = 24;
    const m = { l: opts.labelWidth || 170, r: 120, t: 8, b: 8 };
    const H = m.t + m.b + row * Math.max(1, data.length);
    const { fig, svg } = chart(id, title, W, H, opts);
    const max = Math.max(0, ...data.map((d) => d.value));
    const x = linear(0, max || 1, m.l, W - m.r);
    data.forEach((d, i) => {
      const yy = m.t + i * row;
      svg.append(s('text', { class: 'bar-label', x: m.l - 8, y: yy + row / 2, dy: '0.32em', 'text-anchor': 'end', text: d.label }));
      const rect = s('rect', {
        class: `bar ${d.cls || 'series-0'}`,
        x: m.l,
        y: yy + 4,
        width: Math.max(1, x(d.value) - m.l).toFixed(2),
        height: row - 8,
      });
      rect.append(s('title', { text: d.title || `${d.label}: ${d.text || d.value}` }));
      svg.append(rect);
      svg.append(s('text', { class: 'bar-value', x: x(d.value) + 6, y: yy + row / 2, dy: '0.32em', text: d.text || String(d.value) }));
    });
    return fig;
  }

  /** A time series line chart: series [{name, cls, points: [[ms, value]]}]. */
  function lineChart(id, title, series, opts = {}) {
    const W = opts.width || 900;
    const H = opts.height || 300;
    const m = { l: 64, r: 16, t: 16, b: 36 };
    const { fig, svg } = chart(id, title, W, H, opts);
    const all = series.flatMap((se) => se.points);
    if (all.length === 0) return fig;
    const t0 = Math.min(...all.map((p) => p[0]));
    const t1 = Math.max(...all.map((p) => p[0]));
    const ticks = niceTicks(Math.max(...all.map((p) => p[1])), 4);
    const x = linear(t0, t1, m.l, W - m.r);
    const y = linear(0, ticks[ticks.length - 1], H - m.b, m.t);
    yAxis(svg, ticks, y, m.l, W - m.r, opts.yFormat || compact);
    xAxisTime(svg, t0, t1, x, H - m.b);
    if (opts.marker && opts.marker.t >= t0 && opts.marker.t <= t1) {
      markerLine(svg, x(opts.marker.t), m.t, H - m.b, opts.marker.label);
    }
    for (const se of series) {
      const d = se.points.map((p, i) => `${i ? 'L' : 'M'}${x(p[0]).toFixed(2)},${y(p[1]).toFixed(2)}`).join('');
      const path = s('path', { class: `line ${se.cls}`, d });
      path.append(s('title', { text: se.name }));
      svg.append(path);
    }
    return fig;
  }

  /** Donut of parts [{label, value, cls}] with a centre label. */
  function donut(id, title, parts, centre, opts = {}) {
    const W = 240;
    const H = 240;
    const { fig, svg } = chart(id, title, W, H, opts);
    const cx = W / 2;
    const cy = H / 2;
    const R = 100;
    const r = 62;
    const total = parts.reduce((a, p) => a + p.value, 0);
    let a0 = -Math.PI / 2;
    const pt = (rad, a) => `${(cx + rad * Math.cos(a)).toFixed(3)},${(cy + rad * Math.sin(a)).toFixed(3)}`;
    if (total <= 0) {
      svg.append(s('circle', { class: 'donut-empty', cx, cy, r: (R + r) / 2, 'stroke-width': R - r, fill: 'none' }));
    }
    for (const p of parts) {
      if (!(p.value > 0) || total <= 0) continue;
      const frac = p.value / total;
      let el;
      if (frac >= 0.99999) {
        el = s('path', {
          class: `slice ${p.cls}`,
          'fill-rule': 'evenodd',
          d: `M${cx - R},${cy}a${R},${R} 0 1,0 ${2 * R},0a${R},${R} 0 1,0 ${-2 * R},0Z M${cx - r},${cy}a${r},${r} 0 1,0 ${2 * r},0a${r},${r} 0 1,0 ${-2 * r},0Z`,
        });
      } else {
        const a1 = a0 + frac * 2 * Math.PI;
        const large = frac > 0.5 ? 1 : 0;
        el = s('path', {
          class: `slice ${p.cls}`,
          d: `M${pt(R, a0)}A${R},${R} 0 ${large},1 ${pt(R, a1)}L${pt(r, a1)}A${r},${r} 0 ${large},0 ${pt(r, a0)}Z`,
        });
        a0 = a1;
      }
      el.append(s('title', { text: `${p.label}: ${p.text || compact(p.value)} (${pct(p.value, total)})` }));
      svg.append(el);
    }
    svg.append(s('text', { class: 'donut-centre', x: cx, y: cy - 4, 'text-anchor': 'middle', text: centre[0] }));
    svg.append(s('text', { class: 'donut-sub', x: cx, y: cy + 16, 'text-anchor': 'middle', text: centre[1] }));
    return fig;
  }

  // -------------------------------------------------------------------------------------------
  // login

  function pageLogin() {
    const form = $('#login-form');
    const err = $('#login-error');
    const submit = $('#login-submit');
    loginPageInfo();
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      err.hidden = true;
      const user = $('#user').value.trim();
      const password = $('#password').value;
      if (!user || !password) {
        err.textContent = 'Enter a user name and a password.';
        err.hidden = false;
        return;
      }
      submit.disabled = true;
      submit.textContent = 'Logging in…';
      try {
        const doc = await api('/api/session', { method: 'POST', body: { user, password }, noRedirect: true });
        location.assign(HOME[doc.role] || '/governance');
      } catch (e) {
        err.textContent = e.message || 'Logging in failed.';
        err.hidden = false;
        submit.disabled = false;
        submit.textContent = 'Log in';
        $('#password').select();
      }
    });
    document.body.dataset.ready = 'true';
  }

  // The demo logins (only in a directory `tokencomp demo` made) and, over plain http on a LAN
  // address, why the browser will refuse the session cookie.
  async function loginPageInfo() {
    try {
      const info = await api('/api/login-page', { noRedirect: true });
      if (info.cookie_warning) {
        const w = $('#cookie-warning');
        w.textContent = info.cookie_warning;
        w.hidden = false;
      }
      if (info.demo && info.demo_accounts.length) {
        const rows = $('#demo-accounts-rows');
        for (const a of info.demo_accounts) {
          const tr = document.createElement('tr');
          const role = a.person ? `${a.role} (${a.person})` : a.role;
          for (const [text, code] of [[a.user, true], [a.password, true], [role, false]]) {
            const td = document.createElement('td');
            if (code) {
              const c = document.createElement('code');
              c.textContent = text;
              td.append(c);
            } else {
              td.textContent = text;
            }
            tr.append(td);
          }
          rows.append(tr);
        }
        $('#demo-accounts').hidden = false;
      }
    } catch (e) {
      // The form works without it.
    }
  }

  // -------------------------------------------------------------------------------------------
  // /admin

  async function pageAdmin() {
    const isAdmin = session.role === 'admin';
    $('#readonly-note').hidden = isAdmin;
    await Promise.allSettled([adminTotals(), adminCalendar(), adminPeriods(isAdmin), adminChain(), adminTokenomics()]);
  }

  async function adminTotals() {
    try {
      const c = await api('/api/company');
      const t = c.token;
      const T = c.totals;
      const parts = [
        { label: 'Vested', value: num(T.vested, t.decimals), cls: 'c-vested', text: tok(T.vested, 0, t) },
        { label: 'Unvested', value: num(T.unvested, t.decimals), cls: 'c-unvested', text: tok(T.unvested, 0, t) },
        { label: 'Forfeited', value: num(T.forfeited, t.decimals), cls: 'c-forfeited', text: tok(T.forfeited, 0, t) },
      ];
      fill(
        'totals',
        h(
          'div',
          { class: 'split' },
          donut('totals-chart', 'Granted tokens by state', parts, [compact(num(T.granted, t.decimals)), `${t.symbol} granted`], {
            label: `Granted ${tok(T.granted, 0, t)}: vested ${tok(T.vested, 0, t)}, unvested ${tok(T.unvested, 0, t)}, forfeited ${tok(T.forfeited, 0, t)}`,
            legend: legend(parts.map((p) => ({ cls: p.cls, label: `${p.label} — ${p.text}` }))),
          }),
          h(
            'div',
            {},
            stats(
              stat('Granted', tok(T.granted, 2, t), { id: 'total-granted' }),
              stat('Vested', tok(T.vested, 2, t), { sub: pctUnits(T.vested, T.granted) }),
              stat('Unvested', tok(T.unvested, 2, t), { sub: pctUnits(T.unvested, T.granted) }),
              stat('Forfeited', tok(T.forfeited, 2, t), { sub: pctUnits(T.forfeited, T.granted) }),
            ),
            h(
              'div',
              { class: 'stats stats-small' },
              stat('As of', c.as_of),
              stat('People', String(c.people)),
              stat('Holders', String(c.holders)),
              stat('Grants', String(c.grants)),
              stat('Pay frequency', c.pay_frequency, { sub: c.time_zone }),
              stat('Periods run', String(c.periods_run)),
              stat('Ledger events', nf(c.ledger_events)),
            ),
          ),
        ),
      );
    } catch (e) {
      fill('totals', errorBox(e));
    }
  }

  /** Monday of the week of `t` (UTC ms). */
  const weekStart = (t) => t - ((new Date(t).getUTCDay() + 6) % 7) * DAY;

  async function adminCalendar() {
    try {
      const c = await api('/api/calendar');
      const t = c.token;
      const byWeek = new Map();
      for (let w = weekStart(ms(c.from)); w <= ms(c.to); w += 7 * DAY) byWeek.set(w, 0n);
      for (const v of c.vests) {
        const w = weekStart(ms(v.date));
        byWeek.set(w, (byWeek.get(w) || 0n) + BigInt(v.amount));
      }
      const data = [...byWeek.entries()].map(([w, units]) => ({
        label: dayLabel(w),
        parts: [{ value: num(units.toString(), t.decimals), cls: 'series-0', title: `Week of ${iso(w)}: ${tok(units.toString(), 2, t)}` }],
      }));
      const rows = c.vests.map((v) => [v.date, v.holder, h('code', {}, v.grant), tok(v.amount, 2, t), v.reason]);
      fill(
        'calendar',
        h('p', {}, `${c.vests.length} vests from ${c.from} to ${c.to}, `, h('strong', {}, tok(c.total, 2, t)), ' in total.'),
        barChart('calendar-chart', `Tokens vesting per week, ${c.from} to ${c.to}`, data, { yTitle: t.symbol, height: 240 }),
        c.vests.length
          ? h(
              'div',
              { class: 'grid grid-2' },
              table(
                [{ label: 'Date' }, { label: 'Holder' }, { label: 'Grant' }, { label: 'Amount', num: true }, { label: 'Reason' }],
                rows,
                { caption: 'Vests', scroll: true },
              ),
              table(
                [{ label: 'Holder', rowHeader: true }, { label: 'Amount', num: true }],
                c.per_person.map((p) => [p.holder, tok(p.amount, 2, t)]),
                { caption: 'Per person', foot: ['Total', tok(c.total, 2, t)], scroll: true },
              ),
            )
          : muted('Nothing vests in this window.'),
      );
    } catch (e) {
      fill('calendar', errorBox(e));
    }
  }

  const PERIODS_SHOWN = 12;

  async function adminPeriods(isAdmin, showAll = false, notice = null) {
    const box = document.getElementById('periods');
    try {
      const doc = await api('/api/periods');
      const items = doc.items;
      const shown = showAll ? items : items.slice(0, PERIODS_SHOWN);
      const status = h('p', { id: 'periods-status', class: 'muted', role: 'status' }, notice || '');
      const rows = shown.map((p) => {
        const actions = h('div', { class: 'actions' });
        if (!p.run && p.runs_with) {
          // A UK tax month is completed by the company calendar's run that holds its last day.
          actions.append(h('span', { class: 'muted small' }, `runs with ${p.runs_with}`));
        }
        if (isAdmin && !p.run && !p.runs_with) {
          const btn = h('button', { type: 'button', class: 'run-period primary small', 'data-period': p.id, 'aria-label': `Run period ${p.id}` }, 'Run');
          btn.addEventListener('click', async () => {
            btn.disabled = true;
            btn.textContent = 'Running…';
            try {
              const r = await api(`/api/periods/${enc(p.id)}/run`, { method: 'POST' });
              await adminPeriods(isAdmin, showAll, `Ran ${r.period} through ${r.through}: ${r.periods_run} period(s), ${r.events_recorded} events recorded.`);
              adminTotals();
            } catch (e) {
              btn.disabled = false;
              btn.textContent = 'Run';
              fill(status, errorBox(e, `Running ${p.id} failed`));
            }
          });
          actions.append(btn);
        }
        if (isAdmin && p.run && !p.closed) {
          // Closing freezes the period's export; a second click confirms, so one stray click
          // does not close a period.
          const close = h('button', { type: 'button', class: 'close-period small', 'data-period': p.id, 'aria-label': `Close period ${p.id}` }, 'Close');
          close.addEventListener('click', async () => {
            if (close.dataset.confirm !== 'true') {
              close.dataset.confirm = 'true';
              close.textContent = 'Confirm close';
              close.setAttribute('aria-label', `Confirm: close period ${p.id} and freeze its payroll file`);
              return;
            }
            close.disabled = true;
            close.textContent = 'Closing…';
            try {
              const r = await api(`/api/periods/${enc(p.id)}/close`, { method: 'POST' });
              await adminPeriods(isAdmin, showAll, `Closed ${r.period}: its payroll file is frozen (SHA-256 ${short(r.digest, 12)}).`);
            } catch (e) {
              close.disabled = false;
              close.textContent = 'Close';
              close.dataset.confirm = 'false';
              fill(status, errorBox(e, `Closing ${p.id} failed`));
            }
          });
          actions.append(close);
        }
        actions.append(
          h('a', { href: `/api/periods/${enc(p.id)}/payroll`, download: true, 'data-period': p.id, class: 'download', 'aria-label': `Download payroll for ${p.id}` }, 'Download payroll'),
        );
        return {
          attrs: { 'data-period': p.id, 'data-run': String(p.run), 'data-closed': String(p.closed) },
          cells: [
            h('code', { title: p.calendar === 'uk' ? 'UK tax month (people paid in GBP)' : 'the company pay calendar' }, p.id),
            p.start,
            p.end,
            { v: h('span', { class: `badge ${p.run ? 'badge-ok' : 'badge-warn'}` }, p.run ? 'run' : 'not run'), cls: 'run-state' },
            { v: h('span', { class: `badge ${p.closed ? 'badge-ok' : 'badge-muted'}` }, p.closed ? 'closed' : 'open') },
            actions,
          ],
        };
      });
      const toggle =
        items.length > PERIODS_SHOWN
          ? h('button', { type: 'button', id: showAll ? 'periods-show-recent' : 'periods-show-all', class: 'ghost small' }, showAll ? `Show the latest ${PERIODS_SHOWN}` : `Show all ${items.length} periods`)
          : null;
      if (toggle) toggle.addEventListener('click', () => adminPeriods(isAdmin, !showAll));
      const notRun = items.filter((p) => !p.run).length;
      fill(
        box,
        h('p', {}, `${items.length} periods through today, newest first; ${notRun} not run.`),
        table([{ label: 'Period' }, { label: 'Start' }, { label: 'End' }, { label: 'Vests' }, { label: 'Payroll' }, { label: 'Actions' }], rows, { id: 'periods-table' }),
        toggle,
        status,
      );
    } catch (e) {
      fill(box, errorBox(e));
    }
  }

  async function adminChain() {
    const box = document.getElementById('chain');
    const dep = await api('/api/chain').then((value) => ({ status: 'fulfilled', value }), (reason) => ({ status: 'rejected', reason }));
    // A company with no vesting contract does not use on-chain releases: hidden, not red.
    if (dep.status === 'fulfilled' && !dep.value.deployed) {
      hideSection(box);
      return;
    }
    const rec = await api('/api/chain/reconciliation').then((value) => ({ status: 'fulfilled', value }), (reason) => ({ status: 'rejected', reason }));
    const parts = [];
    if (dep.status === 'fulfilled') {
      const d = dep.value;
      if (d.deployed) {
        parts.push(
          h(
            'dl',
            { class: 'facts' },
            h('dt', {}, 'Network'),
            h('dd', {}, `${d.network ?? '—'} (chain ${d.chain_id ?? '—'})`),
            h('dt', {}, 'Vesting manager'),
            h('dd', {}, h('code', { class: 'hash' }, d.manager ?? '—')),
            h('dt', {}, 'Token'),
            h('dd', {}, h('code', { class: 'hash' }, d.token_address ?? '—')),
            h('dt', {}, 'Head block'),
            h('dd', {}, d.head_block === null || d.head_block === undefined ? '—' : `#${d.head_block}${d.head_timestamp ? ` at ${when(new Date(d.head_timestamp * 1000).toISOString())}` : ''}`),
          ),
        );
      } else {
        parts.push(muted('No vesting contract is deployed.'));
      }
    } else {
      parts.push(errorBox(dep.reason, 'Deployment'));
    }
    if (rec.status === 'fulfilled') {
      const r = rec.value;
      const n = (k) => (Array.isArray(r[k]) ? r[k].length : 0);
      const bad = n('missing_on_chain') + n('unexpected_on_chain') + n('amount_mismatch');
      parts.push(
        h('p', { id: 'recon-status', class: `status-line ${bad ? 'status-bad' : 'status-ok'}`, 'data-status': bad ? 'differences' : 'ok' }, bad ? `Reconciliation: ${bad} difference(s) between the chain and the ledger` : 'Reconciliation: the chain matches the ledger'),
        stats(
          stat('Matched', String(n('matched')), { cls: 'stat-ok', id: 'recon-matched' }),
          stat('Missing on chain', String(n('missing_on_chain')), { cls: n('missing_on_chain') ? 'stat-bad' : '' }),
          stat('Unexpected on chain', String(n('unexpected_on_chain')), { cls: n('unexpected_on_chain') ? 'stat-bad' : '' }),
          stat('Amount mismatch', String(n('amount_mismatch')), { cls: n('amount_mismatch') ? 'stat-bad' : '' }),
        ),
      );
      const issues = ['missing_on_chain', 'unexpected_on_chain', 'amount_mismatch'].flatMap((k) => (r[k] || []).map((it) => [k.replaceAll('_', ' '), it.kind, it.grant ?? it.grant_id, it.tx_hash ? h('code', { class: 'hash', title: it.tx_hash }, short(it.tx_hash)) : '—']));
      if (issues.length) {
        parts.push(table([{ label: 'Finding' }, { label: 'Kind' }, { label: 'Grant' }, { label: 'Transaction' }], issues, { caption: 'Differences', scroll: true }));
      }
    } else {
      parts.push(errorBox(rec.reason, 'Reconciliation'));
    }
    fill(box, parts);
  }

  async function adminTokenomics() {
    const box = document.getElementById('tokenomics');
    try {
      const d = await api('/api/tokenomics');
      const t = d.token;
      const today = Date.now();
      const line = lineChart(
        'supply-chart',
        `Circulating supply by month (${t.symbol})`,
        [
          { name: 'Total supply', cls: 'series-muted', points: d.months.map((m) => [ms(m.date), num(m.total_supply, t.decimals)]) },
          { name: 'Circulating', cls: 'series-0', points: d.months.map((m) => [ms(m.date), num(m.circulating, t.decimals)]) },
        ],
        {
          marker: { t: today, label: 'today' },
          legend: legend([
            { cls: 'series-0', label: 'Circulating' },
            { cls: 'series-muted', label: 'Total supply' },
          ]),
        },
      );
      // The unlock calendar, by month and bucket.
      const buckets = [...new Set(d.unlock_calendar.map((u) => u.bucket))];
      const cls = (b) => `series-${buckets.indexOf(b) % 8}`;
      const names = new Map(d.buckets.map((b) => [b.id, b.name]));
      const byMonth = new Map();
      for (const u of d.unlock_calendar) {
        const key = u.date.slice(0, 7);
        if (!byMonth.has(key)) byMonth.set(key, new Map());
        const mm = byMonth.get(key);
        mm.set(u.bucket, (mm.get(u.bucket) || 0n) + BigInt(u.amount));
      }
      const months = [...byMonth.keys()].sort();
      const data = months.map((k) => ({
        label: monthLabel(ms(`${k}-01`)),
        parts: buckets
          .filter((b) => byMonth.get(k).has(b))
          .map((b) => ({ value: num(byMonth.get(k).get(b).toString(), t.decimals), cls: cls(b), title: `${k} ${names.get(b) || b}: ${tok(byMonth.get(k).get(b).toString(), 0, t)}` })),
      }));
      const unlocks = data.length
        ? barChart('unlock-chart', `Unlocks by month and bucket (${t.symbol})`, data, {
            height: 260,
            maxLabels: 10,
            legend: legend(buckets.map((b) => ({ cls: cls(b), label: names.get(b) || b }))),
          })
        : muted('No unlocks in the projection.');
      const b = d.team_budget;
      const alloc = num(b.allocation, t.decimals);
      const budget = h(
        'div',
        { class: 'budget' },
        h('h3', {}, `Team budget (${names.get(b.bucket) || b.bucket})`),
        stats(
          stat('Allocation', tok(b.allocation, 0, t)),
          stat('Granted and outstanding', tok(b.outstanding, 0, t), { sub: pctUnits(b.outstanding, b.allocation) }),
          stat('Remaining', tok(b.remaining, 0, t), { sub: pctUnits(b.remaining, b.allocation), id: 'budget-remaining' }),
        ),
        budgetBar(num(b.outstanding, t.decimals), alloc, t),
      );
      fill(
        box,
        h('p', { class: 'muted' }, `Total supply ${tok(d.total_supply, 0, t)}, token generation ${d.tge}.`),
        line,
        unlocks,
        budget,
      );
    } catch (e) {
      // A company without a [tokenomics] section does not use this part: hidden, not red.
      if (e.status === 404) {
        hideSection(box);
        return;
      }
      fill(box, errorBox(e));
    }
  }

  /** Hides the card holding `box`: a part of the product this company does not use. */
  function hideSection(box) {
    const card = box.closest('section');
    if (card) card.hidden = true;
  }

  function budgetBar(outstanding, allocation, t) {
    const W = 900;
    const H = 44;
    const { fig, svg } = chart('budget-chart', 'Team budget used', W, H, {
      label: `Team budget: ${compact(outstanding)} of ${compact(allocation)} ${t.symbol} granted and outstanding`,
    });
    const x = linear(0, allocation || 1, 0, W);
    svg.append(s('rect', { class: 'bar series-muted', x: 0, y: 8, width: W, height: 22, rx: 4 }));
    svg.append(s('rect', { class: 'bar series-0', x: 0, y: 8, width: Math.max(0, Math.min(W, x(outstanding))).toFixed(2), height: 22, rx: 4 }));
    return fig;
  }

  const short = (hash, n = 10) => (hash && hash.length > n + 2 ? `${hash.slice(0, n)}…` : hash || '—');

  // -------------------------------------------------------------------------------------------
  // /me

  async function pageMe() {
    const me = session.person;
    if (!me) {
      fill('grants', muted('This login is not linked to a person.'));
      return;
    }
    $('#me-title').textContent = `My tokens — ${me}`;
    const grantsP = meGrants();
    const jobs = [grantsP, mePortal(me), meSimulation(me), meGov(me)];
    jobs.push(
      grantsP.then((items) => meTaxSetup(me, items || [])),
    );
    await Promise.allSettled(jobs);
  }

  // Value now, upcoming vests with their tax at today's price, the year so far, open lots and
  // the statement downloads. Every figure comes formatted by the server (`display`).
  async function mePortal(me) {
    try {
      const p = await api(`/api/people/${enc(me)}/portal`);
      $('#me-title').textContent = `My tokens — ${p.name}`;
      const sym = p.token.symbol;
      const show = (v) => (v && v.display) || '—';
      const priceLine = p.price
        ? `At the latest close, ${p.price.price} ${p.currency} per ${sym} on ${p.price.date}${p.price.fx_date ? ` (exchange rate of ${p.price.fx_date})` : ''}.`
        : 'No price is recorded yet, so nothing is valued.';
      const upcoming = p.upcoming.map((u) => [u.date, u.grant, { v: u.tokens.display }, { v: show(u.value) }, { v: show(u.withholding) }, { v: u.net_tokens ? u.net_tokens.display : '—' }]);
      const lots = p.lots.map((l) => [l.acquired, { v: l.tokens.display }, { v: show(l.basis) }]);
      const year = Number(String(p.year).slice(0, 4));
      fill(
        'portal',
        stats(
          stat(`Held (${sym})`, p.held.display),
          stat('Worth now', show(p.held_value)),
          stat(`Unvested (${sym})`, p.unvested.display),
          stat('Unvested at today\'s price', show(p.unvested_value)),
          stat(`Income in ${p.year}`, show(p.income_to_date)),
          stat(`Withheld in ${p.year}`, show(p.withheld_to_date)),
        ),
        h('p', { class: 'muted' }, priceLine),
        h('h3', {}, 'Upcoming vests'),
        upcoming.length
          ? table([{ label: 'Date' }, { label: 'Grant' }, { label: `Tokens (${sym})`, num: true }, { label: 'Worth at today\'s price', num: true }, { label: 'Withholding (estimate)', num: true }, { label: `Net (${sym})`, num: true }], upcoming, { scroll: true, id: 'upcoming-table' })
          : muted('No vests in the next twelve months.'),
        p.estimate_note ? h('p', { class: 'muted' }, p.estimate_note) : '',
        h('h3', {}, 'Tokens I hold'),
        lots.length ? table([{ label: 'Acquired' }, { label: `Tokens (${sym})`, num: true }, { label: `Basis (${p.currency})`, num: true }], lots, { scroll: true }) : muted('No open lots.'),
        h('p', {}, 'Statement for ', String(year), ': ',
          h('a', { href: `/api/people/${enc(me)}/statement?year=${year}&format=pdf`, download: '' }, 'PDF'), ' · ',
          h('a', { href: `/api/people/${enc(me)}/statement?year=${year}&format=csv`, download: '' }, 'CSV')),
      );
    } catch (e) {
      fill('portal', errorBox(e, 'Your summary could not be loaded'));
    }
  }

  async function meGrants() {
    try {
      const doc = await api('/api/grants?limit=1000');
      const t = doc.token;
      const items = doc.items;
      if (!items.length) {
        fill('grants', muted('You have no grants.'));
        fill('schedule', muted('No schedule to show.'));
        return items;
      }
      const select = h('select', { id: 'grant-select' }, items.map((g) => h('option', { value: g.id }, `${g.id} — granted ${g.grant_date}`)));
      const rows = items.map((g) => [
        h('code', {}, g.id),
        g.grant_date,
        tok(g.granted, 2, t),
        tok(g.vested, 2, t),
        tok(g.unvested, 2, t),
        tok(g.forfeited, 2, t),
        g.next_vest ? `${g.next_vest.date}: ${tok(g.next_vest.amount, 2, t)}` : 'fully vested',
      ]);
      const sum = (k) => tok(unitsSum(items.map((g) => g[k])), 2, t);
      fill(
        'grants',
        table(
          [{ label: 'Grant' }, { label: 'Granted on' }, { label: 'Granted', num: true }, { label: 'Vested', num: true }, { label: 'Unvested', num: true }, { label: 'Forfeited', num: true }, { label: 'Next vest' }],
          rows,
          { caption: `As of ${doc.as_of}`, foot: items.length > 1 ? ['Total', '', sum('granted'), sum('vested'), sum('unvested'), sum('forfeited'), ''] : null },
        ),
      );
      const holder = h('div', { id: 'schedule-body' });
      fill('schedule', h('div', { class: 'toolbar' }, h('label', { for: 'grant-select' }, 'Grant'), select), holder);
      select.addEventListener('change', () => meSchedule(select.value));
      await meSchedule(items[0].id);
      return items;
    } catch (e) {
      fill('grants', errorBox(e));
      fill('schedule', '');
      return [];
    }
  }

  async function meSchedule(id) {
    const box = document.getElementById('schedule-body');
    fill(box, h('p', { class: 'loading' }, 'Loading…'));
    try {
      const doc = await api(`/api/grants/${enc(id)}`);
      const g = doc.grant;
      const t = doc.token;
      fill(
        box,
        vestingChart(g, t, doc.as_of),
        stats(
          stat('Granted', tok(g.granted, 2, t)),
          stat('Vested', tok(g.vested, 2, t), { sub: pctUnits(g.vested, g.granted) }),
          stat('Unvested', tok(g.unvested, 2, t)),
          stat('Forfeited', tok(g.forfeited, 2, t)),
        ),
        h(
          'details',
          {},
          h('summary', {}, `All ${g.tranches.length} tranches`),
          table(
            [{ label: 'Date' }, { label: 'Amount', num: true }, { label: 'Cumulative', num: true }, { label: 'Reason' }],
            g.tranches.map((x) => ({ attrs: { class: ms(x.date) <= ms(doc.as_of) ? 'past' : null }, cells: [x.date, tok(x.amount, 2, t), tok(x.cumulative, 2, t), x.reason] })),
            { scroll: true },
          ),
        ),
        g.forfeitures.length
          ? table([{ label: 'Forfeited on' }, { label: 'Amount', num: true }, { label: 'Reason' }], g.forfeitures.map((f) => [f.date, tok(f.amount, 2, t), f.reason]), { caption: 'Forfeitures' })
          : null,
      );
    } catch (e) {
      fill(box, errorBox(e));
    }
  }

  function vestingChart(g, t, asOf) {
    const W = 900;
    const H = 320;
    const m = { l: 72, r: 20, t: 20, b: 36 };
    const { fig, svg } = chart('vesting-chart', `Cumulative vesting of ${g.id} (${t.symbol})`, W, H, {
      label: `Vesting of grant ${g.id}: ${g.tranches.length} tranches, ${tok(g.granted, 2, t)} granted, ${tok(g.vested, 2, t)} vested as of ${asOf}`,
      legend: legend([
        { cls: 'series-0', label: 'Cumulative vested' },
        { cls: 'c-point', label: 'Tranche (filled: vested, hollow: to come)' },
        g.forfeitures.length ? { cls: 'c-forfeited', label: 'Forfeiture' } : null,
      ].filter(Boolean)),
    });
    svg.dataset.grant = g.id;
    const tr = g.tranches;
    const t0 = ms(g.grant_date);
    const lastT = Math.max(t0 + DAY, ...tr.map((x) => ms(x.date)), ...g.forfeitures.map((f) => ms(f.date)));
    const span = lastT - t0;
    const t1 = lastT + span * 0.03;
    const maxV = Math.max(num(g.granted, t.decimals), ...tr.map((x) => num(x.cumulative, t.decimals)));
    const ticks = niceTicks(maxV, 4);
    const x = linear(t0, t1, m.l, W - m.r);
    const y = linear(0, ticks[ticks.length - 1], H - m.b, m.t);
    yAxis(svg, ticks, y, m.l, W - m.r);
    xAxisTime(svg, t0, t1, x, H - m.b);
    // Granted: the ceiling the schedule climbs to.
    const gy = y(num(g.granted, t.decimals));
    svg.append(s('line', { class: 'ceiling', x1: m.l, x2: W - m.r, y1: gy, y2: gy }));
    svg.append(s('text', { class: 'ceiling-label', x: m.l + 6, y: gy - 6, text: `granted ${tok(g.granted, 0, t)}` }));
    const a = ms(asOf);
    if (a >= t0 && a <= t1) markerLine(svg, x(a), m.t, H - m.b, `as of ${asOf}`);
    // The step line: flat until each tranche, then up by its amount.
    let d = `M${x(t0).toFixed(2)},${y(0).toFixed(2)}`;
    for (const p of tr) {
      d += `H${x(ms(p.date)).toFixed(2)}V${y(num(p.cumulative, t.decimals)).toFixed(2)}`;
    }
    d += `H${x(t1).toFixed(2)}`;
    svg.append(s('path', { class: 'line series-0 step', d }));
    const pts = s('g', { class: 'points' });
    for (const p of tr) {
      const past = ms(p.date) <= a;
      const c = s('circle', {
        class: `tranche-point${past ? ' vested' : ''}`,
        cx: x(ms(p.date)).toFixed(2),
        cy: y(num(p.cumulative, t.decimals)).toFixed(2),
        r: 4,
        'data-date': p.date,
      });
      c.append(s('title', { text: `${p.date}: +${tok(p.amount, 2, t)} (${p.reason}), cumulative ${tok(p.cumulative, 2, t)}` }));
      pts.append(c);
    }
    for (const f of g.forfeitures) {
      const fx = x(ms(f.date));
      const fy = y(0) - 2;
      const tri = s('path', { class: 'forfeit-point', d: `M${fx.toFixed(2)},${(fy - 12).toFixed(2)}l6,10h-12Z` });
      tri.append(s('title', { text: `${f.date}: forfeited ${tok(f.amount, 2, t)} (${f.reason})` }));
      pts.append(tri);
    }
    svg.append(pts);
    return fig;
  }

  async function meTaxSetup(me, grants) {
    const select = document.getElementById('tax-year');
    const thisYear = new Date().getUTCFullYear();
    const first = Math.min(thisYear, ...grants.map((g) => Number(g.grant_date.slice(0, 4))).filter((y) => y > 1970));
    const years = [];
    for (let y = thisYear; y >= first; y--) years.push(y);
    select.replaceChildren(...years.map((y) => h('option', { value: String(y) }, String(y))));
    select.value = String(thisYear);
    select.addEventListener('change', () => meTax(me, Number(select.value)));
    await meTax(me, thisYear);
  }

  const METHOD = { sell_to_cover: 'sell to cover', net_settlement: 'net settlement', cash: 'cash' };

  async function meTax(me, year) {
    const box = document.getElementById('tax');
    fill(box, h('p', { class: 'loading' }, `Loading ${year}…`));
    try {
      const r = await api(`/api/people/${enc(me)}/tax-report?year=${year}`);
      const t = r.token;
      const cur = r.currency;
      const income = r.income || [];
      const employeeLines = (e) => (e.withholding || []).filter((l) => l.payer === 'employee');
      const employerLines = (e) => (e.withholding || []).filter((l) => l.payer === 'employer');
      const hasEmployer = income.some((e) => employerLines(e).length);
      const cols = [
        { label: 'Vest date' },
        { label: `Units (${t.symbol})`, num: true },
        { label: `Price (${cur})`, num: true },
        { label: `Token income (${cur})`, num: true },
        { label: `Withheld (${cur})`, num: true },
      ];
      if (hasEmployer) cols.push({ label: `Employer taxes (${cur})`, num: true });
      cols.push({ label: 'Method' }, { label: `Net tokens (${t.symbol})`, num: true });
      const rows = income.map((e) => {
        const lines = e.withholding || [];
        const detail = lines.map((l) => `${l.kind.replaceAll('_', ' ')} (${l.payer}): ${fmtDec(l.amount, 2)} ${cur}`).join('\n');
        const cells = [
          e.vest_date,
          fmt(e.units, t.decimals, 2),
          fmtDec(e.price ?? e.fmv_usd, 4),
          fmtDec(e.token_income, 2),
          { v: decSum(employeeLines(e).map((l) => l.amount)), title: detail || 'no withholding' },
        ];
        if (hasEmployer) cells.push(decSum(employerLines(e).map((l) => l.amount)));
        cells.push(METHOD[e.method] || e.method, fmt(e.net_tokens, t.decimals, 2));
        return cells;
      });
      const foot = ['Total', fmt(unitsSum(income.map((e) => e.units)), t.decimals, 2), '', fmtDec(r.gross_income, 2), decSum(income.flatMap((e) => employeeLines(e).map((l) => l.amount)))];
      if (hasEmployer) foot.push(decSum(income.flatMap((e) => employerLines(e).map((l) => l.amount))));
      foot.push('', fmt(unitsSum(income.map((e) => e.net_tokens)), t.decimals, 2));
      const withheld = Object.entries(r.withheld || {});
      // People read lots by when they were acquired; the internal ids stay in the API.
      const lots = income.filter((e) => e.lot).map((e) => [e.lot.acquired, fmt(e.lot.units, t.decimals, 2), fmtDec(e.lot.basis, 2)]);
      const disposals = (r.disposals || []).map((d) => [d.sold, d.acquired, fmt(d.units, t.decimals, 2), fmtDec(d.proceeds, 2), fmtDec(d.basis, 2), { v: fmtDec(d.gain, 2), cls: (decParse(d.gain)?.units ?? 0n) < 0n ? 'neg' : null }, d.term]);
      fill(
        box,
        h('p', { class: 'muted' }, `${r.person}, tax year ${r.year}, ${r.regime}, amounts in ${cur}.`),
        stats(
          stat('Vests', String(income.length)),
          stat(`Gross income (${cur})`, fmtDec(r.gross_income, 2), { id: 'tax-gross' }),
          ...withheld.map(([k, v]) => stat(`Withheld: ${k.replaceAll('_', ' ')}`, fmtDec(v, 2))),
          stat(`Net tokens (${t.symbol})`, fmt(unitsSum(income.map((e) => e.net_tokens)), t.decimals, 2)),
        ),
        income.length
          ? table(cols, rows, { caption: 'Income events', foot, scroll: true, id: 'income-table' })
          : muted(`Nothing vested in ${year}.`),
        h(
          'div',
          {},
          h('div', {}, h('h3', {}, 'Lots acquired'), lots.length ? table([{ label: 'Acquired' }, { label: `Units (${t.symbol})`, num: true }, { label: `Basis (${cur})`, num: true }], lots, { scroll: true }) : muted('No lots this year.')),
          h(
            'div',
            {},
            h('h3', {}, 'Disposals and gains'),
            stats(stat(`Short-term gain (${cur})`, fmtDec(r.short_term_gain, 2)), stat(`Long-term gain (${cur})`, fmtDec(r.long_term_gain, 2))),
            disposals.length
              ? table([{ label: 'Sold' }, { label: 'Acquired' }, { label: 'Units', num: true }, { label: 'Proceeds', num: true }, { label: 'Basis', num: true }, { label: 'Gain', num: true }, { label: 'Term' }], disposals, { scroll: true })
              : muted('No disposals this year.'),
          ),
        ),
      );
    } catch (e) {
      fill(box, errorBox(e));
    }
  }

  async function meSimulation(me) {
    const box = document.getElementById('simulation');
    try {
      const r = await api(`/api/people/${enc(me)}/simulation?paths=2000`);
      const parts = [];
      parts.push(
        h(
          'p',
          { class: 'muted' },
          `${nf(r.paths)} simulated paths (seed ${r.seed}) from a spot price of ${fmtDec(r.spot.close_usd, 4)} USD on ${r.spot.date}; model: ${r.model && r.model.kind ? r.model.kind : 'price model'}. Estimates to read, not amounts anyone pays.`,
        ),
      );
      const pkg = r.package;
      if (pkg && pkg.fan && pkg.fan.length) {
        parts.push(fanChart(pkg.fan, r.as_of));
        parts.push(
          stats(
            stat('Expected total', nf(pkg.mean, 0), { sub: pkg.std_error !== undefined ? `± ${nf(pkg.std_error, 0)} (standard error)` : null }),
            pkg.p5 !== undefined ? stat('Bad case (5th percentile)', nf(pkg.p5, 0)) : null,
            pkg.p50 !== undefined ? stat('Median', nf(pkg.p50, 0)) : null,
            pkg.p95 !== undefined ? stat('Good case (95th percentile)', nf(pkg.p95, 0)) : null,
          ),
        );
      } else {
        parts.push(muted('You have no future vests to simulate.'));
      }
      const liq = r.liquidity;
      if (liq && typeof liq === 'object' && liq.paper_value_usd !== undefined) {
        parts.push(
          h(
            'p',
            {},
            `Selling every future unlock into the market as it vests: paper value ${fmtDec(liq.paper_value_usd, 0)} USD, realizable ${fmtDec(liq.realizable_usd, 0)} USD (price impact ${fmtDec(liq.illusion_usd, 0)} USD).`,
          ),
        );
      }
      const c = r.token_vs_equity;
      if (c && c.token && c.equity) {
        const money = (v) => nf(v, 0);
        parts.push(
          h('h3', {}, 'Token vs equity for the same offer'),
          table(
            [{ label: 'Aspect', rowHeader: true }, { label: 'Token' }, { label: 'Equity' }],
            [
              ['Liquidity horizon', c.token.liquidity_horizon, c.equity.liquidity_horizon],
              ['Years until liquid', nf(c.token.liquidity_years, 1), nf(c.equity.liquidity_years, 1)],
              ['Expected value (after tax)', `${money(c.token.expected_value)} ± ${money(c.token.std_error)}`, `${money(c.equity.expected_value)} ± ${money(c.equity.std_error)}`],
              ['5th percentile (after tax)', money(c.token.p5_value), money(c.equity.p5_value)],
              ['Median (after tax)', money(c.token.p50_value), money(c.equity.p50_value)],
              ['Tax treatment', c.token.tax_treatment, c.equity.tax_treatment],
              ['Governance rights', c.token.governance_rights, c.equity.governance_rights],
            ],
            { caption: `Offer value ${money(c.offer_value)} at today's price, ${nf(c.paths)} paths per side`, id: 'token-vs-equity' },
          ),
        );
      }
      fill(box, parts);
    } catch (e) {
      fill(box, errorBox(e));
    }
  }

  const YEAR = 365.25 * DAY;

  function fanChart(fan, asOf) {
    const W = 900;
    const H = 320;
    const m = { l: 72, r: 20, t: 20, b: 36 };
    const { fig, svg } = chart('fan-chart', 'Cumulative value of salary and vests: simulated range', W, H, {
      label: `Fan chart over ${fan.length} future vests: median ${compact(fan[fan.length - 1].p50)}, 5th to 95th percentile ${compact(fan[fan.length - 1].p5)} to ${compact(fan[fan.length - 1].p95)} at the last vest`,
      legend: legend([
        { cls: 'fan-outer', label: '5th–95th percentile' },
        { cls: 'fan-inner', label: '25th–75th percentile' },
        { cls: 'fan-median-swatch', label: 'Median' },
      ]),
      note: 'Salary to date plus each vest at its simulated price: nominal, in your pay currency, before tax.',
    });
    const a = ms(asOf);
    const pts = fan.map((f) => ({ t: a + f.time * YEAR, ...f }));
    let t0 = Math.min(a, pts[0].t);
    let t1 = pts[pts.length - 1].t;
    if (t1 - t0 < 30 * DAY) {
      t0 -= 15 * DAY;
      t1 += 15 * DAY;
    }
    const ticks = niceTicks(Math.max(...pts.map((p) => p.p95)), 4);
    const x = linear(t0, t1, m.l, W - m.r);
    const y = linear(0, ticks[ticks.length - 1], H - m.b, m.t);
    yAxis(svg, ticks, y, m.l, W - m.r);
    xAxisTime(svg, t0, t1, x, H - m.b);
    const band = (lo, hi, cls) => {
      let d;
      if (pts.length === 1) {
        const p = pts[0];
        d = `M${x(p.t) - 8},${y(p[hi])}H${x(p.t) + 8}V${y(p[lo])}H${x(p.t) - 8}Z`;
      } else {
        d = pts.map((p, i) => `${i ? 'L' : 'M'}${x(p.t).toFixed(2)},${y(p[hi]).toFixed(2)}`).join('');
        d += pts
          .slice()
          .reverse()
          .map((p) => `L${x(p.t).toFixed(2)},${y(p[lo]).toFixed(2)}`)
          .join('');
        d += 'Z';
      }
      const path = s('path', { class: `band ${cls}`, d });
      path.append(s('title', { text: `${lo}–${hi}` }));
      svg.append(path);
    };
    band('p5', 'p95', 'fan-outer');
    band('p25', 'p75', 'fan-inner');
    const med = s('path', { class: 'fan-median', d: pts.map((p, i) => `${i ? 'L' : 'M'}${x(p.t).toFixed(2)},${y(p.p50).toFixed(2)}`).join('') });
    svg.append(med);
    const g = s('g', { class: 'points' });
    for (const p of pts) {
      const c = s('circle', { class: 'fan-point', cx: x(p.t).toFixed(2), cy: y(p.p50).toFixed(2), r: 2.5 });
      c.append(s('title', { text: `${iso(p.t)}: median ${nf(p.p50)}; 25–75% ${nf(p.p25)}–${nf(p.p75)}; 5–95% ${nf(p.p5)}–${nf(p.p95)}` }));
      g.append(c);
    }
    svg.append(g);
    return fig;
  }

  async function meGov(me) {
    const box = document.getElementById('gov-summary');
    try {
      const [power, props] = await Promise.all([api('/api/gov/power'), api('/api/gov/proposals?limit=1000')]);
      const t = power.token;
      const row = power.rows.find((r) => r.holder === me);
      const open = props.items.filter((p) => p.tally.status === 'open');
      // An employee's power and the total are published with a proposal's snapshot: the latest one's.
      const latest = props.items.slice().sort((a, b) => (a.opens < b.opens ? 1 : a.opens > b.opens ? -1 : 0))[0];
      const mine = latest && latest.my_power != null
        ? stat('My voting power', tok(latest.my_power, 2, t), { id: 'my-power', sub: `${pctUnits(latest.my_power, latest.tally.total)} of ${tok(latest.tally.total, 0, t)} in the snapshot of ${latest.snapshot_date} (${latest.title})` })
        : stat('My own balance', row ? tok(row.own, 2, t) : tok('0', 2, t), { id: 'my-power' });
      const parts = [
        stats(
          mine,
          stat('Delegated to', row && row.delegate ? row.delegate : 'nobody (I vote myself)'),
          stat('Open proposals', String(open.length)),
        ),
      ];
      if (open.length) {
        parts.push(
          h(
            'ul',
            { class: 'plain' },
            open.map((p) => {
              const mine = (p.ballots || []).find((b) => b.voter === me);
              return h('li', {}, h('strong', {}, p.title), ` — closes ${when(p.closes)}; `, mine ? `you voted ${mine.choice}` : 'you have not voted');
            }),
          ),
        );
      }
      parts.push(h('p', {}, h('a', { href: '/governance', class: 'button-link' }, 'Go to governance →')));
      fill(box, parts);
    } catch (e) {
      fill(box, errorBox(e));
    }
  }

  // -------------------------------------------------------------------------------------------
  // /audit lives in audit.js (it registers itself in window.tokencompPages; boot passes it KIT).

  // -------------------------------------------------------------------------------------------
  // /governance

  async function pageGovernance() {
    const jobs = [govProposals(), govPower()];
    if (session.role === 'employee') jobs.push(govDelegation());
    else fill('delegation', muted(session.role === 'admin' ? 'Employees delegate their own voting power here. The current delegations are listed below.' : 'Delegations in force today:'), h('div', { id: 'delegation-list' }));
    if (session.role !== 'employee') jobs.push(govDelegationList());
    if (session.role === 'admin') {
      document.getElementById('new-proposal-card').hidden = false;
      govNewProposalForm();
    }
    await Promise.allSettled(jobs);
  }

  const OUTCOME = { undecided: 'undecided', passed: 'passed', rejected: 'rejected', no_quorum: 'no quorum' };

  async function govProposals(notice) {
    const box = document.getElementById('proposals');
    try {
      const doc = await api('/api/gov/proposals?limit=1000');
      const items = doc.items.slice().sort((a, b) => {
        const rank = { open: 0, pending: 1, closed: 2 };
        return (rank[a.tally.status] ?? 3) - (rank[b.tally.status] ?? 3) || Date.parse(b.opens) - Date.parse(a.opens);
      });
      const status = h('div', { id: 'vote-status', role: 'status' }, notice || '');
      if (!items.length) {
        fill(box, muted('No proposals yet.'), status);
        return;
      }
      fill(box, status, h('div', { class: 'proposals' }, items.map((p) => proposalCard(p, status))));
    } catch (e) {
      fill(box, errorBox(e));
    }
  }

  function proposalCard(p, status) {
    const t = p.token;
    const T = p.tally;
    const me = session.person;
    const mine = me ? (p.ballots || []).find((b) => b.voter === me) : null;
    const card = h('article', { class: 'proposal', 'data-proposal': p.id, 'data-status': T.status, 'aria-labelledby': `p-${p.id}-title` });
    const head = h(
      'div',
      { class: 'proposal-head' },
      h('h3', { id: `p-${p.id}-title` }, p.title),
      h('span', { class: `badge status-${T.status}` }, T.status),
      h('span', { class: `badge outcome-${T.outcome}` }, OUTCOME[T.outcome] || T.outcome),
    );
    const meta = h(
      'p',
      { class: 'muted' },
      h('code', {}, p.id),
      ` · snapshot ${p.snapshot_date} · voting ${when(p.opens)} → ${when(p.closes)} · quorum ${nf(p.quorum_bps / 100, 2)}% · unvested weight ${nf(p.unvested_weight_bps / 100, 2)}%`,
    );
    card.append(head, meta);
    if (p.description) card.append(h('p', { class: 'description' }, p.description));
    card.append(tallyBar(p));
    card.append(
      h(
        'p',
        { class: 'tally-numbers' },
        `For ${tok(T.for, 0, t)} · Against ${tok(T.against, 0, t)} · Abstain ${tok(T.abstain, 0, t)} · `,
        `turnout ${tok(T.turnout, 0, t)} of ${tok(T.total, 0, t)} (${pctUnits(T.turnout, T.total)}), quorum ${tok(T.quorum, 0, t)} ${T.quorum_reached ? 'reached' : 'not reached'} · ${T.voters} voter(s)`,
      ),
    );
    if (session.role === 'employee') {
      const power = p.my_power ?? '0';
      const line = h('p', {}, `Your voting power for this proposal: ${tok(power, 2, t)}.`, mine ? ` Your ballot: ${mine.choice} (cast ${when(mine.cast_at)}).` : '');
      card.append(line);
      if (T.status === 'open') {
        const group = h('div', { class: 'vote-buttons', role: 'group', 'aria-label': `Vote on ${p.title}` });
        for (const choice of ['for', 'against', 'abstain']) {
          const label = choice[0].toUpperCase() + choice.slice(1);
          const b = h('button', { type: 'button', class: `vote vote-${choice}`, 'data-choice': choice, 'aria-pressed': String(!!mine && mine.choice === choice) }, label);
          b.addEventListener('click', async () => {
            for (const x of group.querySelectorAll('button')) x.disabled = true;
            try {
              const r = await api(`/api/gov/proposals/${enc(p.id)}/ballots`, { method: 'POST', body: { choice } });
              await govProposals(h('p', { class: 'ok' }, `Recorded your ballot on “${p.title}”: ${r.choice}, with ${tok(r.power, 2, t)}. A later ballot replaces it.`));
            } catch (e) {
              fill(status, errorBox(e, `Your ballot on “${p.title}” was refused`));
              for (const x of group.querySelectorAll('button')) x.disabled = false;
            }
          });
          group.append(b);
        }
        card.append(group);
      } else if (T.status === 'pending') {
        card.append(muted(`Voting opens ${when(p.opens)}.`));
      }
    } else if (session.role !== 'employee' && (p.ballots || []).length) {
      card.append(
        h(
          'details',
          {},
          h('summary', {}, `${p.ballots.length} ballot(s)`),
          table([{ label: 'Voter' }, { label: 'Choice' }, { label: 'Cast at' }], p.ballots.map((b) => [b.voter, b.choice, when(b.cast_at)])),
        ),
      );
    }
    return card;
  }

  function tallyBar(p) {
    const t = p.token;
    const T = p.tally;
    const W = 900;
    const H = 56;
    const m = { l: 0, r: 0, t: 16, b: 8 };
    const vals = { for: num(T.for, t.decimals), against: num(T.against, t.decimals), abstain: num(T.abstain, t.decimals) };
    const total = Math.max(num(T.total, t.decimals), vals.for + vals.against + vals.abstain, num(T.quorum, t.decimals));
    const { fig, svg } = chart(`tally-${p.id}`, `Tally: for, against and abstain against the quorum`, W, H, {
      cls: 'tally',
      label: `Tally of ${p.title}: for ${tok(T.for, 0, t)}, against ${tok(T.against, 0, t)}, abstain ${tok(T.abstain, 0, t)}; quorum ${tok(T.quorum, 0, t)} of ${tok(T.total, 0, t)}`,
      legend: legend([
        { cls: 'c-for', label: 'For' },
        { cls: 'c-against', label: 'Against' },
        { cls: 'c-abstain', label: 'Abstain' },
        { cls: 'c-quorum', label: 'Quorum' },
      ]),
    });
    const x = linear(0, total || 1, m.l, W - m.r);
    svg.append(s('rect', { class: 'bar series-muted', x: m.l, y: m.t, width: W - m.l - m.r, height: H - m.t - m.b, rx: 3 }));
    let acc = 0;
    for (const k of ['for', 'against', 'abstain']) {
      if (!(vals[k] > 0)) continue;
      const r = s('rect', { class: `bar c-${k}`, x: x(acc).toFixed(2), y: m.t, width: Math.max(1, x(acc + vals[k]) - x(acc)).toFixed(2), height: H - m.t - m.b });
      r.append(s('title', { text: `${k}: ${tok(T[k], 2, t)}` }));
      svg.append(r);
      acc += vals[k];
    }
    const qx = Math.min(W - m.r - 1, Math.max(m.l + 1, x(num(T.quorum, t.decimals))));
    svg.append(s('line', { class: 'quorum-line', x1: qx, x2: qx, y1: 2, y2: H - 2 }));
    svg.append(s('text', { class: 'quorum-label', x: qx + (qx > W - 80 ? -4 : 4), y: 11, 'text-anchor': qx > W - 80 ? 'end' : 'start', text: `quorum ${pctUnits(T.quorum, T.total)}` }));
    return fig;
  }

  async function govPower() {
    const box = document.getElementById('power');
    try {
      const d = await api('/api/gov/power');
      const t = d.token;
      const rows = d.rows.slice().sort((a, b) => (BigInt(b.power) > BigInt(a.power) ? 1 : BigInt(b.power) < BigInt(a.power) ? -1 : a.holder.localeCompare(b.holder)));
      const weighted = `counting unvested tokens at ${nf(d.unvested_weight_bps / 100, 2)}%`;
      const intro = d.holders != null
        ? `At ${d.date}, ${weighted}: ${d.holders} holder(s), ${tok(d.total, 2, t)} in total.`
        : d.total != null
          ? `At ${d.date}, ${weighted} (a proposal's snapshot): ${tok(d.total, 2, t)} in total.`
          : `At ${d.date}, ${weighted}: your own balances. Voting power and the total are published with each proposal's snapshot (see the proposals below).`;
      const parts = [h('p', { class: 'muted' }, intro)];
      if (session.role === 'employee') {
        const r = rows[0];
        const power = r && r.power != null;
        parts.push(
          stats(
            power
              ? stat('My voting power', tok(r.power, 2, t), { id: 'my-power', sub: `${pctUnits(r.power, d.total)} of all` })
              : stat('My own balance', r ? tok(r.own, 2, t) : tok('0', 2, t), { id: 'my-power' }),
            d.total != null ? stat('Total voting power', tok(d.total, 2, t)) : stat('Vested', r ? tok(r.vested, 2, t) : tok('0', 2, t)),
          ),
        );
        if (r) {
          parts.push(
            table(
              [{ label: 'Holder' }, { label: 'Vested', num: true }, { label: 'Unvested', num: true }, { label: 'Own', num: true }, { label: 'Power', num: true }, { label: 'Delegates to' }],
              [[r.holder, tok(r.vested, 0, t), tok(r.unvested, 0, t), tok(r.own, 0, t), power ? tok(r.power, 0, t) : '—', r.delegate || '—']],
            ),
          );
        }
      } else {
        const data = rows.map((r, i) => ({ label: r.holder, value: num(r.power, t.decimals), text: `${tok(r.power, 0, t)} (${pctUnits(r.power, d.total)})`, cls: r.delegate ? 'series-muted' : 'series-0' }));
        parts.push(
          hbarChart('power-chart', `Voting power by holder (${t.symbol})`, data, {
            labelWidth: 110,
            legend: legend([
              { cls: 'series-0', label: 'Votes with own and delegated power' },
              { cls: 'series-muted', label: 'Has delegated (power counted with the delegate)' },
            ]),
          }),
        );
        parts.push(
          table(
            [{ label: 'Holder' }, { label: 'Vested', num: true }, { label: 'Unvested', num: true }, { label: 'Own', num: true }, { label: 'Power', num: true }, { label: 'Delegates to' }],
            rows.map((r) => [r.holder, tok(r.vested, 0, t), tok(r.unvested, 0, t), tok(r.own, 0, t), tok(r.power, 0, t), r.delegate || '—']),
            { scroll: true, foot: ['Total', '', '', '', tok(d.total, 0, t), ''] },
          ),
        );
      }
      fill(box, parts);
    } catch (e) {
      fill(box, errorBox(e));
    }
  }

  async function govDelegationList() {
    try {
      const d = await api('/api/gov/delegations');
      fill(
        'delegation-list',
        d.items.length ? table([{ label: 'From' }, { label: 'To' }, { label: 'Since' }], d.items.map((x) => [x.from, x.to ?? '—', x.effective ?? '—'])) : muted(`No delegations in force on ${d.date}.`),
      );
    } catch (e) {
      fill('delegation-list', errorBox(e));
    }
  }

  async function govDelegation(notice) {
    const me = session.person;
    const box = document.getElementById('delegation');
    try {
      const d = await api('/api/gov/delegations');
      const out = d.items.find((x) => x.from === me);
      const incoming = d.items.filter((x) => x.to === me);
      const msg = h('div', { id: 'delegation-status', role: 'status' }, notice || '');
      const input = h('input', { id: 'delegate-to', name: 'to', type: 'text', required: true, placeholder: 'person id, e.g. ben', autocomplete: 'off' });
      const form = h(
        'form',
        { id: 'delegation-form', class: 'form inline' },
        h('div', { class: 'field' }, h('label', { for: 'delegate-to' }, 'Delegate my voting power to'), input),
        h('button', { type: 'submit', class: 'primary' }, 'Delegate'),
      );
      const submit = async (to) => {
        for (const b of box.querySelectorAll('button')) b.disabled = true;
        try {
          const r = await api(`/api/gov/delegations/${enc(me)}`, { method: 'PUT', body: { to } });
          await govDelegation(h('p', { class: 'ok' }, r.to ? `From ${r.effective} your voting power goes to ${r.to}.` : `From ${r.effective} you vote with your own power again.`));
          govPower();
        } catch (e) {
          fill(msg, errorBox(e, 'Delegation refused'));
          for (const b of box.querySelectorAll('button')) b.disabled = false;
        }
      };
      form.addEventListener('submit', (ev) => {
        ev.preventDefault();
        const to = input.value.trim();
        if (!to) {
          fill(msg, h('p', { class: 'error', role: 'alert' }, 'Enter the id of the person to delegate to.'));
          return;
        }
        submit(to);
      });
      const parts = [
        h('p', {}, out ? `You delegate your voting power to ${out.to} (since ${out.effective ?? '—'}).` : 'You vote with your own voting power.'),
        incoming.length ? h('p', {}, `Delegating to you: ${incoming.map((x) => x.from).join(', ')}.`) : null,
        form,
      ];
      if (out) {
        const back = h('button', { type: 'button', id: 'delegate-revoke', class: 'ghost' }, 'Take my voting power back');
        back.addEventListener('click', () => submit(null));
        parts.push(back);
      }
      parts.push(msg);
      fill(box, parts);
    } catch (e) {
      fill(box, errorBox(e));
    }
  }

  function govNewProposalForm() {
    const pad = (n) => String(n).padStart(2, '0');
    const rfc = (t) => {
      const d = new Date(t);
      return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:00Z`;
    };
    const now = Date.now();
    const field = (id, label, props = {}, hint) =>
      h('div', { class: 'field' }, h('label', { for: id }, label), h(props.textarea ? 'textarea' : 'input', { id, name: id, ...props, textarea: null }), hint ? h('small', { class: 'muted' }, hint) : null);
    const msg = h('div', { id: 'new-proposal-status', role: 'status' });
    const form = h(
      'form',
      { id: 'new-proposal-form', class: 'form grid grid-2' },
      field('np-id', 'Id', { type: 'text', required: true, placeholder: 'e.g. treasury-2027', pattern: '[A-Za-z0-9._-]+' }),
      field('np-title', 'Title', { type: 'text', required: true }),
      field('np-description', 'Description', { textarea: true, rows: 3 }),
      field('np-snapshot', 'Snapshot date', { type: 'date', required: true, value: iso(now) }, 'Voting power is counted at the end of this day.'),
      field('np-opens', 'Opens (RFC 3339)', { type: 'text', required: true, value: rfc(now + 5 * 60000) }),
      field('np-closes', 'Closes (RFC 3339)', { type: 'text', required: true, value: rfc(now + 7 * DAY) }),
      field('np-quorum', 'Quorum (basis points)', { type: 'number', min: 0, max: 10000, step: 1, value: 2000 }, '2000 = 20% of all voting power.'),
      field('np-weight', 'Unvested weight (basis points)', { type: 'number', min: 0, max: 10000, step: 1, value: 0 }, '0 counts vested tokens only.'),
      h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'primary' }, 'Open proposal'), msg),
    );
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const v = (id) => document.getElementById(id).value.trim();
      const body = {
        id: v('np-id'),
        title: v('np-title'),
        description: v('np-description'),
        snapshot_date: v('np-snapshot'),
        opens: v('np-opens'),
        closes: v('np-closes'),
        quorum_bps: Number(v('np-quorum') || '0'),
        unvested_weight_bps: Number(v('np-weight') || '0'),
      };
      const btn = form.querySelector('button[type=submit]');
      btn.disabled = true;
      try {
        const p = await api('/api/gov/proposals', { method: 'POST', body });
        fill(msg, h('p', { class: 'ok' }, `Opened “${p.title}” (${p.id}).`));
        form.reset();
        await govProposals();
      } catch (e) {
        const field = e.details && e.details.field ? ` [${e.details.field}]` : '';
        fill(msg, errorBox({ message: `${e.message}${field}`, code: e.code }));
      } finally {
        btn.disabled = false;
      }
    });
    fill('new-proposal', form);
  }

  // -------------------------------------------------------------------------------------------
  // boot

  const PAGES = { admin: pageAdmin, me: pageMe, governance: pageGovernance };
  // The helpers a page script of its own (assets/<page>.js) is handed.
  const KIT = { h, fill, errorBox, muted, nf, when, tok, short, api, hbarChart };

  async function boot() {
    const page = document.body.dataset.page;
    if (page === 'login') {
      pageLogin();
      return;
    }
    try {
      session = await api('/api/session', { noRedirect: true });
    } catch (e) {
      if (e.status === 401) {
        location.replace('/login');
        return;
      }
      fill('main', errorBox(e, 'The server could not be reached'));
      document.body.dataset.ready = 'true';
      return;
    }
    const roles = PAGE_ROLES[page];
    if (roles && !roles.includes(session.role)) {
      location.replace(HOME[session.role] || '/governance');
      return;
    }
    renderHeader();
    try {
      const own = (window.tokencompPages || {})[page];
      await (PAGES[page] || (own && (() => own(KIT))) || (async () => {}))();
    } finally {
      document.body.dataset.ready = 'true';
    }
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
  else boot();
})();
