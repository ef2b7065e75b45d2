// The /reports page: fetches the public report endpoints and draws hand-written SVG charts.
// No build step and no dependency; served same-origin so the default CSP holds.

const SVG = 'http://www.w3.org/2000/svg';
const COLORS = { before: '#7b8794', after: '#0b6bcb' };
const PALETTE = ['#0b6bcb', '#d9480f', '#2b8a3e', '#862e9c', '#c92a2a', '#1098ad', '#e67700', '#5c7cfa'];

/** The 11 GICS sectors (MSCI and S&P, 2023 structure), by two-digit code: a sector given as a GICS code is named. */
const GICS_SECTORS = new Map([
  ['10', 'Energy'],
  ['15', 'Materials'],
  ['20', 'Industrials'],
  ['25', 'Consumer Discretionary'],
  ['30', 'Consumer Staples'],
  ['35', 'Health Care'],
  ['40', 'Financials'],
  ['45', 'Information Technology'],
  ['50', 'Communication Services'],
  ['55', 'Utilities'],
  ['60', 'Real Estate'],
]);
/** A sector as readers know it: "10 Energy" for a GICS code, the name itself otherwise. */
const sectorName = (sector) => (GICS_SECTORS.has(sector) ? `${sector} ${GICS_SECTORS.get(sector)}` : sector);

const $ = (id) => document.getElementById(id);
/** A record's own value: names from data (`constructor`, `toString`, `__proto__`) are ordinary keys, never inherited members. */
const own = (record, key) => (record != null && Object.hasOwn(record, key) ? record[key] : undefined);

function el(tag, attrs = {}, ...children) {
  const node = tag.startsWith('svg:') ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) node.setAttribute(k, String(v));
  for (const child of children.flat()) if (child !== null && child !== undefined) node.append(child);
  return node;
}
const s = (tag, attrs, ...children) => el(`svg:${tag}`, attrs, ...children);

function fmt(x, digits = 3) {
  if (x === null || x === undefined || Number.isNaN(x)) return '—';
  const text = Number(x).toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
  return text === '-0' ? '0' : text;
}

/** Draw at the container's own width so text keeps its CSS size; wider when the content needs it. */
const chartWidth = (container, needed = 320) => Math.max(needed, Math.round(container.clientWidth || 560));
const pct = (x, digits = 1) => (x === null || x === undefined ? '—' : `${(x * 100).toFixed(digits)} %`);
const signed = (text, x) => (x > 0 ? `+${text}` : text);

async function getJson(url) {
  const res = await fetch(url, { headers: { accept: 'application/json' } });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.json();
}

/** Round tick steps (1, 2, 5 × 10^k) covering [min, max], always including 0 when in range. */
function ticks(min, max, count = 5) {
  if (min === max) {
    const pad = Math.abs(min) || 1;
    min -= pad;
    max += pad;
  }
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((m) => m >= raw);
  const lo = Math.floor(min / step) * step;
  const hi = Math.ceil(max / step) * step;
  const out = [];
  for (let v = lo; v <= hi + step / 2; v += step) out.push(Math.abs(v) < step / 1e6 ? 0 : v);
  return out;
}

function legend(items) {
  return el('div', { class: 'legend' }, items.map(({ name, color }) => {
    const span = el('span', {}, name);
    span.style.setProperty('--swatch', color);
    return span;
  }));
}

function empty(container, text) {
  container.replaceChildren(el('p', { class: 'empty' }, text));
}

/**
 * Vertical grouped bars: one group per category, one bar per series (class "bar", with
 * data-series and data-category), a labelled y axis and a zero line.
 */
