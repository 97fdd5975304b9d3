// A small SVG chart of dose rate over time, coloured by the dose scale,
// with the notice (0.5) and OIL3 (1 µSv/h) lines when they are in range.
import { doseColor, fmtDose } from './dose.js';

const NS = 'http://www.w3.org/2000/svg';

function s(tag, attrs, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  for (const c of children) if (c) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

function niceMax(v) {
  if (!(v > 0)) return 0.3;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

const hhmm = (t) => new Date(t).toISOString().slice(11, 16);

// doseChart: samples [{time, dose_rate}], window [from, to] in ms.
// band (optional): [t0, t1] shaded, e.g. an alarm episode.
export function doseChart(samples, { from, to, width = 320, height = 120, title = 'Dose rate', band = null } = {}) {
  const pad = { l: 38, r: 8, t: 8, b: 20 };
  const pts = samples
    .filter((x) => x.dose_rate !== null && x.dose_rate !== undefined)
    .map((x) => ({ t: Date.parse(x.time), d: x.dose_rate }))
    .filter((p) => p.t >= from && p.t <= to);
  const max = niceMax(Math.max(0.25, ...pts.map((p) => p.d)) * 1.1);
  const X = (t) => pad.l + ((t - from) / Math.max(1, to - from)) * (width - pad.l - pad.r);
  const Y = (d) => height - pad.b - (d / max) * (height - pad.t - pad.b);
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', class: 'dose-chart' });
  svg.append(s('title', {}, `${title}: ${pts.length} samples, max ${fmtDose(Math.max(0, ...pts.map((p) => p.d)))} µSv/h`));
  svg.append(s('rect', { x: pad.l, y: pad.t, width: width - pad.l - pad.r, height: height - pad.t - pad.b, fill: '#10161d', stroke: '#2a3440' }));
  if (band) {
    const x0 = X(Math.max(from, band[0])), x1 = X(Math.min(to, band[1]));
    svg.append(s('rect', { x: x0, y: pad.t, width: Math.max(2, x1 - x0), height: height - pad.t - pad.b, fill: '#ff3b3b', 'fill-opacity': 0.15 }));
  }
  // y grid: 0, max/2, max
  for (const v of [0, max / 2, max]) {
    svg.append(s('line', { x1: pad.l, x2: width - pad.r, y1: Y(v), y2: Y(v), stroke: '#2a3440' }));
    svg.append(s('text', { x: pad.l - 4, y: Y(v) + 3, 'text-anchor': 'end', class: 'axis' }, fmtDose(v)));
  }
  for (const [v, c] of [[0.5, '#ffa31a'], [1, '#ff3b3b'], [100, '#ff36e0']]) {
    if (v < max) svg.append(s('line', { x1: pad.l, x2: width - pad.r, y1: Y(v), y2: Y(v), stroke: c, 'stroke-dasharray': '4 3', 'stroke-opacity': 0.8 }));
  }
  // x labels: start, middle, end
  for (const t of [from, (from + to) / 2, to]) {
    svg.append(s('text', { x: X(t), y: height - 5, 'text-anchor': t === from ? 'start' : t === to ? 'end' : 'middle', class: 'axis' }, hhmm(t)));
  }
  if (!pts.length) {
    svg.append(s('text', { x: width / 2, y: height / 2, 'text-anchor': 'middle', class: 'axis' }, 'no dose readings'));
    return svg;
  }
  // One segment per sample pair, coloured by the higher end.
  const g = s('g', { 'stroke-width': 2, fill: 'none', 'stroke-linecap': 'round' });
  for (let i = 1; i < pts.length; i++) {
    const a = pts[i - 1], b = pts[i];
    g.append(s('line', { x1: X(a.t), y1: Y(a.d), x2: X(b.t), y2: Y(b.d), stroke: doseColor(Math.max(a.d, b.d)) }));
  }
  if (pts.length === 1) g.append(s('circle', { cx: X(pts[0].t), cy: Y(pts[0].d), r: 3, fill: doseColor(pts[0].d) }));
  svg.append(g);
  return svg;
}
