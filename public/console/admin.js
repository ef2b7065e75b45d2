// Admin sections: accounts and their keys, the approval queue, the changelog and the audit log.
import { api, el, field, fmtNum, fmtTime, hasRoute, outcome, problemView, show, table } from './ui.js';

const ROLES = ['admin', 'operator', 'author'];
const SCOPES = ['all', 'submit', 'stake', 'read'];
const badge = (text) => el('span', { class: `badge ${text}` }, text);

/** A small inline form: a text input and a button; `act(value)` returns the API result shown in `place`. */
function inlineForm({ label, button, required = true, act, place, extra = [] }) {
  const input = el('input', { type: 'text', required, 'aria-label': label, placeholder: label });
  const form = el('form', { class: 'row' }, input, extra, el('button', { type: 'submit' }, button));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    await act(input.value.trim(), place);
  });
  return form;
}

// ---------------------------------------------------------------------------- accounts

async function accounts(section) {
  const role = el('select', { name: 'role' }, el('option', { value: '' }, 'any role'), ROLES.map((r) => el('option', { value: r }, r)));
  const q = el('input', { type: 'search', name: 'q', placeholder: 'name contains…' });
  const list = el('div', { id: 'account-list' });
  const search = el('form', { class: 'row', id: 'account-search' }, field('Role', role), field('Search', q), el('button', { type: 'submit' }, 'Search'));
  const newName = el('input', { type: 'text', name: 'name', required: true });
  const newRole = el('select', { name: 'role' }, ROLES.map((r) => el('option', { value: r }, r)));
  const created = el('div', { id: 'account-created' });
  const create = el('form', { class: 'row', id: 'account-create' }, field('Name', newName), field('Role', newRole), el('button', { type: 'submit' }, 'Create account'));

  async function load() {
    const params = new URLSearchParams();
    if (role.value) params.set('role', role.value);
    if (q.value.trim()) params.set('q', q.value.trim());
    const res = await api('GET', `/v1/accounts?${params}`);
    if (!res.ok) return show(list, problemView(res));
    show(list, table(
      [
        { head: 'Name', cell: (a) => a.name },
        { head: 'Role', cell: (a) => a.role },
        { head: 'Status', cell: (a) => badge(a.status) },
        { head: 'Keys', num: true, cell: (a) => String(a.keys.length) },
        { head: 'Created', class: 'hide-narrow', cell: (a) => fmtTime(a.createdAt) },
        { head: '', cell: (a) => accountActions(a, load) },
      ],
      res.body.accounts,
      'No account matches.',
      { class: 'wide-only', id: 'accounts-table' },
    ));
  }
  search.addEventListener('submit', (event) => {
    event.preventDefault();
    void load();
  });
  create.addEventListener('submit', async (event) => {
    event.preventDefault();
    const res = await api('POST', '/v1/accounts', { name: newName.value.trim(), role: newRole.value });
    outcome(created, res, (a) => el('div', { class: 'ok' },
      el('p', {}, `Created ${a.name} (${a.role}, ${a.status}).`, a.status === 'pending' ? ' A different admin must confirm it before its key works.' : ''),
      el('p', {}, 'Its API key, shown once: copy it now and hand it over privately.'),
      el('code', { class: 'secret', id: 'new-account-key' }, a.apiKey)));
    if (res.ok) await load();
  });
  show(section,
    el('div', { class: 'card' }, el('h2', {}, 'Accounts'), search, list),
    el('div', { class: 'card' }, el('h2', {}, 'New account'), el('p', { class: 'muted' }, 'An admin made here stays pending until another admin confirms it.'), create, created));
  await load();
}

function accountActions(account, reload) {
  const place = el('div', { class: 'detail-place' });
  const buttons = [];
  if (account.status === 'pending') {
    buttons.push(el('button', { type: 'button', class: 'confirm', onclick: async () => {
      const res = await api('POST', `/v1/accounts/${account.id}/confirm`);
      if (res.ok) await reload();
      else show(place, problemView(res));
    } }, 'Confirm'));
  }
  if (account.status !== 'disabled') {
    buttons.push(el('button', { type: 'button', class: 'danger', onclick: () => show(place, inlineForm({
      label: 'reason for disabling',
      button: 'Disable',
      place,
      act: async (reason) => {
        const res = await api('POST', `/v1/accounts/${account.id}/disable`, { reason });
        if (res.ok) await reload();
        else show(place, problemView(res));
      },
    })) }, 'Disable…'));
  }
  buttons.push(el('button', { type: 'button', class: 'secondary', onclick: () => show(place, keysOf(account, reload)) }, 'Keys'));
  return el('div', {}, el('div', { class: 'actions' }, buttons), place);
}