function groupedBars(container, { categories, series, yLabel, xLabel, format = (v) => fmt(v), height = 300, label = (c) => c }) {
  const slanted = Math.max(...categories.map((c) => label(c).length));
  const m = { top: 16, right: 16, bottom: 40 + Math.min(90, slanted * 3.4), left: 70 };
  height += m.bottom - 52;
  const width = chartWidth(container, categories.length * (series.length * 14 + 12) + m.left + m.right);
  const values = series.flatMap((sr) => sr.values).filter((v) => v !== null && Number.isFinite(v));
  const yTicks = ticks(Math.min(0, ...values), Math.max(0, ...values));
  const y0 = yTicks[0];
  const y1 = yTicks[yTicks.length - 1];
  const plotH = height - m.top - m.bottom;
  const plotW = width - m.left - m.right;
  const y = (v) => m.top + plotH - ((v - y0) / (y1 - y0)) * plotH;
  const band = plotW / categories.length;
  const barW = Math.min(28, (band * 0.8) / series.length);

  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': `${yLabel} by ${xLabel}` });
  for (const t of yTicks) {
    svg.append(s('line', { class: t === 0 ? 'zero' : 'gridline', x1: m.left, x2: width - m.right, y1: y(t), y2: y(t) }));
    svg.append(s('text', { class: 'tick', x: m.left - 6, y: y(t) + 4, 'text-anchor': 'end' }, format(t)));
  }
  categories.forEach((category, c) => {
    const groupX = m.left + c * band + (band - barW * series.length) / 2;
    series.forEach((sr, k) => {
      const v = sr.values[c];
      const x = groupX + k * barW;
      if (v === null || !Number.isFinite(v)) {
        svg.append(s('text', { class: 'value-label', x: x + barW / 2, y: y(0) - 4, 'text-anchor': 'middle' }, '×'));
        return;
      }
      const top = Math.min(y(v), y(0));
      const bar = s('rect', {
        class: 'bar',
        'data-series': sr.name,
        'data-category': category,
        x: x + 1,
        y: top,
        width: Math.max(1, barW - 2),
        height: Math.max(1, Math.abs(y(v) - y(0))),
        fill: sr.color,
      });
      bar.append(s('title', {}, `${sr.name} · ${label(category)}: ${format(v)}`));
      svg.append(bar);
    });
    const cx = m.left + c * band + band / 2;
    // Labels longer than their band are slanted so neighbours do not overlap.
    const text = label(category);
    if (text.length * 6.5 > band) svg.append(s('text', { class: 'tick category', x: cx, y: height - m.bottom + 12, 'text-anchor': 'end', transform: `rotate(-30 ${cx} ${height - m.bottom + 12})` }, text));
    else svg.append(s('text', { class: 'tick category', x: cx, y: height - m.bottom + 16, 'text-anchor': 'middle' }, text));
  });
  svg.append(s('text', { class: 'axis-label', x: m.left + plotW / 2, y: height - 8, 'text-anchor': 'middle' }, xLabel));
  svg.append(s('text', { class: 'axis-label', transform: `translate(16 ${m.top + plotH / 2}) rotate(-90)`, 'text-anchor': 'middle' }, yLabel));
  container.replaceChildren(svg, legend(series));
}

/** Horizontal bars, one per row (class "bar"), values as shares. */
function horizontalBars(container, { rows, xLabel, format = (v) => pct(v) }) {
  const rowH = 28;
  const longest = Math.max(...rows.map((r) => r.label.length));
  const m = { top: 8, right: 70, bottom: 40, left: Math.min(280, 16 + 7 * longest) };
  const width = chartWidth(container, m.left + m.right + 160);
  const height = m.top + m.bottom + rows.length * rowH;
  const max = Math.max(...rows.map((r) => r.value), 0);
  const xTicks = ticks(0, max > 0 ? max : 0.01, 4);
  const x1 = xTicks[xTicks.length - 1];
  const plotW = width - m.left - m.right;
  const x = (v) => m.left + (v / x1) * plotW;

  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': xLabel });
  for (const t of xTicks) {
    svg.append(s('line', { class: t === 0 ? 'zero' : 'gridline', x1: x(t), x2: x(t), y1: m.top, y2: height - m.bottom }));
    svg.append(s('text', { class: 'tick', x: x(t), y: height - m.bottom + 14, 'text-anchor': 'middle' }, format(t)));
  }
  rows.forEach((row, i) => {
    const top = m.top + i * rowH + 5;
    svg.append(s('text', { class: 'tick', x: m.left - 8, y: top + 13, 'text-anchor': 'end' }, row.label));
    const bar = s('rect', { class: 'bar', 'data-category': row.label, x: m.left, y: top, width: Math.max(1, x(row.value) - m.left), height: rowH - 10, fill: row.color });
    bar.append(s('title', {}, `${row.label}: ${format(row.value)}${row.note ? ` — ${row.note}` : ''}`));
    svg.append(bar);
    svg.append(s('text', { class: 'value-label', x: x(row.value) + 4, y: top + 13 }, format(row.value)));
  });
  svg.append(s('text', { class: 'axis-label', x: m.left + plotW / 2, y: height - 6, 'text-anchor': 'middle' }, xLabel));
  container.replaceChildren(svg);
}

