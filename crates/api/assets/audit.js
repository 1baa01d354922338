// tokencomp dashboards: the /audit page (issue 18, item 6). Loaded before app.js, it registers
// the page in `window.tokencompPages`; app.js's boot calls it with its helpers once the session
// is known. Same rules as app.js: no inline handlers, API text only through text nodes.
//
// The ledger's events newest first, filtered by actor, kind, subject and record days (combined,
// checked by the server: a refusal is shown beside the form), each with its hash, the previous
// event's hash and whether the hash chain verifies up to it; "Export CSV" downloads the same
// filtered list from /api/ledger/events.csv.
'use strict';

(() => {
  const pages = (window.tokencompPages = window.tokencompPages || {});

  pages.audit = async (kit) => {
    const { h, fill, errorBox, muted, nf, when, tok, short, api, hbarChart } = kit;

    /** The form's filters as query parameters (empty fields left out). */
    function filters() {
      const q = new URLSearchParams();
      for (const name of ['actor', 'kind', 'subject', 'since', 'until']) {
        const v = document.getElementById(`filter-${name}`).value.trim();
        if (v) q.set(name, v);
      }
      return q;
    }

    function exportLink(q) {
      const a = document.getElementById('events-export');
      const s = q.toString();
      a.href = `/api/ledger/events.csv${s ? `?${s}` : ''}`;
    }

    async function verifyCard() {
      const box = document.getElementById('verify');
      try {
        const v = await api('/api/ledger/verify');
        if (v.ok) {
          fill(
            box,
            h('p', { id: 'ledger-verify', class: 'verdict verdict-ok', 'data-status': 'ok', role: 'status' }, h('span', { class: 'verdict-icon', 'aria-hidden': 'true' }, '✓'), ` Hash chain OK: all ${nf(v.events)} events link up.`),
            h('p', { class: 'muted' }, 'Head hash ', h('code', { class: 'hash' }, v.head_hash || '—')),
          );
        } else {
          const b = v.break || {};
          fill(
            box,
            h('p', { id: 'ledger-verify', class: 'verdict verdict-bad', 'data-status': 'broken', 'data-seq': b.seq ?? '', role: 'alert' }, h('span', { class: 'verdict-icon', 'aria-hidden': 'true' }, '✗'), ` Hash chain BROKEN at seq ${b.seq ?? '?'}: ${b.reason || 'unknown reason'}`),
            h('p', { class: 'muted' }, `Event ${b.id || '?'}; ${nf(v.events)} events in the ledger.`),
          );
        }
      } catch (e) {
        fill(box, h('p', { id: 'ledger-verify', class: 'verdict verdict-bad', 'data-status': 'error' }, `Could not verify: ${e.message}`));
      }
    }

    /** Counts by kind over the whole ledger (a thousand at a time, chain not recomputed), and
     * the kind filter's choices from them. */
    async function kindsCard() {
      const box = document.getElementById('kinds');
      try {
        const counts = new Map();
        let cursor = null;
        let n = 0;
        for (let page = 0; page < 2000; page++) {
          const q = new URLSearchParams({ limit: '1000', chain: 'skip' });
          if (cursor) q.set('cursor', cursor);
          const doc = await api(`/api/ledger/events?${q}`);
          for (const e of doc.items) counts.set(e.kind, (counts.get(e.kind) || 0) + 1);
          n += doc.items.length;
          cursor = doc.next_cursor;
          if (!cursor) break;
        }
        const select = document.getElementById('filter-kind');
        const chosen = select.value;
        for (const k of [...counts.keys()].sort()) {
          if (![...select.options].some((o) => o.value === k)) select.append(h('option', { value: k }, k));
        }
        select.value = chosen;
        const data = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([k, c]) => ({ label: k, value: c, text: nf(c), cls: 'series-0' }));
        fill(box, data.length ? hbarChart('kinds-chart', `Ledger events by kind (${nf(n)} events)`, data, { labelWidth: 200 }) : muted('The ledger is empty.'));
      } catch (e) {
        fill(box, errorBox(e));
      }
    }

    function hashCell(hash, label) {
      return h('td', {}, h('code', { class: 'hash', title: hash, 'aria-label': `${label} ${hash}` }, short(hash, 12)));
    }

    async function eventsTable(q) {
      const box = document.getElementById('events');
      const info = document.getElementById('events-info');
      fill(box, h('p', { class: 'loading' }, 'Loading…'));
      fill(info);
      exportLink(q);
      const tbody = h('tbody', {});
      const more = h('button', { type: 'button', id: 'events-more', class: 'ghost' }, 'More');
      const status = h('p', { class: 'muted', role: 'status', id: 'events-status' });
      const described = [...q.entries()].map(([k, v]) => `${k} ${v}`).join(', ');
      let shown = 0;
      let token = null;
      const load = async (cursor) => {
        more.disabled = true;
        try {
          const p = new URLSearchParams(q);
          p.set('limit', '100');
          if (cursor) p.set('cursor', cursor);
          const doc = await api(`/api/ledger/events?${p}`);
          token = doc.token || token;
          for (const e of doc.items) {
            const ok = e.chain_ok === true;
            tbody.append(
              h(
                'tr',
                { 'data-seq': e.seq, 'data-chain': ok ? 'ok' : 'broken' },
                h('td', { class: 'num' }, String(e.seq)),
                h('td', { class: 'nowrap' }, when(e.recorded_at, true)),
                h('td', {}, h('span', { class: 'kind' }, e.kind)),
                h('td', {}, h('code', {}, e.subject)),
                h('td', {}, e.actor),
                h('td', { class: 'num' }, e.amount === null || e.amount === undefined ? '—' : tok(e.amount, 2, token)),
                hashCell(e.hash, 'Hash'),
                hashCell(e.prev_hash, 'Previous hash'),
                h('td', { class: ok ? 'status-ok' : 'status-bad' }, ok ? '✓ verifies' : '✗ broken'),
              ),
            );
          }
          shown += doc.items.length;
          const chain = doc.chain && doc.chain.break ? ` The hash chain breaks at seq ${doc.chain.break.seq}.` : '';
          status.textContent = `${nf(shown)} events shown, newest first${described ? ` (${described})` : ''}${doc.next_cursor ? '' : ' — that is all of them'}.${chain}`;
          more.hidden = !doc.next_cursor;
          more.dataset.cursor = doc.next_cursor || '';
        } catch (e) {
          // A refused filter (400 or 404) names its parameter; say so beside the form.
          fill(info, errorBox(e, 'Filter refused'));
          if (!shown) fill(box, muted('No events: the filter was refused.'));
          return;
        } finally {
          more.disabled = false;
        }
        if (shown === 0) fill(box, muted('No event matches these filters.'), status);
      };
      more.addEventListener('click', () => load(more.dataset.cursor));
      const tbl = h(
        'table',
        { id: 'events-table' },
        h('caption', {}, 'Ledger events, newest first'),
        h('thead', {}, h('tr', {}, ['Seq', 'Recorded', 'Kind', 'Subject', 'Actor', 'Amount', 'Hash', 'Previous hash', 'Chain'].map((c, i) => h('th', { scope: 'col', class: i === 0 || i === 5 ? 'num' : null }, c)))),
        tbody,
      );
      fill(box, h('div', { class: 'table-scroll tall', tabindex: '0', role: 'region', 'aria-label': 'Ledger events' }, tbl), h('div', { class: 'toolbar' }, more, status));
      await load(null);
    }

    const form = document.getElementById('events-filter');
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      eventsTable(filters());
    });
    document.getElementById('filter-clear').addEventListener('click', () => {
      form.reset();
      eventsTable(filters());
    });
    await Promise.allSettled([verifyCard(), kindsCard(), eventsTable(filters())]);
  };
})();
