// tokencomp /me: prove a wallet (issue 18, item 3). The person asks for a Sign-In with Ethereum
// message, signs it with their wallet and sends the signature back; a change takes effect after
// the company's delay and can be cancelled until then.
//
// With an injected wallet (window.ethereum, EIP-1193) the page asks it for the account and a
// personal_sign signature; without one it shows the message to sign elsewhere and a field for
// the signature. Same rules as app.js: no innerHTML, text only through text nodes.
'use strict';

(() => {
  const box = () => document.getElementById('wallet');

  function h(tag, props, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'text') e.textContent = String(v);
      else if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
      else if (v === true) e.setAttribute(k, '');
      else e.setAttribute(k, String(v));
    }
    for (const c of kids.flat()) if (c !== null && c !== undefined && c !== false) e.append(c instanceof Node ? c : String(c));
    return e;
  }

  let session = null;

  async function api(path, body) {
    const init = { method: body ? 'POST' : 'GET', credentials: 'same-origin', headers: { Accept: 'application/json' } };
    if (body) {
      init.headers['Content-Type'] = 'application/json';
      if (session && session.csrf_token) init.headers['x-csrf-token'] = session.csrf_token;
      init.body = JSON.stringify(body);
    }
    const res = await fetch(path, init);
    let doc = null;
    try {
      doc = await res.json();
    } catch {
      doc = null;
    }
    if (!res.ok) {
      const field = doc && doc.details && doc.details.field ? ` (${doc.details.field})` : '';
      throw new Error(`${doc && doc.message ? doc.message : `HTTP ${res.status}`}${field}`);
    }
    return doc;
  }

  const status = (text, cls, id = 'wallet-status') => h('p', { class: cls || 'muted', role: cls === 'error' ? 'alert' : 'status', id }, text);

  function proofsTable(w) {
    if (!w.proofs.length) return h('p', { class: 'muted' }, 'No wallet proven yet.');
    const rows = w.proofs.map((p) =>
      h('tr', {}, h('td', { class: 'mono' }, p.address), h('td', {}, p.state), h('td', {}, p.proven_at), h('td', {}, p.effective_at)),
    );
    return h(
      'table',
      { id: 'wallet-proofs' },
      h('caption', {}, 'Wallet proofs, newest first'),
      h('thead', {}, h('tr', {}, ['Address', 'State', 'Proven', 'Takes effect'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows),
    );
  }

  /** Cancels every change still waiting for its delay. */
  async function cancel() {
    try {
      await api(`/api/people/${encodeURIComponent(session.person)}/wallet/cancel`, {});
      await render(status('The change was cancelled.', 'ok'));
    } catch (e) {
      await render(status(`Not cancelled: ${e.message}`, 'error'));
    }
  }

  async function prove(address, sign, out) {
    const c = await api('/api/me/wallet/challenge', { address });
    const signature = await sign(c.message);
    if (!signature) return;
    const p = await api('/api/me/wallet/proof', { message: c.message, signature });
    await render(status(p.state === 'pending' ? `Proven: ${p.address} becomes your wallet at ${p.effective_at}, unless cancelled before.` : `Proven: ${p.address} is your wallet now.`, 'ok'));
    return out;
  }

  function manualForm() {
    const msg = h('div', { id: 'wallet-manual-status' });
    const address = h('input', { id: 'wallet-address', type: 'text', required: true, placeholder: '0x…', autocomplete: 'off', spellcheck: 'false' });
    const message = h('textarea', { id: 'wallet-message', rows: 10, readonly: true });
    const signature = h('input', { id: 'wallet-signature', type: 'text', placeholder: '0x… (130 hex digits)', autocomplete: 'off', spellcheck: 'false' });
    const send = h('button', { type: 'button', id: 'wallet-send', class: 'primary', disabled: true }, 'Send the signature');
    let current = null;
    const ask = h('button', { type: 'button', id: 'wallet-challenge', class: 'primary' }, 'Get the message to sign');
    ask.addEventListener('click', async () => {
      try {
        current = await api('/api/me/wallet/challenge', { address: address.value.trim() });
        message.value = current.message;
        send.disabled = false;
        msg.replaceChildren(status(`Sign this message with ${address.value.trim()} (personal_sign) before ${current.expires_at}, then paste the signature.`, null, 'wallet-manual-msg'));
      } catch (e) {
        msg.replaceChildren(status(e.message, 'error', 'wallet-manual-msg'));
      }
    });
    send.addEventListener('click', async () => {
      try {
        const p = await api('/api/me/wallet/proof', { message: current.message, signature: signature.value.trim() });
        await render(status(p.state === 'pending' ? `Proven: ${p.address} becomes your wallet at ${p.effective_at}, unless cancelled before.` : `Proven: ${p.address} is your wallet now.`, 'ok'));
      } catch (e) {
        msg.replaceChildren(status(`Refused: ${e.message}`, 'error', 'wallet-manual-msg'));
      }
    });
    return h(
      'div',
      { class: 'form', id: 'wallet-manual' },
      h('div', { class: 'field' }, h('label', { for: 'wallet-address' }, 'Wallet address'), address),
      ask,
      h('div', { class: 'field' }, h('label', { for: 'wallet-message' }, 'Message to sign'), message),
      h('div', { class: 'field' }, h('label', { for: 'wallet-signature' }, 'Signature'), signature),
      send,
      msg,
    );
  }

  function injectedButton() {
    const eth = window.ethereum;
    if (!eth || typeof eth.request !== 'function') return null;
    const b = h('button', { type: 'button', id: 'wallet-connect', class: 'primary' }, 'Prove my wallet with my browser wallet');
    b.addEventListener('click', async () => {
      b.disabled = true;
      try {
        const [account] = await eth.request({ method: 'eth_requestAccounts' });
        await prove(account, (message) => eth.request({ method: 'personal_sign', params: [message, account] }));
      } catch (e) {
        await render(status(`Not proven: ${e.message}`, 'error'));
      }
    });
    return b;
  }

  async function render(notice) {
    const el = box();
    if (!el) return;
    try {
      const w = await api(`/api/people/${encodeURIComponent(session.person)}/wallet`);
      const lead = w.wallet ? `Your tokens are paid to ${w.wallet}.` : 'You have no proven wallet in effect.';
      const rule = `A change takes effect ${w.wallet_change_delay_hours} hours after you prove it; you and the admins are notified and either can cancel it before then.`;
      const parts = [
        h('p', {}, lead),
        w.require_proven_wallets ? h('p', { class: 'muted' }, 'Your company pays only to wallets people proved.') : null,
        h('p', { class: 'muted' }, rule),
        injectedButton(),
        h('details', { open: window.ethereum ? null : true }, h('summary', {}, 'Sign the message with another wallet'), manualForm()),
        notice || null,
        proofsTable(w),
        w.proofs.some((p) => p.state === 'pending')
          ? h('button', { type: 'button', id: 'wallet-cancel', class: 'ghost', onclick: () => cancel() }, 'Cancel my pending wallet change')
          : null,
      ];
      el.replaceChildren(...parts.filter((x) => x));
    } catch (e) {
      el.replaceChildren(status(e.message, 'error'));
    }
  }

  async function boot() {
    if (!box()) return;
    try {
      session = await api('/api/session');
    } catch {
      return;
    }
    if (!session.person) {
      box().replaceChildren(h('p', { class: 'muted' }, 'This login is not linked to a person.'));
      return;
    }
    await render(null);
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
  else boot();
})();
