// Operator sections: the eras timeline with uploads, close and resolution; wallets and withdrawals.
import { api, closesIn, el, field, fileText, fmtNum, fmtTime, hasRoute, outcome, problemView, show, table } from './ui.js';

const badge = (text) => el('span', { class: `badge ${text}` }, text);
const NOT_AVAILABLE = (what) => el('p', { class: 'muted not-available' }, `${what}: not available on this service.`);

async function eras(section) {
  const res = await api('GET', '/v1/eras');
  if (!res.ok) return show(section, problemView(res));
  const list = [...res.body.eras].sort((a, b) => b.number - a.number);
  const detail = el('div', { id: 'era-detail' });
  const reload = async (keep) => {
    await eras(section);
    if (keep !== undefined) section.querySelector(`tr[data-id="${keep}"] button.open-era`)?.click();
  };
  const next = (list[0]?.number ?? 0) + 1;
  const number = el('input', { type: 'number', min: 1, step: 1, value: next, name: 'number' });
  const closes = el('input', { type: 'datetime-local', name: 'closesAt', required: true });
  const created = el('div');
  const create = el('form', { class: 'row', id: 'era-create' }, field('Era', number), field('Closes at (UTC)', closes), el('button', { type: 'submit' }, 'Create era'));
  create.addEventListener('submit', async (event) => {
    event.preventDefault();
    const r = await api('POST', '/v1/eras', { number: Number(number.value), closesAt: new Date(`${closes.value}Z`).toISOString() });
    if (r.ok) await reload(r.body.number);
    else show(created, problemView(r));
  });
  show(section,
    el('div', { class: 'card' }, el('h2', {}, 'Eras'),
      table([
        { head: 'Era', num: true, cell: (e) => String(e.number) },
        { head: 'Status', cell: (e) => badge(e.status) },
        { head: 'Closes', cell: (e) => (e.status === 'open' || e.status === 'scheduled' ? `in ${closesIn(e.closesAt)}` : fmtTime(e.closedAt ?? e.closesAt)) },
        { head: 'Universe', num: true, cell: (e) => String(e.universeSize) },
        { head: 'Main target', class: 'hide-narrow', cell: (e) => e.mainTarget },
        { head: '', cell: (e) => el('button', { type: 'button', class: 'secondary open-era', onclick: () => eraDetail(e, detail, reload) }, 'Open') },
      ], list, 'No era yet.', { class: 'wide-only', id: 'eras-table' }),
      el('h3', {}, 'New era'), create, created),
    detail);
}

/** One era: its submissions, uploads, close, dry run and resolution, each showing its result in place. */
async function eraDetail(era, place, reload) {
  const n = era.number;
  const summary = el('div', { class: 'summary' });
  const card = el('div', { class: 'card era', 'data-era': n }, el('h2', {}, `Era ${n} `, badge(era.status)),
    el('p', { class: 'muted' }, `Opens ${fmtTime(era.opensAt)}, closes ${fmtTime(era.closesAt)}${era.closedAt ? `, closed ${fmtTime(era.closedAt)}` : ''}${era.resolvedAt ? `, resolved ${fmtTime(era.resolvedAt)}` : ''}.`),
    summary);
  show(place, card);

  if (await hasRoute('GET', '/v1/eras/{number}/submissions/summary')) {
    const s = await api('GET', `/v1/eras/${n}/submissions/summary`);
    if (!s.ok) show(summary, problemView(s));
    else show(summary,
      el('p', {}, `${s.body.submitted} submitted, ${s.body.staked} staked, ${s.body.late} late; at risk ${s.body.atRisk}.`),
      el('h3', {}, 'Near-duplicate submissions (Spearman ≥ 0.99, different accounts)'),
      table([{ head: 'Models', cell: (d) => d.models.join(', ') }, { head: 'Spearman', num: true, cell: (d) => fmtNum(d.spearman) }], s.body.duplicates, 'None.'));
  } else show(summary, NOT_AVAILABLE('Submission summary'));

  if (era.status === 'open' || era.status === 'scheduled') {
    const file = el('input', { type: 'file', accept: '.csv,text/csv', name: 'universe' });
    const result = el('div', { class: 'result', id: 'universe-result' });
    const form = el('form', { class: 'row', id: 'universe-upload' }, field('Universe CSV', file), el('button', { type: 'submit' }, 'Upload universe'));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const text = await fileText(file);
      if (text === null) return show(result, el('p', { class: 'problems' }, 'Pick a CSV file first.'));
      outcome(result, await api('PUT', `/v1/eras/${n}/universe`, text, 'text/csv'), (u) => el('p', { class: 'ok', role: 'status' }, `Universe stored: ${u.count} ids; columns read as numbers: ${u.columns.numbers.join(', ') || 'none'}; as codes: ${u.columns.codes.join(', ') || 'none'}.`));
    });
    card.append(el('h3', {}, 'Universe'), form, result);
  }

  if (era.status === 'open') {
    const result = el('div', { class: 'result', id: 'close-result' });
    card.append(el('h3', {}, 'Close'), el('p', { class: 'muted' }, 'Closing now cuts off submissions and stake changes for this era and computes its meta-model.'),
      el('button', { type: 'button', id: 'close-era', onclick: async () => {
        const r = await api('POST', `/v1/eras/${n}/close`);
        if (r.ok) await reload(n);
        else show(result, problemView(r));
      } }, `Close era ${n}`), result);
  }

  if (era.status === 'closed') {
    const target = el('input', { type: 'text', name: 'target', value: era.mainTarget, required: true });
    const file = el('input', { type: 'file', accept: '.csv,text/csv', name: 'targets' });
    const result = el('div', { class: 'result', id: 'target-result' });
    const form = el('form', { class: 'row', id: 'target-upload' }, field('Target', target), field('Target CSV (id,target)', file), el('button', { type: 'submit' }, 'Upload target'));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const text = await fileText(file);
      if (text === null) return show(result, el('p', { class: 'problems' }, 'Pick a CSV file first.'));
      outcome(result, await api('PUT', `/v1/eras/${n}/targets/${encodeURIComponent(target.value.trim())}`, text, 'text/csv'), (t) => el('p', { class: 'ok', role: 'status' }, `${t.target} version ${t.version} stored: ${t.count} ids, ${t.scored} submissions scored.`));
    });
    card.append(el('h3', {}, 'Targets'), form, result);

    const dry = el('div', { class: 'result', id: 'dry-run-result' });
    const done = el('div', { class: 'result', id: 'resolve-result' });
    const canDryRun = await hasRoute('POST', '/v1/eras/{number}/resolve', 'dryRun');
    card.append(el('h3', {}, 'Resolve'),
      el('p', { class: 'muted' }, 'Resolving pays or burns every staked model on the latest version of the main target, once; targets are final afterwards.'),
      el('div', { class: 'actions' },
        canDryRun ? el('button', { type: 'button', class: 'secondary', id: 'dry-run', onclick: async () => {
          outcome(dry, await api('POST', `/v1/eras/${n}/resolve?dryRun=true`), (d) => el('div', {},
            el('p', { class: 'ok' }, `Dry run: total payout ${d.totalPayout}; nothing written.`),
            table([
              { head: 'Model', cell: (m) => m.name },
              { head: 'Stake', num: true, cell: (m) => m.stake },
              { head: 'CORR', num: true, cell: (m) => fmtNum(m.corr) },
              { head: 'MMC', num: true, cell: (m) => fmtNum(m.mmc) },
              { head: 'Payout', num: true, cell: (m) => m.payout },
            ], d.models, 'No staked model.')));
        } }, 'Dry run') : null,
        el('button', { type: 'button', id: 'resolve-era', onclick: async () => {
          const r = await api('POST', `/v1/eras/${n}/resolve`);
          outcome(done, r, (d) => el('p', { class: 'ok', role: 'status' }, `Era ${d.era} resolved: total payout ${d.totalPayout}.`));
        } }, `Resolve era ${n}`)),
      ...(canDryRun ? [] : [NOT_AVAILABLE('Resolve dry run')]),
      dry, done);
  }
}

