// Author sections: models with stakes, submissions, scores and performance; the wallet; the leaderboard; own keys; webhooks.
import { api, el, field, fileText, fmtNum, fmtTime, lineChart, outcome, problemView, show, table } from './ui.js';

const SCOPES = ['all', 'submit', 'stake', 'read'];
const AMOUNT = '\\d+(\\.\\d+)?';

async function models(section) {
  const res = await api('GET', '/v1/models');
  if (!res.ok) return show(section, problemView(res));
  const detail = el('div', { id: 'model-detail' });
  const name = el('input', { type: 'text', name: 'name', required: true });
  const made = el('div');
  const create = el('form', { class: 'row', id: 'model-create' }, field('Name', name), el('button', { type: 'submit' }, 'New model'));
  create.addEventListener('submit', async (event) => {
    event.preventDefault();
    const r = await api('POST', '/v1/models', { name: name.value.trim() });
    if (!r.ok) return show(made, problemView(r));
    await models(section);
    section.querySelector(`tr[data-id="${r.body.id}"] button.open-model`)?.click();
  });
  show(section,
    el('div', { class: 'card' }, el('h2', {}, 'Your models'),
      table([
        { head: 'Model', cell: (m) => m.name },
        { head: 'Created', class: 'hide-narrow', cell: (m) => fmtTime(m.createdAt) },
        { head: '', cell: (m) => el('button', { type: 'button', class: 'secondary open-model', onclick: () => modelDetail(m, detail) }, 'Open') },
      ], res.body.models, 'No model yet: make one below.', { class: 'wide-only', id: 'models-table' }),
      create, made),
    detail);
}

async function modelDetail(model, place) {
  const stakePlace = el('div', { class: 'stake' });
  const submitPlace = el('div', { class: 'submit' });
  const scoresPlace = el('div', { class: 'scores' });
  show(place, el('div', { class: 'card model', 'data-model': model.name }, el('h2', {}, model.name),
    el('h3', {}, 'Stake'), stakePlace, el('h3', {}, 'Predictions'), submitPlace, el('h3', {}, 'Scores and performance'), scoresPlace));
  await Promise.all([stake(model, stakePlace), submissions(model, submitPlace), scores(model, scoresPlace)]);
}

async function stake(model, place) {
  const res = await api('GET', `/v1/models/${model.id}/stake`);
  if (!res.ok) return show(place, problemView(res));
  const s = res.body;
  const amount = el('input', { type: 'text', name: 'amount', inputmode: 'decimal', required: true, pattern: AMOUNT, value: s.amount });
  const result = el('div', { id: 'stake-result' });
  const form = el('form', { class: 'row', id: 'stake-set' }, field('New stake', amount), el('button', { type: 'submit' }, 'Set stake'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const r = await api('PUT', `/v1/models/${model.id}/stake`, { amount: amount.value.trim() });
    if (r.ok) {
      await stake(model, place);
      place.querySelector('#stake-result')?.replaceChildren(el('p', { class: 'ok', role: 'status' }, `Stake set to ${r.body.amount}.`));
    } else show(result, problemView(r));
  });
  show(place,
    el('p', { id: 'stake-figures' }, `Stake ${s.amount}; balance ${s.balance}; releasing ${s.releasing}.`),
    el('p', { class: 'muted' }, 'Raising takes the difference from your wallet; lowering releases it back once the eras it is at risk in resolve.'),
    form, result,
    s.atRisk.length ? el('p', {}, `At risk: ${s.atRisk.map((a) => `era ${a.era}: ${a.amount}`).join('; ')}.`) : null,
    s.pendingReleases.length ? el('div', {}, el('strong', {}, 'Pending releases'), table([
      { head: 'Amount', num: true, cell: (r) => r.amount },
      { head: 'Requested', cell: (r) => fmtTime(r.requestedAt) },
      { head: 'Waits for eras', cell: (r) => r.waitsForEras.join(', ') },
    ], s.pendingReleases)) : null,
    el('details', {}, el('summary', {}, `Ledger (${s.history.length} entries)`), table([
      { head: 'When', cell: (h) => fmtTime(h.at) },
      { head: 'Kind', cell: (h) => h.kind },
      { head: 'Change', num: true, cell: (h) => h.delta },
      { head: 'Balance', num: true, cell: (h) => h.balance },
      { head: 'Era', num: true, cell: (h) => (h.era === null || h.era === undefined ? '' : String(h.era)) },
    ], [...s.history].reverse())));
}