function keysOf(account, reload) {
  const out = el('div');
  const list = table(
    [
      { head: 'Key', cell: (k) => k.hint },
      { head: 'Scopes', cell: (k) => k.scopes.join(', ') },
      { head: 'Expires', cell: (k) => (k.expiresAt ? fmtTime(k.expiresAt) : 'never') },
      { head: '', cell: (k) => el('button', { type: 'button', class: 'danger', onclick: async () => {
        const res = await api('DELETE', `/v1/keys/${k.id}`);
        if (res.ok) await reload();
        else show(out, problemView(res));
      } }, 'Revoke') },
    ],
    account.keys,
    'No live key.',
  );
  const scopes = el('select', { 'aria-label': 'scope' }, SCOPES.map((s) => el('option', { value: s }, s)));
  const expires = el('input', { type: 'date', 'aria-label': 'expires on' });
  const issue = el('form', { class: 'row' }, field('Scope', scopes), field('Expires', expires), el('button', { type: 'submit' }, 'Issue key'));
  issue.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = { scopes: [scopes.value] };
    if (expires.value) body.expiresAt = new Date(`${expires.value}T00:00:00Z`).toISOString();
    outcome(out, await api('POST', `/v1/accounts/${account.id}/keys`, body), (k) => el('div', { class: 'ok' }, el('p', {}, 'New key, shown once:'), el('code', { class: 'secret' }, k.apiKey)));
  });
  return el('div', { class: 'detail' }, list, account.role === 'admin' ? el('p', { class: 'muted' }, 'Admins make their own keys (four-eyes).') : issue, out);
}

// ---------------------------------------------------------------------------- approval queue

function ruleText(rule) {
  const action = rule.action.type === 'exclude' ? `exclude (${rule.action.side})` : rule.action.type === 'scale' ? `scale × ${rule.action.multiplier}` : 'observe';
  return `${rule.id}: ${action}${rule.description ? ` — ${rule.description}` : ''}`;
}

function diffView(diff) {
  const items = [
    ...diff.rules.added.map((r) => el('li', { class: 'added' }, '+ ', ruleText(r))),
    ...diff.rules.removed.map((r) => el('li', { class: 'removed' }, '− ', ruleText(r))),
    ...diff.rules.changed.map((c) => el('li', { class: 'changed' }, '~ ', `${c.id}: ${c.fields.join(', ')} changed`)),
    ...diff.fields.map((f) => el('li', { class: 'changed' }, '~ ', `${f.field}: ${JSON.stringify(f.from ?? null)} → ${JSON.stringify(f.to ?? null)}`)),
  ];
  return el('div', { class: 'diff' },
    el('h3', {}, `Changes from ${diff.from.name} v${diff.from.version}`),
    items.length ? el('ul', {}, items) : el('p', { class: 'muted' }, 'No difference.'));
}

function previewView(preview) {
  return el('div', { class: 'preview' },
    el('h3', {}, 'Preview on open eras'),
    preview.warnings.length ? el('ul', { class: 'problems' }, preview.warnings.map((w) => el('li', {}, `${w.path}: ${w.message}`))) : null,
    preview.eras.map((e) => el('div', { class: 'preview-era', 'data-era': e.era },
      el('p', {}, `Era ${e.era}: ${e.tradable} of ${e.universeSize} ids tradable; excluded ${fmtNum(e.excluded.share * 100, 1)} %, observed ${fmtNum(e.observed.share * 100, 1)} %; Spearman with the unconstrained signal ${fmtNum(e.spearman)}; ${e.provisional.models} models.`),
      e.conflict ? el('p', { class: 'problems' }, `Conflict: ${e.conflict.message}`) : null,
      table([
        { head: 'Rule', cell: (r) => r.ruleId },
        { head: 'Action', cell: (r) => r.action.type },
        { head: 'Matched', num: true, cell: (r) => String(r.matched) },
        { head: 'Share', num: true, cell: (r) => `${fmtNum(r.share * 100, 1)} %` },
      ], e.byRule, 'No rule.'))));
}

