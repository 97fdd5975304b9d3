// Geometry helpers on a sphere for display (fences, heatmap cells); no
// MapLibre here, so they are unit-tested under node.
const R = 6371008.8;
const rad = (d) => (d * Math.PI) / 180;
const deg = (r) => (r * 180) / Math.PI;

export function distanceM([lon1, lat1], [lon2, lat2]) {
  const dLat = rad(lat2 - lat1);
  const dLon = rad(lon2 - lon1);
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(rad(lat1)) * Math.cos(rad(lat2)) * Math.sin(dLon / 2) ** 2;
  return 2 * R * Math.asin(Math.min(1, Math.sqrt(a)));
}

export function destination([lon, lat], bearingDeg, distM) {
  const d = distM / R;
  const b = rad(bearingDeg);
  const p1 = rad(lat);
  const p2 = Math.asin(Math.sin(p1) * Math.cos(d) + Math.cos(p1) * Math.sin(d) * Math.cos(b));
  const l2 = rad(lon) + Math.atan2(Math.sin(b) * Math.sin(d) * Math.cos(p1), Math.cos(d) - Math.sin(p1) * Math.sin(p2));
  return [((deg(l2) + 540) % 360) - 180, deg(p2)];
}

// circlePolygon approximates a circle for display.
export function circlePolygon(center, radiusM, steps = 96) {
  const ring = [];
  for (let i = 0; i < steps; i++) ring.push(destination(center, (360 * i) / steps, radiusM));
  ring.push(ring[0]);
  return { type: 'Polygon', coordinates: [ring] };
}

// Corridors are drawn as lines whose width stays a width in metres at
// every zoom: a feature carries w0, its full width in pixels at zoom 0 at
// its own latitude, and the expression doubles it per zoom level.
export function widthAtZoom0(halfWidthM, latDeg) {
  const mpp0 = (40075016.686 * Math.cos(rad(latDeg))) / 512; // metres per pixel at zoom 0
  return (2 * halfWidthM) / mpp0;
}
export const zoomWidthExpr = (prop) =>
  ['interpolate', ['exponential', 2], ['zoom'], 0, ['get', prop], 24, ['*', ['get', prop], 2 ** 24]];

export function boundsOf(coords) {
  let w = Infinity, s = Infinity, e = -Infinity, n = -Infinity;
  const walk = (c) => {
    if (typeof c[0] === 'number') {
      w = Math.min(w, c[0]); e = Math.max(e, c[0]);
      s = Math.min(s, c[1]); n = Math.max(n, c[1]);
    } else c.forEach(walk);
  };
  walk(coords);
  return [[w, s], [e, n]];
}

// cellPolygon: the square heatmap cell of side cellM around its centre.
export function cellPolygon(lon, lat, cellM) {
  const dLat = cellM / 111_320 / 2;
  const dLon = cellM / (111_320 * Math.max(0.01, Math.cos((lat * Math.PI) / 180))) / 2;
  return { type: 'Polygon', coordinates: [[[lon - dLon, lat - dLat], [lon + dLon, lat - dLat], [lon + dLon, lat + dLat], [lon - dLon, lat + dLat], [lon - dLon, lat - dLat]]] };
}


// cellRect: the heatmap cell of dLon × dLat degrees around its centre (the
// server's cells are whole cells of its grid, sized in degrees).
export function cellRect(lon, lat, dLon, dLat) {
  const x = dLon / 2, y = dLat / 2;
  return { type: 'Polygon', coordinates: [[[lon - x, lat - y], [lon + x, lat - y], [lon + x, lat + y], [lon - x, lat + y], [lon - x, lat - y]]] };
}

// positionAt interpolates a track [{t, lon, lat, dose}] (sorted by t) at
// time t; null before its first sample, the last sample after its end.
export function positionAt(pts, t) {
  if (!pts.length || t < pts[0].t) return null;
  let lo = 0, hi = pts.length - 1;
  if (t >= pts[hi].t) return pts[hi];
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (pts[mid].t <= t) lo = mid; else hi = mid;
  }
  const a = pts[lo], b = pts[hi];
  const f = (t - a.t) / Math.max(1, b.t - a.t);
  return { t, lon: a.lon + (b.lon - a.lon) * f, lat: a.lat + (b.lat - a.lat) * f, dose: a.dose };
}