async function submissions(model, place) {
  const [erasRes, subs] = await Promise.all([api('GET', '/v1/eras'), api('GET', `/v1/models/${model.id}/submissions`)]);
  if (!erasRes.ok) return show(place, problemView(erasRes));
  const open = erasRes.body.eras.filter((e) => e.status === 'open').sort((a, b) => new Date(a.closesAt) - new Date(b.closesAt));
  const result = el('div', { id: 'submit-result' });
  const listPlace = el('div');
  const era = el('select', { name: 'era' }, open.map((e) => el('option', { value: e.number }, `era ${e.number}`)));
  const file = el('input', { type: 'file', accept: '.csv,text/csv', name: 'predictions' });
  const form = el('form', { class: 'row', id: 'submit-form' }, field('Era', era), field('Predictions CSV (id,prediction)', file), el('button', { type: 'submit' }, 'Upload predictions'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const text = await fileText(file);
    if (text === null) return show(result, el('p', { class: 'problems' }, 'Pick a CSV file first.'));
    const r = await api('POST', `/v1/models/${model.id}/submissions?era=${era.value}`, text, 'text/csv');
    outcome(result, r, (s) => el('p', { class: 'ok', role: 'status' }, `Stored for era ${s.era}: ${s.rows} rows${s.late ? ', late' : ''}; sha256 ${s.sha256.slice(0, 16)}…`));
    if (r.ok) await submissions(model, place).then(() => place.querySelector('#submit-result')?.replaceChildren(...result.childNodes));
  });
  if (subs.ok) show(listPlace, table([
    { head: 'Era', num: true, cell: (s) => String(s.era) },
    { head: 'Rows', num: true, cell: (s) => String(s.rows) },
    { head: 'When', cell: (s) => fmtTime(s.createdAt) },
    { head: 'State', cell: (s) => [s.late ? 'late' : 'on time', s.superseded ? 'superseded' : 'current'].join(', ') },
  ], subs.body.submissions.slice(0, 20), 'No submission yet.'));
  else show(listPlace, problemView(subs));
  show(place, open.length ? form : el('p', { class: 'muted' }, 'No era is open for submissions now.'), result, listPlace);
}