function replayView(replay) {
  const s = replay.summary;
  return el('div', { class: 'replay' },
    el('h3', {}, 'Replay over past eras'),
    el('p', {}, `${s.eras} eras: mean cost ${fmtNum(s.meanCost)}, std ${fmtNum(s.stdCost)}, cumulative ${fmtNum(s.cumulativeCost)}, worst era ${s.worstEra ?? '—'}.`),
    table([
      { head: 'Era', num: true, cell: (e) => String(e.era) },
      { head: 'Target', cell: (e) => e.target },
      { head: 'CORR M', num: true, cell: (e) => fmtNum(e.unconstrained) },
      { head: 'CORR S', num: true, cell: (e) => fmtNum(e.traded) },
      { head: 'Cost', num: true, cell: (e) => fmtNum(e.cost) },
      { head: 'Spearman', num: true, cell: (e) => fmtNum(e.spearman) },
      { head: 'Excluded', num: true, cell: (e) => fmtNum(e.excluded) },
    ], replay.eras, 'No resolved era to replay.'));
}

async function review(draft, inForce, place) {
  show(place, el('p', { class: 'muted' }, 'Loading…'));
  const openEras = await api('GET', '/v1/eras');
  const eras = openEras.ok ? openEras.body.eras.filter((e) => e.status === 'open' && e.universeSize > 0).map((e) => e.number).slice(0, 50) : [];
  const [diff, preview, replay] = await Promise.all([
    inForce ? api('GET', `/v1/policies/${draft.id}/diff?against=${inForce.id}`) : null,
    eras.length ? api('POST', `/v1/policies/${draft.id}/preview`, { eras }) : null,
    hasRoute('POST', '/v1/policies/{id}/replay').then((has) => (has ? api('POST', `/v1/policies/${draft.id}/replay`, { lastEras: 20 }) : { ok: false, status: 404 })),
  ]);
  show(place,
    !diff ? el('p', { class: 'muted diff' }, 'No version in force: this would be the first.') : diff.ok ? diffView(diff.body) : problemView(diff),
    !preview ? el('p', { class: 'muted preview' }, 'No open era with a universe to preview on.') : preview.ok ? previewView(preview.body) : problemView(preview),
    replay.ok ? replayView(replay.body) : replay.status === 404 ? el('p', { class: 'muted replay' }, 'Replay over past eras: not available on this service.') : problemView(replay));
}

async function queue(section, { me }) {
  const res = await api('GET', '/v1/policies');
  if (!res.ok) return show(section, problemView(res));
  const policies = res.body.policies;
  const inForce = policies.find((p) => p.status === 'active');
  const drafts = policies.filter((p) => p.status === 'draft');
  const scheduled = policies.filter((p) => p.status === 'scheduled');
  const reload = () => queue(section, { me });
  const can = { reject: await hasRoute('POST', '/v1/policies/{id}/reject'), withdraw: await hasRoute('DELETE', '/v1/policies/{id}') };
  show(section,
    el('div', { class: 'card' },
      el('h2', {}, 'Approval queue'),
      el('p', { class: 'muted' }, inForce ? `In force: ${inForce.name} v${inForce.version} from era ${inForce.fromEra ?? '—'}.` : 'No policy in force.',
        scheduled.length ? ` Scheduled: ${scheduled.map((p) => `${p.name} v${p.version} from era ${p.fromEra}`).join(', ')}.` : ''),
      drafts.length ? null : el('p', { class: 'muted empty' }, 'No draft waits for approval.')),
    drafts.map((d) => draftCard(d, inForce, me, reload, can)));
}

