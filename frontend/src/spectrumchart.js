// The incident's summed spectrum against the vehicle's recent background
// (GET /api/v1/incidents/{id}/spectrum): counts per second per channel on
// a log scale over a keV axis, background scaled to the same live time,
// each analysed line marked, significant ones labelled.
import { rates } from './analysis.js';

const NS = 'http://www.w3.org/2000/svg';

function s(tag, attrs, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  for (const c of children) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

export function spectrumChart(data, { width = 360, height = 170 } = {}) {
  const pad = { l: 40, r: 8, t: 8, b: 24 };
  const fg = rates(data.foreground), bg = rates(data.background);
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', class: 'spectrum-chart' });
  svg.append(s('title', {}, `Spectrum: ${data.foreground.spectra} spectra (${data.foreground.live_time_s.toFixed(0)} s) against ${data.background.spectra} of background`));
  svg.append(s('rect', { x: pad.l, y: pad.t, width: width - pad.l - pad.r, height: height - pad.t - pad.b, fill: '#10161d', stroke: '#2a3440' }));
  if (!fg.length) {
    svg.append(s('text', { x: width / 2, y: height / 2, 'text-anchor': 'middle', class: 'axis' }, 'no calibrated spectrum'));
    return svg;
  }
  const eMax = Math.min(3000, Math.max(...fg.map((p) => p.e)));
  const eMin = 20;
  const pos = [...fg, ...bg].filter((p) => p.r > 0 && p.e >= eMin && p.e <= eMax).map((p) => p.r);
  const rMax = 10 ** Math.ceil(Math.log10(Math.max(...pos, 1e-3)));
  const rMin = Math.max(10 ** Math.floor(Math.log10(Math.min(...pos, rMax))), rMax / 1e6);
  const X = (e) => pad.l + ((e - eMin) / (eMax - eMin)) * (width - pad.l - pad.r);
  const Y = (r) => height - pad.b - ((Math.log10(Math.max(r, rMin)) - Math.log10(rMin)) / (Math.log10(rMax) - Math.log10(rMin))) * (height - pad.t - pad.b);
  for (let d = Math.log10(rMin); d <= Math.log10(rMax) + 1e-9; d++) {
    const v = 10 ** d;
    svg.append(s('line', { x1: pad.l, x2: width - pad.r, y1: Y(v), y2: Y(v), stroke: '#2a3440' }));
    svg.append(s('text', { x: pad.l - 4, y: Y(v) + 3, 'text-anchor': 'end', class: 'axis' }, v >= 1 ? String(v) : v.toExponential(0)));
  }
  for (const e of [100, 500, 1000, 1500, 2000, 2500, 3000]) {
    if (e < eMin || e > eMax) continue;
    // A label at the right edge ends there instead of being cut in half.
    const atEdge = X(e) + 14 > width;
    svg.append(s('text', { x: X(e), y: height - 10, 'text-anchor': atEdge ? 'end' : 'middle', class: 'axis' }, String(e)));
  }
  svg.append(s('text', { x: width - pad.r, y: height - 1, 'text-anchor': 'end', class: 'axis' }, 'keV'));
  svg.append(s('text', { x: 2, y: pad.t + 8, class: 'axis' }, '/s'));
  const path = (pts) => pts.filter((p) => p.e >= eMin && p.e <= eMax).map((p, i) => `${i ? 'L' : 'M'}${X(p.e).toFixed(1)},${Y(p.r).toFixed(1)}`).join('');
  if (bg.length) svg.append(s('path', { d: path(bg), fill: 'none', stroke: '#8b97a8', 'stroke-width': 1, class: 'spectrum-bg' }));
  svg.append(s('path', { d: path(fg), fill: 'none', stroke: '#ffa31a', 'stroke-width': 1.2, class: 'spectrum-fg' }));
  // Lines of the hinted nuclides, labelled.
  const hinted = new Set((data.hints || []).map((x) => x.nuclide));
  for (const l of data.lines || []) {
    if (!hinted.has(l.nuclide) || l.energy_kev < eMin || l.energy_kev > eMax) continue;
    const x = X(l.energy_kev);
    svg.append(s('line', { x1: x, x2: x, y1: pad.t, y2: height - pad.b, stroke: '#ff36e0', 'stroke-dasharray': '3 3', class: 'spectrum-line' }));
    svg.append(s('text', { x: x + 2, y: pad.t + 10, class: 'axis spectrum-label' }, `${l.nuclide} ${Math.round(l.energy_kev)}`));
  }
  return svg;
}
