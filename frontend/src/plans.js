// Site-plan helpers without MapLibre (unit-tested under node).
// Colours by kind (dark palette: plans read as the port's ground, under
// everything that moves or alarms).
export const PLAN_KINDS = {
  land: { color: '#1e2630', label: 'Ground' },
  road: { color: '#6d7b8d', label: 'Road' },
  lane: { color: '#56616f', label: 'Lane' },
  rail: { color: '#8a7a66', label: 'Rail' },
  quay: { color: '#3d4753', label: 'Quay' },
  water: { color: '#12314d', label: 'Water' },
  stack: { color: '#5b4a37', label: 'Container stack' },
  building: { color: '#36414f', label: 'Building' },
  yard: { color: '#24342c', label: 'Yard' },
  bay: { color: '#4c3d63', label: 'Inspection bay' },
  gate: { color: '#5c5f2e', label: 'Gate' },
};
// planFeatures merges every overlay into one FeatureCollection for the
// map; each feature carries overlay (the plan's id) and kind ('' if none).
export function planFeatures(overlays) {
  const features = [];
  for (const o of overlays) {
    for (const f of (o.features && o.features.features) || []) {
      const p = f.properties || {};
      features.push({ type: 'Feature', geometry: f.geometry, properties: { ...p, kind: typeof p.kind === 'string' ? p.kind : '', name: typeof p.name === 'string' ? p.name : '', overlay: o.id } });
    }
  }
  return { type: 'FeatureCollection', features };
}

// formatOf tells GeoJSON from KML by the file name, then by the content.
export function formatOf(name, text) {
  if (/\.kml$/i.test(name)) return 'kml';
  if (/\.(geo)?json$/i.test(name)) return 'geojson';
  return /^\s*(<\?xml|<kml)/.test(text) ? 'kml' : 'geojson';
}