/** Lines over eras (class "series", one per series; a dot per point), with a labelled y axis. */
function lines(container, { eras, series, yLabel, format = (v) => fmt(v), yMin, yMax }) {
  const width = chartWidth(container);
  const height = 280;
  const m = { top: 16, right: 24, bottom: 48, left: 64 };
  const values = series.flatMap((sr) => sr.values).filter((v) => v !== null && Number.isFinite(v));
  if (values.length === 0) return empty(container, 'No data yet.');
  const yTicks = ticks(yMin ?? Math.min(...values), yMax ?? Math.max(...values));
  const y0 = yTicks[0];
  const y1 = yTicks[yTicks.length - 1];
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const x = (i) => m.left + (eras.length === 1 ? plotW / 2 : (i / (eras.length - 1)) * plotW);
  const y = (v) => m.top + plotH - ((v - y0) / (y1 - y0)) * plotH;

  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': `${yLabel} by era` });
  for (const t of yTicks) {
    svg.append(s('line', { class: t === 0 ? 'zero' : 'gridline', x1: m.left, x2: width - m.right, y1: y(t), y2: y(t) }));
    svg.append(s('text', { class: 'tick', x: m.left - 6, y: y(t) + 4, 'text-anchor': 'end' }, format(t)));
  }
  const every = Math.max(1, Math.ceil(eras.length / 12));
  eras.forEach((era, i) => {
    if (i % every === 0 || i === eras.length - 1) svg.append(s('text', { class: 'tick', x: x(i), y: height - m.bottom + 16, 'text-anchor': 'middle' }, String(era)));
  });
  for (const sr of series) {
    const group = s('g', { class: 'series', 'data-series': sr.name });
    const points = sr.values.map((v, i) => (v === null || !Number.isFinite(v) ? null : [x(i), y(v), v, eras[i]]));
    let d = '';
    points.forEach((p, i) => {
      if (p) d += `${d === '' || points[i - 1] === null ? 'M' : 'L'}${p[0].toFixed(1)},${p[1].toFixed(1)}`;
    });
    if (d) group.append(s('path', { d, fill: 'none', stroke: sr.color, 'stroke-width': 2 }));
    for (const p of points) {
      if (!p) continue;
      const dot = s('circle', { class: 'point', cx: p[0], cy: p[1], r: 3.5, fill: sr.color });
      dot.append(s('title', {}, `${sr.name}, era ${p[3]}: ${format(p[2])}`));
      group.append(dot);
    }
    svg.append(group);
  }
  svg.append(s('text', { class: 'axis-label', x: m.left + plotW / 2, y: height - 8, 'text-anchor': 'middle' }, 'era'));
  svg.append(s('text', { class: 'axis-label', transform: `translate(16 ${m.top + plotH / 2}) rotate(-90)`, 'text-anchor': 'middle' }, yLabel));
  container.replaceChildren(svg, legend(series));
}

/** Sector × stake-decile-group table, cells shaded by sign and size; groups hold at least 5 models. */
function decileTable(container, report) {
  if (!report.stakeDeciles) return empty(container, report.stake.models < 5 ? 'Withheld: fewer than 5 staked models, so a decile would describe a handful of models.' : 'This run predates decile attribution.');
  const groups = report.stakeDeciles;
  const label = (g) => (g.decile === g.lastDecile ? `decile ${g.decile}` : `deciles ${g.decile}–${g.lastDecile}`);
  const max = Math.max(1e-12, ...report.sectorTilt.flatMap((t) => (t.byStakeDecile ?? []).map(Math.abs)));
  const head = el('tr', {}, el('th', { class: 'sector' }, 'sector'), groups.map((g) => el('th', { title: `${g.models} models, ${pct(g.stakeShare)} of the stake` }, label(g))), el('th', {}, 'tilt of M'));
  const body = report.sectorTilt.map((t) =>
    el('tr', {},
      el('td', { class: 'sector', 'data-sector': t.sector }, sectorName(t.sector)),
      groups.map((g, k) => {
        const v = t.byStakeDecile[k];
        const cell = el('td', { class: 'contribution' }, fmt(v, 3));
        const alpha = Math.min(1, Math.abs(v) / max) * 0.6;
        cell.style.background = v >= 0 ? `rgba(11, 107, 203, ${alpha})` : `rgba(217, 72, 15, ${alpha})`;
        return cell;
      }),
      el('td', {}, el('strong', {}, fmt(t.unconstrained, 3)))));
  const share = el('tr', {}, el('td', { class: 'sector muted' }, 'stake share (models)'), groups.map((g) => el('td', { class: 'muted' }, `${pct(g.stakeShare)} (${g.models})`)), el('td', {}, ''));
  container.replaceChildren(el('div', { class: 'scroll' }, el('table', { class: 'heat' }, el('thead', {}, head), el('tbody', {}, body, share))));
}

