// Pure helpers of the incident analysis (no DOM, no map): the spectrum's
// energy axis and rates, the source answer as GeoJSON and as a sentence.

import { fmtNum } from './ui/dom.js';

// energyOf is the calibration polynomial E(ch) = Σ cᵢ·chⁱ at a channel's
// centre; null without a calibration.
export function energyOf(cal, ch) {
  if (!cal || !cal.length) return null;
  let e = 0;
  for (let i = cal.length - 1; i >= 0; i--) e = e * (ch + 0.5) + cal[i];
  return e;
}

// rates turns a summed spectrum into [{e, r}] counts per second per channel
// (channels with a positive energy only).
export function rates(sp) {
  const live = sp && sp.live_time_s > 0 ? sp.live_time_s : 0;
  if (!sp || !live || !sp.counts || !sp.counts.length) return [];
  const out = [];
  for (let ch = 0; ch < sp.counts.length; ch++) {
    const e = energyOf(sp.calibration, ch);
    if (e === null || !(e > 0)) continue;
    out.push({ e, r: sp.counts[ch] / live });
  }
  return out;
}

const CATEGORY_TEXT = { medical: 'innocent – medical', norm: 'innocent – NORM', industrial: 'look closer' };
export const hintText = (hint) => `${hint.nuclide} (${CATEGORY_TEXT[hint.category] || hint.category}, ${hint.significance.toFixed(1)} σ)`;

// sourceFeatures is the GeoJSON of a source answer: the passes fitted,
// the best estimate's ellipse and point, the mirror alternatives'.
export function sourceFeatures(src) {
  const f = [];
  for (const p of src.passes || []) {
    if (p.path && p.path.length > 1) f.push({ type: 'Feature', properties: { role: 'pass', device_id: p.device_id }, geometry: { type: 'LineString', coordinates: p.path } });
  }
  const add = (m, role) => {
    if (m.ellipse_ring) f.push({ type: 'Feature', properties: { role }, geometry: { type: 'Polygon', coordinates: [m.ellipse_ring] } });
    f.push({ type: 'Feature', properties: { role }, geometry: { type: 'Point', coordinates: [m.lon, m.lat] } });
  };
  add(src, 'best');
  for (const a of src.alternatives || []) add(a, 'alternative');
  return { type: 'FeatureCollection', features: f };
}

export function sourceText(src) {
  if (!src.significant) return `No significant source in ${src.readings} readings (TS ${fmtNum(src.ts, 0)}).`;
  const e = src.ellipse;
  const size = e ? `95 % ellipse ${fmtNum(e.semi_major_m, 0)} × ${fmtNum(e.semi_minor_m, 0)} m`
    : src.region_unbounded ? 'position not bounded: the 95 % region takes in every place' : 'no ellipse';
  const passes = `${src.passes.length} pass${src.passes.length === 1 ? '' : 'es'}, ${src.vehicles} vehicle${src.vehicles === 1 ? '' : 's'}`;
  const amb = src.ambiguous ? ' · one side of the road cannot be told from the other: the mirror estimate is dashed' : '';
  const act = src.cs137_equivalent_mbq > 0 ? ` · ≈ ${fmtActivity(src.cs137_equivalent_mbq)} Cs-137 unshielded` : '';
  return `Source ${src.lat.toFixed(5)}, ${src.lon.toFixed(5)} · ${size} · ${passes}${act}${amb}`;
}

function fmtActivity(mbq) {
  if (!(mbq > 0)) return '—';
  if (mbq >= 1e6) return `${fmtNum(mbq / 1e6, 1)} TBq`;
  if (mbq >= 1e3) return `${fmtNum(mbq / 1e3, 1)} GBq`;
  return `${fmtNum(mbq, 1)} MBq`;
}