function draftCard(draft, inForce, me, reload, can) {
  const details = el('div', { class: 'detail' });
  const result = el('div', { class: 'result' });
  const mine = draft.author?.id === me.id;
  const fromEra = el('input', { type: 'number', min: 0, step: 1, name: 'fromEra', 'aria-label': 'from era (optional)', placeholder: 'from era (optional)' });
  const approve = inlineForm({
    label: 'reason for approving',
    button: 'Approve',
    place: result,
    extra: [fromEra],
    act: async (reason) => {
      const body = { reason };
      if (fromEra.value !== '') body.fromEra = Number(fromEra.value);
      const res = await api('POST', `/v1/policies/${draft.id}/activate`, body);
      outcome(result, res, (a) => el('p', { class: 'ok', role: 'status' }, `${a.name} v${a.version} is ${a.status}, from era ${a.fromEra}.`));
    },
  });
  approve.classList.add('approve');
  const reject = inlineForm({
    label: 'reason for rejecting',
    button: 'Reject',
    place: result,
    act: async (reason) => {
      const res = await api('POST', `/v1/policies/${draft.id}/reject`, { reason });
      outcome(result, res, () => el('p', { class: 'ok', role: 'status' }, 'Rejected.'));
    },
  });
  reject.classList.add('reject');
  const withdraw = !mine ? null : !can.withdraw ? el('span', { class: 'muted not-available' }, 'Withdrawing a draft: not available on this service.')
    : el('button', { type: 'button', class: 'danger', onclick: async () => {
      const res = await api('DELETE', `/v1/policies/${draft.id}`);
      if (res.ok) await reload();
      else show(result, problemView(res));
    } }, 'Withdraw my draft')
  ;
  return el('div', { class: 'card draft', 'data-id': draft.id, 'data-name': draft.name },
    el('h3', {}, `${draft.name} v${draft.version} `, badge('draft')),
    el('p', { class: 'muted' }, `by ${draft.author?.name ?? '—'}, ${fmtTime(draft.createdAt)} — ${draft.description ?? ''}`),
    el('div', { class: 'actions' }, el('button', { type: 'button', class: 'secondary review', onclick: () => review(draft, inForce, details) }, 'Review: diff, preview, replay'), withdraw),
    details,
    mine ? el('p', { class: 'muted' }, 'Another admin approves or rejects your draft.') : [approve, can.reject ? reject : el('p', { class: 'muted not-available' }, 'Rejecting a draft: not available on this service.')],
    result);
}

// ---------------------------------------------------------------------------- changelog and audit log

async function changelog(section) {
  const res = await api('GET', '/v1/policies/changelog');
  if (!res.ok) return show(section, problemView(res));
  show(section, el('div', { class: 'card' }, el('h2', {}, 'Changelog'),
    res.body.entries.length ? el('ul', { class: 'plain' }, res.body.entries.map((e) => el('li', { class: 'entry' },
      el('strong', {}, `${e.name} v${e.version} `), badge(e.status),
      ` from era ${e.fromEra}${e.toEra !== null && e.toEra !== undefined ? ` to ${e.toEra}` : ''} — ${e.reason ?? ''}`,
      el('div', { class: 'muted' }, `+${e.rules.added.length} −${e.rules.removed.length} ~${e.rules.changed.length} rules; ${fmtTime(e.activatedAt)}`)))) : el('p', { class: 'muted empty' }, 'No version has taken force yet.')));
}

async function auditLog(section) {
  const rows = [];
  const list = el('div');
  const more = el('button', { type: 'button', class: 'secondary' }, 'Older entries');
  let cursor = null;
  async function page() {
    const res = await api('GET', `/v1/audit-log?limit=50${cursor ? `&before=${cursor}` : ''}`);
    if (!res.ok) return show(list, problemView(res));
    rows.push(...res.body.entries);
    cursor = res.body.nextCursor ?? null;
    more.hidden = !cursor;
    show(list, table([
      { head: 'When', cell: (e) => fmtTime(e.at) },
      { head: 'Who', cell: (e) => e.actorName ?? '—' },
      { head: 'Key', class: 'hide-narrow', cell: (e) => (e.keyId ? e.keyId.slice(0, 8) : '—') },
      { head: 'Action', cell: (e) => e.action },
      { head: 'Subject', class: 'hide-narrow', cell: (e) => e.subject },
      { head: 'Reason', cell: (e) => e.reason ?? '' },
    ], rows, 'No entry.', { class: 'wide-only', id: 'audit-table' }));
  }
  more.addEventListener('click', () => void page());
  show(section, el('div', { class: 'card' }, el('h2', {}, 'Audit log'), list, more));
  await page();
}

export const adminViews = [
  { id: 'queue', title: 'Approval queue', render: queue },
  { id: 'accounts', title: 'Accounts', render: accounts },
  { id: 'changelog', title: 'Changelog', render: changelog },
  { id: 'audit', title: 'Audit log', render: auditLog },
];
