// Small helpers shared by every view: elements built with text only, the API client, tables and charts.

const SVG = 'http://www.w3.org/2000/svg';
export const KEY_STORAGE = 'stakeweight.key';

/** An element with attributes and children; strings become text nodes, never HTML. */
export function el(tag, attrs = {}, ...children) {
  const node = tag.startsWith('svg:') ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const child of children.flat(Infinity)) if (child !== null && child !== undefined && child !== false) node.append(child instanceof Node ? child : String(child));
  return node;
}

export const fmtTime = (iso) => (iso ? new Date(iso).toISOString().replace('T', ' ').slice(0, 16) + ' UTC' : '—');
export function fmtNum(x, digits = 4) {
  if (x === null || x === undefined || Number.isNaN(Number(x))) return '—';
  return Number(x).toLocaleString('en-US', { maximumFractionDigits: digits });
}
/** Time until `iso`, in words: "3 h 12 min", or "passed". */
export function closesIn(iso, now = Date.now()) {
  const ms = new Date(iso).getTime() - now;
  if (ms <= 0) return 'passed';
  const min = Math.round(ms / 60000);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  return h < 48 ? `${h} h ${min % 60} min` : `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** One API call with the session's key. Resolves to {ok, status, body}; a refusal's problem+json is the body. */
export async function api(method, path, body, type) {
  const headers = { accept: 'application/json' };
  const key = sessionStorage.getItem(KEY_STORAGE);
  if (key) headers.authorization = `Bearer ${key}`;
  let payload;
  if (body !== undefined) {
    headers['content-type'] = type ?? 'application/json';
    payload = typeof body === 'string' ? body : JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, { method, headers, body: payload });
  } catch {
    return { ok: false, status: 0, body: { title: 'Network error', detail: 'The service did not answer; check the connection and try again.' } };
  }
  const text = await res.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = { detail: text.slice(0, 300) };
  }
  return { ok: res.ok, status: res.status, body: parsed };
}

/** A refusal shown in place: its detail and every listed problem (path, line, ids). */
export function problemView(result) {
  const body = result.body ?? {};
  const items = Array.isArray(body.errors) ? body.errors : [];
  return el(
    'div',
    { class: 'problems', role: 'alert', 'data-status': result.status },
    el('strong', {}, `${body.title ?? 'Refused'} (${result.status}): `),
    body.detail ?? '',
    items.length
      ? el('ul', {}, items.map((p) => el('li', {}, [p.path, p.column].filter(Boolean).join(' ') ? `${[p.path, p.column].filter(Boolean).join(' ')}: ` : '', p.message ?? '', p.lines?.length ? ` (line ${p.lines.slice(0, 10).join(', ')})` : '', p.ids?.length ? ` — ids: ${p.ids.slice(0, 10).join(', ')}` : '')))
      : null,
  );
}

/** Replaces a container's content. */
export function show(container, ...children) {
  container.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return container;
}

/** Shows the result of an action in `place`: the problem on refusal, or `success(body)`'s content. */
export function outcome(place, result, success) {
  if (!result.ok) return show(place, problemView(result));
  const made = success ? success(result.body) : null;
  return show(place, made ?? el('p', { class: 'ok', role: 'status' }, 'Done.'));
}

/** A table: columns [{head, cell(row) → node|string, num?}] and rows; an empty list says so. */
export function table(columns, rows, empty = 'Nothing yet.', attrs = {}) {
  if (!rows.length) return el('p', { class: 'muted empty' }, empty);
  return el(
    'div',
    { class: 'scroll' },
    el(
      'table',
      attrs,
      el('thead', {}, el('tr', {}, columns.map((c) => el('th', { class: c.num ? 'num' : c.class, scope: 'col' }, c.head)))),
      el('tbody', {}, rows.map((row) => el('tr', { 'data-id': row.id ?? row.number ?? row.era ?? null }, columns.map((c) => el('td', { class: c.num ? 'num' : c.class }, c.cell(row) ?? '—'))))),
    ),
  );
}

/** A labelled form control. */
export const field = (label, control) => el('label', {}, label, control);

/** A file input's content as text, or null when none is picked. */
export async function fileText(input) {
  const file = input.files?.[0];
  return file ? file.text() : null;
}

/** Round ticks over [min, max]. */
function ticks(min, max, count = 4) {
  if (min === max) {
    const pad = Math.abs(min) || 1;
    min -= pad;
    max += pad;
  }
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((m) => m >= raw);
  const out = [];
  for (let v = Math.floor(min / step) * step; v <= Math.ceil(max / step) * step + step / 2; v += step) out.push(Math.abs(v) < step / 1e6 ? 0 : v);
  return out;
}

const PALETTE = ['#0b6bcb', '#d9480f', '#2b8a3e', '#862e9c'];

/**
 * A line chart of numeric series over eras, with numeric axes; `series`: [{name, points: [{x, y}]}].
 * Drawn at the container's width; the caller puts the same figures in a table beside it.
 */
export function lineChart(container, series, { xLabel = 'era', yLabel = '' } = {}) {
  const points = series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.y));
  if (!points.length) return show(container, el('p', { class: 'muted empty' }, 'No figures to draw yet.'));
  const width = Math.max(300, Math.round(container.clientWidth || 560));
  const height = 200;
  const m = { l: 48, r: 12, t: 12, b: 34 };
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  const yt = ticks(Math.min(0, ...ys), Math.max(0, ...ys));
  const [y0, y1] = [yt[0], yt[yt.length - 1]];
  const [x0, x1] = [Math.min(...xs), Math.max(...xs) === Math.min(...xs) ? Math.min(...xs) + 1 : Math.max(...xs)];
  const X = (x) => m.l + ((x - x0) / (x1 - x0)) * (width - m.l - m.r);
  const Y = (y) => m.t + (1 - (y - y0) / (y1 - y0)) * (height - m.t - m.b);
  const xt = [...new Set(xs)].sort((a, b) => a - b);
  const every = Math.ceil(xt.length / 8);
  const svg = el(
    'svg:svg',
    { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': `${series.map((s) => s.name).join(', ')} by ${xLabel}` },
    yt.map((v) => [el('svg:line', { class: 'zero', x1: m.l, x2: width - m.r, y1: Y(v), y2: Y(v) }), el('svg:text', { class: 'axis', x: m.l - 4, y: Y(v) + 4, 'text-anchor': 'end' }, fmtNum(v, 3))]),
    xt.filter((_, i) => i % every === 0).map((v) => el('svg:text', { class: 'axis', x: X(v), y: height - m.b + 14, 'text-anchor': 'middle' }, String(v))),
    el('svg:text', { class: 'label', x: (m.l + width - m.r) / 2, y: height - 4, 'text-anchor': 'middle' }, xLabel),
    yLabel ? el('svg:text', { class: 'label', x: 4, y: 10 }, yLabel) : null,
    series.map((s, i) => {
      const pts = s.points.filter((p) => Number.isFinite(p.y));
      const color = PALETTE[i % PALETTE.length];
      return el(
        'svg:g',
        { class: 'series', 'data-series': s.name },
        el('svg:polyline', { class: 'line', stroke: color, points: pts.map((p) => `${X(p.x)},${Y(p.y)}`).join(' ') }),
        pts.map((p) => el('svg:circle', { class: 'point', cx: X(p.x), cy: Y(p.y), r: 3, fill: color }, el('svg:title', {}, `${s.name}, ${xLabel} ${p.x}: ${fmtNum(p.y)}`))),
      );
    }),
  );
  const legend = el('p', { class: 'muted legend' }, series.map((s, i) => `${i ? ' · ' : ''}${['blue', 'orange', 'green', 'purple'][i % 4]}: ${s.name}`));
  return show(container, svg, legend);
}

let documented = null;
/**
 * Whether the service documents a route (and a query parameter of it) in its OpenAPI document.
 * The console asks before calling routes a service may not have yet: an unknown `?dryRun=true`
 * would otherwise be ignored and the era resolved for real.
 */
export async function hasRoute(method, path, query) {
  documented ??= fetch('/docs/json', { headers: { accept: 'application/json' } }).then((r) => (r.ok ? r.json() : { paths: {} })).catch(() => ({ paths: {} }));
  const operation = (await documented).paths?.[path]?.[method.toLowerCase()];
  if (!operation) return false;
  return query ? (operation.parameters ?? []).some((p) => p.in === 'query' && p.name === query) : true;
}