/**
 * One row per attribute and tag, each on its own scale: the universe average (a tick), and for
 * M (grey) and S (blue) the long leg (filled dot) and the short leg (hollow dot) joined by a line.
 */
function exposureChart(container, report) {
  const rows = [];
  for (const kind of ['attributes', 'tags']) {
    const names = new Set([...Object.keys(report.exposures.unconstrained[kind]), ...Object.keys(report.exposures.traded[kind])]);
    for (const name of [...names].sort()) rows.push({ kind, name, label: kind === 'tags' ? `tag: ${name}` : name, m: own(report.exposures.unconstrained[kind], name), s: own(report.exposures.traded[kind], name) });
  }
  if (rows.length === 0) return empty(container, 'The universe has no numeric attribute or tag on at least 5 ids.');
  const width = chartWidth(container, 300);
  const longest = Math.max(...rows.map((r) => r.label.length));
  const labelW = Math.min(Math.round(width * 0.42), 12 + 6.6 * longest);
  const m = { top: 8, right: 16, bottom: 8, left: labelW };
  const rowH = 52;
  const height = m.top + m.bottom + rows.length * rowH;
  const plotW = width - m.left - m.right;
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': 'exposure of the long and short legs to each attribute and tag, against the universe' });
  rows.forEach((row, i) => {
    const top = m.top + i * rowH;
    const values = [row.m, row.s].flatMap((e) => (e ? [e.long, e.short, e.universe] : [])).filter((v) => v !== null && Number.isFinite(v));
    let lo = Math.min(...values);
    let hi = Math.max(...values);
    if (!(hi > lo)) {
      lo -= 0.5;
      hi += 0.5;
    }
    const pad = (hi - lo) * 0.06;
    const x = (v) => m.left + ((v - lo + pad) / (hi - lo + 2 * pad)) * plotW;
    const g = s('g', { class: 'exposure-row', 'data-name': row.label });
    if (i % 2 === 0) g.append(s('rect', { class: 'band', x: 0, y: top, width, height: rowH }));
    const universe = (row.s ?? row.m).universe;
    const fits = Math.max(6, Math.floor((labelW - 12) / 6.6));
    const shown = row.label.length > fits ? `${row.label.slice(0, fits - 1)}…` : row.label;
    const name = s('text', { class: 'tick', x: m.left - 8, y: top + (rowH - 12) / 2 - 2, 'text-anchor': 'end' }, shown);
    name.append(s('title', {}, `${row.label}: each row has its own scale, from ${fmt(lo, 4)} to ${fmt(hi, 4)}`));
    g.append(name);
    g.append(s('text', { class: 'value-label muted-text', x: m.left - 8, y: top + (rowH - 12) / 2 + 11, 'text-anchor': 'end' }, `universe ${fmt(universe, 3)}`));
    // Each row has its own scale: its ends are printed so positions read as numbers.
    const scale = s('g', { class: 'scale' });
    scale.append(s('line', { class: 'gridline', x1: x(lo), x2: x(hi), y1: top + rowH - 12, y2: top + rowH - 12 }));
    for (const [v, anchor] of [[lo, 'start'], [(lo + hi) / 2, 'middle'], [hi, 'end']]) scale.append(s('text', { class: 'tick scale-tick', x: x(v), y: top + rowH - 2, 'text-anchor': anchor }, fmt(v, 3)));
    g.append(scale);
    const tick = s('line', { class: 'universe', x1: x(universe), x2: x(universe), y1: top + 5, y2: top + rowH - 14 });
    tick.append(s('title', {}, `${row.label}: universe average ${fmt(universe, 4)}`));
    g.append(tick);
    for (const [series, e, dy, color] of [['M', row.m, -7, COLORS.before], ['S', row.s, 7, COLORS.after]]) {
      if (!e) continue;
      const y = top + (rowH - 12) / 2 + dy;
      if (e.long !== null && e.short !== null) g.append(s('line', { x1: x(e.short), x2: x(e.long), y1: y, y2: y, stroke: color, 'stroke-width': 2 }));
      for (const [leg, v, fill] of [['long', e.long, color], ['short', e.short, '#fff']]) {
        if (v === null) continue;
        const dot = s('circle', { class: 'leg', 'data-series': `${series} ${leg}`, cx: x(v), cy: y, r: 5, fill, stroke: color, 'stroke-width': 2 });
        dot.append(s('title', {}, `${row.label} · ${series === 'M' ? 'unconstrained M' : 'traded S'} ${leg} leg: ${fmt(v, 4)} (universe ${fmt(universe, 4)}, net ${fmt(e.net, 4)}, coverage ${pct(e.coverage)})`));
        g.append(dot);
      }
    }
    svg.append(g);
  });
  container.replaceChildren(svg, legend([
    { name: 'M: long ● short ○', color: COLORS.before },
    { name: 'S (traded): long ● short ○', color: COLORS.after },
    { name: 'universe average |', color: '#1f2933' },
  ]));
}