/** A model's scores, newest eras first, one page at a time (`loaded`: the pages read so far, joined). */
async function scores(model, place, loaded = null) {
  const [res, perf] = await Promise.all([loaded ?? api('GET', `/v1/models/${model.id}/scores`), api('GET', `/v1/models/${model.id}/performance`)]);
  if (!res.ok) return show(place, problemView(res));
  const { next } = res.body;
  const older = next && el('button', { type: 'button', class: 'secondary', id: 'older-scores', onclick: async () => {
    const page = await api('GET', `/v1/models/${model.id}/scores?cursor=${encodeURIComponent(next)}`);
    if (!page.ok) return show(place, problemView(page));
    await scores(model, place, { ok: true, body: { scores: [...res.body.scores, ...page.body.scores], next: page.body.next } });
  } }, 'Older eras');
  const chart = el('div', { class: 'chart', id: 'score-chart' });
  const perfChart = el('div', { class: 'chart', id: 'performance-chart' });
  const rows = res.body.scores;
  show(place,
    el('div', { class: 'grid' },
      el('figure', { class: 'card' }, el('figcaption', {}, 'CORR and MMC by era (each target, latest version)'), chart),
      el('div', { class: 'card' }, table([
        { head: 'Era', num: true, cell: (s) => String(s.era) },
        { head: 'Target', cell: (s) => `${s.target} v${s.version}` },
        { head: 'Status', cell: (s) => s.status },
        { head: 'CORR', num: true, cell: (s) => fmtNum(s.corr) },
        { head: 'MMC', num: true, cell: (s) => fmtNum(s.mmc) },
        { head: 'Payout', num: true, cell: (s) => s.payout ?? '' },
      ], rows, 'No score yet: scores appear once the era has a target.', { id: 'scores-table' }), older)),
    perf.ok ? el('div', { class: 'grid' },
      el('figure', { class: 'card' }, el('figcaption', {}, `Performance on ${perf.body.target} over resolved eras`), perfChart),
      el('div', { class: 'card', id: 'performance' },
        el('p', {}, `CORR mean ${fmtNum(perf.body.corr.mean)}, Sharpe ${fmtNum(perf.body.corr.sharpe)}, max drawdown ${fmtNum(perf.body.corr.maxDrawdown)}.`),
        el('p', {}, `MMC mean ${fmtNum(perf.body.mmc.mean)}; payouts ${perf.body.payout.total} (return ${fmtNum(perf.body.payout.return)}).`),
        table([
          { head: 'Era', num: true, cell: (e) => String(e.era) },
          { head: 'CORR', num: true, cell: (e) => fmtNum(e.corr) },
          { head: 'MMC', num: true, cell: (e) => fmtNum(e.mmc) },
          { head: 'Stake', num: true, cell: (e) => e.stake },
          { head: 'Payout', num: true, cell: (e) => e.payout },
        ], perf.body.eras, 'No resolved era yet.'))) : problemView(perf));
  const targets = [...new Set(rows.map((s) => s.target))].sort();
  lineChart(chart, targets.flatMap((t) => ['corr', 'mmc'].map((k) => ({ name: `${k.toUpperCase()} ${t}`, points: rows.filter((s) => s.target === t && s[k] !== null).map((s) => ({ x: s.era, y: s[k] })).sort((a, b) => a.x - b.x) }))).slice(0, 4));
  if (perf.ok) lineChart(perfChart, [
    { name: 'CORR', points: perf.body.eras.filter((e) => e.corr !== null).map((e) => ({ x: e.era, y: e.corr })) },
    { name: 'MMC', points: perf.body.eras.filter((e) => e.mmc !== null).map((e) => ({ x: e.era, y: e.mmc })) },
  ]);
}

async function wallet(section) {
  const res = await api('GET', '/v1/me/wallet');
  if (!res.ok) return show(section, problemView(res));
  const w = res.body;
  const amount = el('input', { type: 'text', name: 'amount', inputmode: 'decimal', required: true, pattern: AMOUNT });
  const result = el('div');
  const form = el('form', { class: 'row', id: 'withdraw' }, field('Amount', amount), el('button', { type: 'submit' }, 'Request withdrawal'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const r = await api('POST', '/v1/me/wallet/withdrawals', { amount: amount.value.trim() });
    if (r.ok) await wallet(section);
    else show(result, problemView(r));
  });
  show(section, el('div', { class: 'card' }, el('h2', {}, 'Wallet'),
    el('p', { id: 'wallet-figures' }, `Balance ${w.balance}; held by pending withdrawals ${w.held}; available ${w.available}.`),
    form, result,
    el('h3', {}, 'Entries'),
    table([
      { head: 'When', cell: (e) => fmtTime(e.at) },
      { head: 'Kind', cell: (e) => e.kind },
      { head: 'Change', num: true, cell: (e) => e.delta },
      { head: 'Balance', num: true, cell: (e) => e.balance },
      { head: 'Reference', class: 'hide-narrow', cell: (e) => e.reference ?? '' },
    ], [...w.entries].reverse(), 'No movement yet.', { class: 'wide-only' })));
}

