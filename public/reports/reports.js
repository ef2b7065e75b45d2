// The /reports page: fetches the public report endpoints and draws hand-written SVG charts.
// No build step and no dependency; served same-origin so the default CSP holds.

const SVG = 'http://www.w3.org/2000/svg';
const COLORS = { before: '#7b8794', after: '#0b6bcb' };
const PALETTE = ['#0b6bcb', '#d9480f', '#2b8a3e', '#862e9c', '#c92a2a', '#1098ad', '#e67700', '#5c7cfa'];

const $ = (id) => document.getElementById(id);

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
function groupedBars(container, { categories, series, yLabel, xLabel, format = (v) => fmt(v), height = 300 }) {
  const m = { top: 16, right: 16, bottom: 52, left: 70 };
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
      bar.append(s('title', {}, `${sr.name} · ${category}: ${format(v)}`));
      svg.append(bar);
    });
    svg.append(s('text', { class: 'tick', x: m.left + c * band + band / 2, y: height - m.bottom + 16, 'text-anchor': 'middle' }, category));
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

/** Sector × stake-decile table, cells shaded by sign and size. */
function decileTable(container, report) {
  if (!report.stakeDeciles) return empty(container, 'This run predates decile attribution.');
  const deciles = report.stakeDeciles.filter((d) => d.models > 0);
  const max = Math.max(1e-12, ...report.sectorTilt.flatMap((t) => (t.byStakeDecile ?? []).map(Math.abs)));
  const head = el('tr', {}, el('th', { class: 'sector' }, 'sector'), deciles.map((d) => el('th', { title: `${d.models} models, ${pct(d.stakeShare)} of the stake` }, `decile ${d.decile}`)), el('th', {}, 'tilt of M'));
  const body = report.sectorTilt.map((t) =>
    el('tr', {},
      el('td', { class: 'sector' }, t.sector),
      deciles.map((d) => {
        const v = t.byStakeDecile[d.decile - 1];
        const cell = el('td', { class: 'contribution' }, fmt(v, 3));
        const alpha = Math.min(1, Math.abs(v) / max) * 0.6;
        cell.style.background = v >= 0 ? `rgba(11, 107, 203, ${alpha})` : `rgba(217, 72, 15, ${alpha})`;
        return cell;
      }),
      el('td', {}, el('strong', {}, fmt(t.unconstrained, 3)))));
  const share = el('tr', {}, el('td', { class: 'sector muted' }, 'stake share'), deciles.map((d) => el('td', { class: 'muted' }, pct(d.stakeShare))), el('td', {}, ''));
  container.replaceChildren(el('table', { class: 'heat' }, el('thead', {}, head), el('tbody', {}, body, share)));
}

function headline(report, point) {
  const ch = point?.change ?? null;
  const item = (label, value, delta, kind) => el('div', {}, el('dt', {}, label), el('dd', { class: kind }, value, delta ? el('span', { class: 'delta' }, delta) : null));
  const d = (x, f) => (ch === null || x === null || x === undefined ? null : `${signed(f(x), x)} vs previous era`);
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
    item('Policy cost (Spearman S vs M)', fmt(report.policyCost, 3), d(ch?.policyCost, (x) => fmt(x, 3))),
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
  });

  const rules = report.byRule.filter((r) => r.action !== 'scale');
  if (rules.length === 0) empty($('chart-rules'), report.policy === null ? 'No policy was in force: nothing excluded.' : 'The policy has no exclude or observe rule.');
  else
    horizontalBars($('chart-rules'), {
      rows: rules.map((r) => ({
        label: r.ruleId,
        value: r.action === 'observe' ? r.observedShare : r.excludedShare,
        color: r.action === 'observe' ? '#adb5bd' : COLORS.after,
        note: `${r.action === 'observe' ? 'observed' : 'excluded'} ${r.action === 'observe' ? r.observed : r.excluded} ids${r.description ? ` · ${r.description}` : ''}`,
      })),
      xLabel: `share of the universe (grey: observe only)${report.policy?.mode === 'shadow' ? ' — shadow mode: what enforcing would exclude' : ''}`,
    });

  if (report.metaModelCorr.length === 0) empty($('chart-corr'), 'No targets yet: CORR appears once they are uploaded.');
  else
    groupedBars($('chart-corr'), {
      categories: report.metaModelCorr.map((c) => (c.main ? `${c.target} (main)` : c.target)),
      series: [{ name: 'meta-model CORR', color: COLORS.after, values: report.metaModelCorr.map((c) => c.corr) }],
      yLabel: 'CORR',
      xLabel: 'target',
      format: (v) => fmt(v, 3),
      height: 260,
    });

  decileTable($('chart-deciles'), report);
}

function drawHistory(summary) {
  const points = summary.eras;
  const eras = points.map((p) => p.era);
  lines($('chart-gini'), {
    eras,
    series: [
      { name: 'Gini', color: PALETTE[0], values: points.map((p) => p.stake.gini) },
      { name: 'top-10 share', color: PALETTE[1], values: points.map((p) => p.stake.top10Share) },
    ],
    yLabel: 'share (0–1)',
    yMin: 0,
    yMax: 1,
    format: (v) => fmt(v, 2),
  });
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
      { name: 'policy cost (Spearman S vs M)', color: PALETTE[0], values: points.map((p) => p.policyCost) },
    ],
    yLabel: 'share / correlation',
    yMin: 0,
    yMax: 1,
    format: (v) => fmt(v, 2),
  });
  if (summary.targets.length === 0) empty($('chart-corr-history'), 'No targets yet.');
  else
    lines($('chart-corr-history'), {
      eras,
      series: summary.targets.map((target, k) => ({ name: target, color: PALETTE[k % PALETTE.length], values: points.map((p) => p.metaModelCorr[target] ?? null) })),
      yLabel: 'CORR',
      format: (v) => fmt(v, 3),
    });
}

async function showEra(number, summary) {
  document.body.dataset.state = 'loading';
  const report = await getJson(`/v1/reports/eras/${number}`);
  drawEra(report, summary.eras.find((p) => p.era === number));
  document.body.dataset.era = String(number);
  document.body.dataset.state = 'ready';
}

async function main() {
  const status = $('status');
  try {
    const summary = await getJson('/v1/reports/summary');
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