function headline(report, point) {
  const ch = point?.change ?? null;
  const item = (label, value, delta, kind) => el('div', {}, el('dt', {}, label), el('dd', { class: kind }, value, delta ? el('span', { class: 'delta' }, delta) : null));
  const d = (x, f) => (ch === null || x === null || x === undefined ? null : `${signed(f(x), x)} vs previous era`);
  const main = report.performanceCost.find((c) => c.main);
  const policy = report.policy === null ? 'none' : `${report.policy.name} v${report.policy.version}${report.policy.mode === 'shadow' ? ' (shadow)' : ''}`;
  $('headline').replaceChildren(
    item('Universe', fmt(report.universeSize, 0), d(ch?.universeSize, (x) => fmt(x, 0))),
    item('Tradable', fmt(report.tradable, 0), d(ch?.tradable, (x) => fmt(x, 0))),
    item('Excluded', pct(report.excluded.share), d(ch?.excludedShare, (x) => `${(x * 100).toFixed(1)} pt`)),
    item('Staked models', fmt(report.stake.models, 0), d(ch?.models, (x) => fmt(x, 0))),
    item('Total at-risk stake', fmt(Number(report.stake.total), 2), null),
    item('Gini of stakes', fmt(report.stake.gini, 3), d(ch?.gini, (x) => fmt(x, 3))),
    item('Effective models', fmt(report.stake.effectiveModels, 1), d(ch?.effectiveModels, (x) => fmt(x, 1))),
    item('Nakamoto (50 %)', fmt(report.stake.nakamoto50, 0), d(ch?.nakamoto50, (x) => fmt(x, 0))),
    item('Policy', policy, null, 'text'),
    item('Spearman correlation of S with M (1: the policy changed no ranks)', fmt(report.policySpearman, 3), d(ch?.policySpearman, (x) => fmt(x, 3))),
    item('Cost of the policy, main target (CORR)', main ? fmt(main.cost, 4) : 'no target yet', null, main ? undefined : 'text'),
  );
}