async function leaderboard(section) {
  const res = await api('GET', '/v1/leaderboard?limit=100');
  if (!res.ok) return show(section, problemView(res));
  const b = res.body;
  show(section, el('div', { class: 'card' }, el('h2', {}, `Leaderboard on ${b.target}`),
    el('p', { class: 'muted' }, `Reputation over the last ${b.window} resolved eras${b.eras.length ? ` (${b.eras.join(', ')})` : ''}; ${b.total} models.`),
    table([
      { head: '#', num: true, cell: (r) => String(r.rank) },
      { head: 'Model', cell: (r) => r.model },
      { head: 'Eras', num: true, cell: (r) => String(r.eras) },
      { head: 'CORR rep', num: true, cell: (r) => fmtNum(r.corrRep) },
      { head: 'MMC rep', num: true, cell: (r) => fmtNum(r.mmcRep) },
      { head: 'Stake', num: true, class: 'hide-narrow', cell: (r) => r.stake },
    ], b.rows, 'No resolved era yet.', { class: 'wide-only' })));
}

async function keys(section) {
  const res = await api('GET', '/v1/me/keys');
  if (!res.ok) return show(section, problemView(res));
  const result = el('div');
  const scope = el('select', { name: 'scope' }, SCOPES.map((s) => el('option', { value: s }, s)));
  const expires = el('input', { type: 'date', name: 'expires' });
  const form = el('form', { class: 'row', id: 'key-create' }, field('Scope', scope), field('Expires (optional)', expires), el('button', { type: 'submit' }, 'New key'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = { scopes: [scope.value] };
    if (expires.value) body.expiresAt = new Date(`${expires.value}T00:00:00Z`).toISOString();
    const r = await api('POST', '/v1/me/keys', body);
    if (!r.ok) return show(result, problemView(r));
    await keys(section);
    section.querySelector('#key-result')?.replaceChildren(el('p', {}, 'New key, shown once: copy it now.'), el('code', { class: 'secret' }, r.body.apiKey));
  });
  show(section, el('div', { class: 'card' }, el('h2', {}, 'Your keys'),
    el('p', { class: 'muted' }, 'Give a script only the scope it needs (submit, stake or read) and an expiry.'),
    table([
      { head: 'Key', cell: (k) => k.hint },
      { head: 'Scopes', cell: (k) => k.scopes.join(', ') },
      { head: 'Expires', cell: (k) => (k.expiresAt ? fmtTime(k.expiresAt) : 'never') },
      { head: '', cell: (k) => el('button', { type: 'button', class: 'danger', onclick: async () => {
        const r = await api('DELETE', `/v1/me/keys/${k.id}`);
        if (r.ok) await keys(section);
        else show(result, problemView(r));
      } }, 'Revoke') },
    ], res.body.keys, 'No key.'),
    form, result, el('div', { id: 'key-result' })));
}

/** The event types of docs/events.md: the first six go to every account, the last three to the model's owner. */
const EVENT_TYPES = ['era.opened', 'era.closed', 'era.scored', 'era.resolved', 'policy.scheduled', 'policy.activated', 'submission.received', 'model.settled', 'stake.released'];

