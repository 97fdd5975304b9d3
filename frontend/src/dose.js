// The dose-rate colour scale (µSv/h), shared by vehicles, tracks, the
// heatmap, the chart and the legend. Documented in frontend/README.md.
// Class boundaries follow design.md §6: natural background 0.05–0.2,
// notice 0.5, IAEA OIL3 1, OIL2 100, OIL1 1000 µSv/h.

export const NO_READING = '#8b97a8';
export const STALE = '#4a5361';

export const DOSE_CLASSES = [
  { min: 0, max: 0.2, color: '#2ecc71', label: '< 0.2', meaning: 'natural background' },
  { min: 0.2, max: 0.5, color: '#d4e33b', label: '0.2 – 0.5', meaning: 'elevated background' },
  { min: 0.5, max: 1, color: '#ffa31a', label: '0.5 – 1', meaning: 'notice' },
  { min: 1, max: 100, color: '#ff3b3b', label: '1 – 100', meaning: '≥ OIL3' },
  { min: 100, max: 1000, color: '#ff36e0', label: '100 – 1000', meaning: '≥ OIL2 (perimeter)' },
  { min: 1000, max: Infinity, color: '#ffffff', label: '≥ 1000', meaning: '≥ OIL1' },
];

export function doseClass(dose) {
  if (dose === null || dose === undefined || !Number.isFinite(dose) || dose < 0) return null;
  for (let i = DOSE_CLASSES.length - 1; i >= 0; i--) {
    if (dose >= DOSE_CLASSES[i].min) return DOSE_CLASSES[i];
  }
  return DOSE_CLASSES[0];
}

export function doseColor(dose) {
  const c = doseClass(dose);
  return c ? c.color : NO_READING;
}

// doseStep is a MapLibre expression colouring a numeric dose value
// (absent readings are stored as -1 in feature properties).
export function doseStep(valueExpr) {
  const stops = [];
  for (let i = 1; i < DOSE_CLASSES.length; i++) stops.push(DOSE_CLASSES[i].min, DOSE_CLASSES[i].color);
  return ['case', ['<', valueExpr, 0], NO_READING, ['step', valueExpr, DOSE_CLASSES[0].color, ...stops]];
}

export function fmtDose(dose) {
  if (dose === null || dose === undefined || !Number.isFinite(dose)) return '—';
  if (dose >= 100) return dose.toFixed(0);
  if (dose >= 10) return dose.toFixed(1);
  if (dose >= 1) return dose.toFixed(2);
  return dose.toFixed(3);
}