function drawEra(report, point) {
  $('era-meta').textContent = `closed ${new Date(report.closedAt).toISOString().slice(0, 16).replace('T', ' ')} UTC · run ${report.run.seq}`;
  headline(report, point);

  const traded = report.policy === null ? 'traded S (no policy)' : `traded S (${report.policy.name} v${report.policy.version})`;
  groupedBars($('chart-tilt'), {
    categories: report.sectorTilt.map((t) => t.sector),
    series: [
      { name: 'unconstrained M', color: COLORS.before, values: report.sectorTilt.map((t) => t.unconstrained) },
      { name: traded, color: COLORS.after, values: report.sectorTilt.map((t) => t.traded) },
    ],
    yLabel: 'mean signal (gaussian units)',
    xLabel: 'sector',
    label: sectorName,
  });

  const rules = report.byRule;
  const ACTION_COLORS = { exclude: COLORS.after, observe: '#adb5bd', scale: '#e67700', neutralize: '#2b8a3e', groupCap: '#862e9c' };
  const acted = (r) => (r.action === 'exclude' ? r.excludedShare : r.action === 'observe' ? r.observedShare : r.scaledShare);
  if (rules.length === 0) empty($('chart-rules'), report.policy === null ? 'No policy was in force: nothing excluded.' : 'The policy has no rule.');
  else
    horizontalBars($('chart-rules'), {
      rows: rules.map((r) => ({
        label: r.ruleId,
        value: acted(r),
        color: ACTION_COLORS[r.action],
        note: `${r.action}: ${r.action === 'exclude' ? r.excluded : r.action === 'observe' ? r.observed : r.scaled} ids${r.description ? ` · ${r.description}` : ''}`,
      })),
      xLabel: `share of the universe${report.policy?.mode === 'shadow' ? ' (shadow: if enforced)' : ''}`,
    });
  if (rules.length > 0) {
    const used = [...new Set(rules.map((r) => r.action))];
    $('chart-rules').append(legend(used.map((action) => ({ name: action, color: ACTION_COLORS[action] }))));
  }

  const costs = report.performanceCost;
  const ruleIds = [...new Set(costs.flatMap((c) => c.byRule.map((r) => r.ruleId)))];
  if (costs.length === 0) empty($('chart-cost-rules'), 'No targets yet: the cost appears once they are uploaded.');
  else if (ruleIds.length === 0) empty($('chart-cost-rules'), report.policy === null ? 'No policy was in force: it cost nothing.' : 'Shadow mode: the policy was not applied, so it cost nothing.');
  else
    groupedBars($('chart-cost-rules'), {
      categories: ruleIds,
      series: costs.map((c, k) => ({ name: c.target, color: PALETTE[k % PALETTE.length], values: ruleIds.map((id) => c.byRule.find((r) => r.ruleId === id)?.cost ?? null) })),
      yLabel: 'CORR cost',
      xLabel: 'rule (left out alone)',
      format: (v) => fmt(v, 4),
      height: 260,
    });

  if (costs.length === 0) empty($('chart-corr'), 'No targets yet: CORR appears once they are uploaded.');
  else
    groupedBars($('chart-corr'), {
      categories: costs.map((c) => (c.main ? `${c.target} (main)` : c.target)),
      series: [
        { name: 'M (before the policy)', color: COLORS.before, values: costs.map((c) => c.unconstrained) },
        { name: 'S (traded)', color: COLORS.after, values: costs.map((c) => c.traded) },
      ],
      yLabel: 'CORR',
      xLabel: 'target',
      format: (v) => fmt(v, 3),
      height: 260,
    });

  exposureChart($('chart-exposures'), report);
  decileTable($('chart-deciles'), report);
}

function drawHistory(summary) {
  const points = summary.eras;
  const eras = points.map((p) => p.era);
  // With 10 models or fewer the top 10 hold everything: a line at 1 would say nothing.
  const top10Informs = points.some((p) => p.stake.models > 10);
  lines($('chart-gini'), {
    eras,
    series: [
      { name: 'Gini', color: PALETTE[0], values: points.map((p) => p.stake.gini) },
      ...(top10Informs ? [{ name: 'top-10 share', color: PALETTE[1], values: points.map((p) => p.stake.top10Share) }] : []),
    ],
    yLabel: 'share (0–1)',
    yMin: 0,
    yMax: 1,
    format: (v) => fmt(v, 2),
  });
  if (!top10Informs) $('chart-gini').append(el('p', { class: 'muted note' }, 'Top-10 share not drawn: no era had more than 10 staked models, so the top 10 held all the stake.'));
  lines($('chart-effective'), {
    eras,
    series: [
      { name: 'effective models (1/Σπ²)', color: PALETTE[2], values: points.map((p) => p.stake.effectiveModels) },
      { name: 'Nakamoto 50 %', color: PALETTE[3], values: points.map((p) => p.stake.nakamoto50) },
    ],
    yLabel: 'models',
    yMin: 0,
    format: (v) => fmt(v, 1),
  });
  lines($('chart-excluded'), {
    eras,
    series: [
      { name: 'excluded share', color: PALETTE[1], values: points.map((p) => p.excludedShare) },
      { name: 'Spearman correlation of S with M', color: PALETTE[0], values: points.map((p) => p.policySpearman) },
    ],
    yLabel: 'share / Spearman',
    yMin: 0,
    yMax: 1,
    format: (v) => fmt(v, 2),
  });
  if (summary.targets.length === 0) empty($('chart-cost-history'), 'No targets yet: the cost of the policy appears once they are uploaded.');
  else
    lines($('chart-cost-history'), {
      eras,
      series: summary.targets.map((target, k) => {
        let sum = 0;
        const total = summary.cumulativeCost.find((c) => c.target === target);
        return {
          name: `${target} (Σ ${fmt(total?.cost ?? 0, 4)} over ${total?.eras ?? 0} eras)`,
          color: PALETTE[k % PALETTE.length],
          values: points.map((p) => {
            const c = own(p.performanceCost, target)?.cost;
            if (c === null || c === undefined) return null;
            sum += c;
            return sum;
          }),
        };
      }),
      yLabel: 'cumulated CORR cost',
      format: (v) => fmt(v, 3),
    });
  if (summary.targets.length === 0) empty($('chart-corr-history'), 'No targets yet.');
  else
    lines($('chart-corr-history'), {
      eras,
      series: summary.targets.map((target, k) => ({ name: target, color: PALETTE[k % PALETTE.length], values: points.map((p) => own(p.metaModelCorr, target) ?? null) })),
      yLabel: 'CORR',
      format: (v) => fmt(v, 3),
    });
}