async function money(section) {
  const account = el('input', { type: 'text', name: 'accountId', required: true, placeholder: 'account id' });
  const amount = el('input', { type: 'text', name: 'amount', inputmode: 'decimal', required: true, pattern: '\\d+(\\.\\d+)?' });
  const reference = el('input', { type: 'text', name: 'reference', required: true });
  const credited = el('div');
  const credit = el('form', { class: 'row', id: 'credit' }, field('Account id', account), field('Amount', amount), field('Payment reference', reference), el('button', { type: 'submit' }, 'Credit wallet'));
  credit.addEventListener('submit', async (event) => {
    event.preventDefault();
    outcome(credited, await api('POST', `/v1/accounts/${encodeURIComponent(account.value.trim())}/wallet/credits`, { amount: amount.value.trim(), reference: reference.value.trim() }), (w) => el('p', { class: 'ok', role: 'status' }, `Credited. Wallet balance ${w.balance}, available ${w.available}.`));
  });
  const pending = el('div');
  async function load() {
    const res = await api('GET', '/v1/withdrawals?status=pending');
    if (!res.ok) return show(pending, problemView(res));
    show(pending, table([
      { head: 'Requested', cell: (w) => fmtTime(w.requestedAt) },
      { head: 'Account', cell: (w) => w.accountId.slice(0, 8) },
      { head: 'Amount', num: true, cell: (w) => w.amount },
      { head: '', cell: (w) => decide(w) },
    ], res.body.withdrawals, 'No pending withdrawal.'));
  }
  function decide(w) {
    const place = el('div');
    const text = el('input', { type: 'text', 'aria-label': 'payment reference or reason', placeholder: 'reference or reason', required: true });
    const act = (verb, key) => async () => {
      if (!text.value.trim()) return show(place, el('p', { class: 'problems' }, 'Give a payment reference (complete) or a reason (reject).'));
      const r = await api('POST', `/v1/withdrawals/${w.id}/${verb}`, { [key]: text.value.trim() });
      if (r.ok) await load();
      else show(place, problemView(r));
    };
    return el('div', {}, el('div', { class: 'row' }, text, el('button', { type: 'button', onclick: act('complete', 'reference') }, 'Complete'), el('button', { type: 'button', class: 'danger', onclick: act('reject', 'reason') }, 'Reject')), place);
  }
  show(section,
    el('div', { class: 'card' }, el('h2', {}, 'Credit a wallet'), el('p', { class: 'muted' }, 'Money enters only here, each credit naming the outside payment.'), credit, credited),
    el('div', { class: 'card' }, el('h2', {}, 'Pending withdrawals'), pending));
  await load();
}

export const operatorViews = [
  { id: 'eras', title: 'Eras', render: eras },
  { id: 'money', title: 'Wallets', render: money },
];