async function webhooks(section) {
  const res = await api('GET', '/v1/webhooks');
  if (!res.ok) return show(section, problemView(res));
  const result = el('div', { id: 'webhook-result' });
  const deliveriesPlace = el('div', { id: 'webhook-deliveries' });
  const url = el('input', { type: 'url', name: 'url', required: true, placeholder: 'https://example.com/hook', maxlength: 2048 });
  const description = el('input', { type: 'text', name: 'description', maxlength: 500 });
  const boxes = EVENT_TYPES.map((type) => el('input', { type: 'checkbox', name: 'events', value: type }));
  const form = el('form', { id: 'webhook-create' },
    el('div', { class: 'row' }, field('URL', url), field('Description (optional)', description)),
    el('fieldset', { class: 'events' }, el('legend', {}, 'Events'), boxes.map((box) => el('label', { class: 'check' }, box, box.value))),
    el('button', { type: 'submit' }, 'Register webhook'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const events = boxes.filter((b) => b.checked).map((b) => b.value);
    if (!events.length) return show(result, el('p', { class: 'problems', role: 'alert' }, 'Pick at least one event.'));
    const body = { url: url.value.trim(), events };
    if (description.value.trim()) body.description = description.value.trim();
    const r = await api('POST', '/v1/webhooks', body);
    if (!r.ok) return show(result, problemView(r));
    await webhooks(section);
    section.querySelector('#webhook-result')?.replaceChildren(
      el('p', { class: 'ok', role: 'status' }, `Webhook registered for ${r.body.url}. Its signing secret, shown once: store it now to verify deliveries (docs/events.md).`),
      el('code', { class: 'secret', id: 'webhook-secret' }, r.body.secret));
  });
  show(section, el('div', { class: 'card' }, el('h2', {}, 'Your webhooks'),
    el('p', { class: 'muted' }, 'Events are posted to your URL, signed (Standard Webhooks). The URL must be https and public unless the service allows its host.'),
    table([
      { head: 'URL and events', cell: (h) => [el('div', { class: 'url' }, h.url), el('div', { class: 'muted hook-events' }, h.events.join(', '))] },
      { head: 'Status', cell: (h) => (h.disabled ? `disabled${h.disabledReason ? `: ${h.disabledReason}` : ''}` : 'active') },
      { head: '', cell: (h) => el('span', { class: 'actions' },
        el('button', { type: 'button', class: 'secondary open-deliveries', onclick: () => deliveries(h, deliveriesPlace) }, 'Deliveries'),
        el('button', { type: 'button', class: 'danger delete-webhook', onclick: async () => {
          const r = await api('DELETE', `/v1/webhooks/${h.id}`);
          if (r.ok) await webhooks(section);
          else show(result, problemView(r));
        } }, 'Delete')) },
    ], res.body.webhooks, 'No webhook yet.', { id: 'webhooks-table' }),
    form, result), deliveriesPlace);
}

async function deliveries(hook, place) {
  const res = await api('GET', `/v1/webhooks/${hook.id}/deliveries`);
  if (!res.ok) return show(place, problemView(res));
  const result = el('div', { id: 'retry-result' });
  show(place, el('div', { class: 'card', 'data-webhook': hook.id }, el('h3', {}, `Deliveries to ${hook.url}`),
    table([
      { head: 'Event', cell: (d) => d.type },
      { head: 'Status', cell: (d) => `${d.status}; ${d.attempts} attempt${d.attempts === 1 ? '' : 's'}; last HTTP status ${d.lastStatusCode === null ? '—' : String(d.lastStatusCode)}` },
      { head: 'Next attempt', cell: (d) => fmtTime(d.nextAttemptAt) },
      { head: '', cell: (d) => el('button', { type: 'button', class: 'secondary retry', onclick: async () => {
        const r = await api('POST', `/v1/webhooks/${hook.id}/deliveries/${d.id}/retry`);
        if (!r.ok) return show(result, problemView(r));
        await deliveries(hook, place);
        place.querySelector('#retry-result')?.replaceChildren(el('p', { class: 'ok', role: 'status' }, `Delivery of ${d.type} queued again.`));
      } }, 'Retry') },
    ], res.body.deliveries, 'No delivery yet: one appears when a subscribed event happens.', { id: 'deliveries-table' }),
    result));
}

export const authorViews = [
  { id: 'models', title: 'Models', render: models },
  { id: 'wallet', title: 'Wallet', render: wallet },
  { id: 'leaderboard', title: 'Leaderboard', render: leaderboard },
  { id: 'keys', title: 'Keys', render: keys },
  { id: 'webhooks', title: 'Webhooks', render: webhooks },
];