function ruleText(rule) {
  const action = rule.action.type === 'exclude' ? `exclude${rule.action.side && rule.action.side !== 'both' ? ` (${rule.action.side} side)` : ''}` : rule.action.type === 'scale' ? `scale ×${rule.action.multiplier}` : 'observe';
  return el('li', {},
    el('code', {}, rule.id), ` — ${action}`,
    rule.rationale ? el('span', { class: 'rationale' }, ` · ${rule.rationale}`) : null,
    rule.reference ? el('span', { class: 'reference' }, ` (${rule.reference})`) : null);
}

function drawChangelog(log) {
  if (log.entries.length === 0) return;
  $('changelog-section').hidden = false;
  $('changelog').replaceChildren(...[...log.entries].reverse().map((e) => {
    const eras = e.coversNoEra ? 'replaced before any era closed under it' : e.toEra === null ? `from era ${e.fromEra}` : `eras ${e.fromEra}–${e.toEra}`;
    const parts = [];
    if (e.rules.added.length) parts.push(el('div', {}, el('strong', {}, 'Added'), el('ul', {}, e.rules.added.map(ruleText))));
    if (e.rules.removed.length) parts.push(el('div', {}, el('strong', {}, 'Removed'), el('ul', {}, e.rules.removed.map(ruleText))));
    if (e.rules.changed.length) parts.push(el('div', {}, el('strong', {}, 'Changed'), el('ul', {}, e.rules.changed.map((c) => el('li', {}, el('code', {}, c.id), ` (${c.fields.join(', ')})`, c.to.rationale ? el('span', { class: 'rationale' }, ` · ${c.to.rationale}`) : null)))));
    if (e.fields.length && e !== log.entries[0]) parts.push(el('div', { class: 'muted' }, `Also changed: ${e.fields.map((f) => f.field).join(', ')}`));
    return el('li', { class: `entry ${e.status}`, 'data-version': `${e.name} v${e.version}` },
      el('div', { class: 'entry-head' }, el('strong', {}, `${e.name} v${e.version}`), el('span', { class: `badge ${e.status}` }, e.status), el('span', { class: 'muted' }, ` ${eras} · activated ${new Date(e.activatedAt).toISOString().slice(0, 10)}`)),
      el('blockquote', {}, e.reason),
      ...parts);
  }));
}

function predicateText(match) {
  if (match.all) return `all of (${match.all.map(predicateText).join('; ')})`;
  if (match.any) return `any of (${match.any.map(predicateText).join('; ')})`;
  if (match.not) return `not (${predicateText(match.not)})`;
  const value = Array.isArray(match.value) && match.value.length > 12 ? `[${match.value.slice(0, 12).map((v) => JSON.stringify(v)).join(', ')}, … ${match.value.length} values]` : JSON.stringify(match.value);
  return `${match.field} ${match.op} ${value}`;
}

/** Every part of the version in force (and a scheduled one): its rules, neutralisation and group cap. */
function drawPolicy(active) {
  $('policy-section').hidden = false;
  const one = (version, when) => {
    const d = version.document;
    const parts = d.rules.map((rule) => el('li', { class: 'rule', 'data-rule': rule.id },
      el('code', {}, rule.id), ` — ${rule.action.type === 'exclude' ? `exclude${rule.action.side && rule.action.side !== 'both' ? ` (${rule.action.side} side)` : ''}` : rule.action.type === 'scale' ? `scale ×${rule.action.multiplier}` : 'observe'} when ${predicateText(rule.match)}`,
      rule.description ? el('span', {}, ` · ${rule.description}`) : null,
      rule.rationale ? el('span', { class: 'rationale' }, ` · ${rule.rationale}`) : null,
      rule.reference ? el('span', { class: 'reference' }, ` (${rule.reference})`) : null));
    if (d.neutralize) parts.push(el('li', { class: 'rule', 'data-rule': `neutralize:${d.neutralize.by}` }, el('code', {}, `neutralize:${d.neutralize.by}`), ` — the signal is neutralised by ${d.neutralize.by}${d.neutralize.by === 'sector' ? ' (each sector\'s mean pulled towards 0)' : ''}, proportion ${fmt(d.neutralize.proportion ?? 1, 3)}${(d.neutralize.proportion ?? 1) < 1 ? ' (a target, not a hard limit)' : ''}`));
    if (d.groupCap) parts.push(el('li', { class: 'rule', 'data-rule': `groupCap:${d.groupCap.by}` }, el('code', {}, `groupCap:${d.groupCap.by}`), ` — every ${d.groupCap.by}'s mean signal stays within ±${fmt(d.groupCap.maxAbsMean, 4)}`));
    return el('div', { class: 'policy', 'data-version': `${version.name} v${version.version}` },
      el('h3', {}, `${version.name} v${version.version} `, el('span', { class: 'muted' }, when)),
      el('p', { class: 'muted' }, `${d.description ?? ''} Mode: ${d.mode}${d.mode === 'shadow' ? ' (measured, not applied)' : ''}; ids with missing data: ${d.onMissingData === 'exclude' ? 'excluded' : 'kept'}.`),
      el('ul', { class: 'rules' }, parts));
  };
  $('policy').replaceChildren(
    active.document ? one(active, `in force from era ${active.fromEra}`) : el('p', { class: 'muted' }, 'No version is in force yet.'),
    active.upcoming ? one(active.upcoming, `scheduled from era ${active.upcoming.fromEra}`) : null,
  );
}

async function showEra(number, summary) {
  document.body.dataset.state = 'loading';
  const report = await getJson(`/v1/reports/eras/${number}`);
  drawEra(report, summary.eras.find((p) => p.era === number));
  document.body.dataset.era = String(number);
  document.body.dataset.state = 'ready';
}

/**
 * The summary comes a page of eras at a time, newest first; the charts draw every closed era, oldest
 * first, so the page follows `next` to the last page (at most 100 eras a request).
 */
async function allSummaryPages() {
  const eras = [];
  const targets = new Set();
  let page = await getJson('/v1/reports/summary?limit=100');
  const cumulativeCost = page.cumulativeCost;
  for (;;) {
    eras.push(...page.eras);
    for (const target of page.targets) targets.add(target);
    if (page.next === null) break;
    page = await getJson(`/v1/reports/summary?limit=100&cursor=${encodeURIComponent(page.next)}`);
  }
  return { eras: eras.reverse(), targets: [...targets].sort(), cumulativeCost };
}

async function main() {
  const status = $('status');
  try {
    const summary = await allSummaryPages();
    if (summary.eras.length === 0) {
      status.textContent = 'No era has closed yet: reports appear once the first era closes.';
      document.body.dataset.state = 'empty';
      return;
    }
    const select = $('era-select');
    select.replaceChildren(...[...summary.eras].reverse().map((p) => el('option', { value: p.era }, `era ${p.era}`)));
    select.addEventListener('change', () => {
      showEra(Number(select.value), summary).catch(fail);
    });
    $('history-section').hidden = false;
    $('era-section').hidden = false;
    status.hidden = true;
    drawHistory(summary);
    const changelog = await getJson('/v1/policies/changelog');
    drawChangelog(changelog);
    // A version in force or scheduled exists once the changelog has an entry (else /v1/policies/active is a 404).
    if (changelog.entries.length > 0) drawPolicy(await getJson('/v1/policies/active'));
    await showEra(summary.eras[summary.eras.length - 1].era, summary);
  } catch (error) {
    fail(error);
  }
}

function fail(error) {
  const status = $('status');
  status.hidden = false;
  status.className = 'error';
  status.textContent = `Could not load the reports: ${error.message}`;
  document.body.dataset.state = 'error';
}

main();
