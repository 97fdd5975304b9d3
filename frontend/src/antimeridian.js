// Antimeridian fix for the offline basemap.
//
// world-atlas is made for d3-geo, which draws on the sphere: its polygons
// and lines cross the antimeridian freely (Russia's Chukotka, Fiji,
// Antarctica around the south pole), so a ring steps from +179.9° to
// -180°. MapLibre draws in the plane and takes such a step literally, as
// an edge across the whole world: the horizontal bands at world zoom.
//
// splitGeometry cuts those rings and lines at ±180° into pieces that each
// stay within [-180, 180], closing cut rings along the map edge (and, for a
// ring that goes round a pole, along the pole), so that no edge spans more
// than 180° of longitude. It runs once when the basemap loads; rings that
// do not cross (nearly all of them) are returned as they are, untouched.
//
// Rings follow d3's (and the shapefile's) winding: the inside of an outer
// ring is on the right of its direction of travel, of a hole on the left.
// That is only needed to tell which pole a ring round the globe encloses;
// MapLibre itself rewinds rings and does not care.
//
// Pure module (no DOM), unit-tested in test/unit/antimeridian.test.js.
import { feature, mesh } from 'topojson-client';

// crosses tells whether a ring or line steps across the antimeridian.
function crosses(coords) {
  for (let i = 1; i < coords.length; i++) {
    if (Math.abs(coords[i][0] - coords[i - 1][0]) > 180) return true;
  }
  return false;
}

// splitLine cuts a line where it crosses the antimeridian; it returns a
// list of lines (the input itself when it does not cross). For a closed
// ring (closed = true) the last piece is joined to the first, so an
// outline is not broken where it started.
export function splitLine(coords, closed = false) {
  if (!crosses(coords)) return [coords];
  const lines = [];
  let cur = [coords[0]];
  for (let i = 1; i < coords.length; i++) {
    const a = coords[i - 1];
    const b = coords[i];
    const dx = b[0] - a[0];
    if (Math.abs(dx) <= 180) {
      cur.push(b);
      continue;
    }
    // Eastward over +180 (a near +180, b near -180) or westward over -180.
    const edge = dx < 0 ? 180 : -180;
    const bx = dx < 0 ? b[0] + 360 : b[0] - 360; // b, continuous with a
    const t = bx === a[0] ? 0 : (edge - a[0]) / (bx - a[0]);
    const y = a[1] + t * (b[1] - a[1]);
    if (a[0] !== edge || a[1] !== y) cur.push([edge, y]);
    if (cur.length >= 2) lines.push(cur);
    cur = [[-edge, y]];
    if (b[0] !== -edge || b[1] !== y) cur.push(b);
  }
  if (cur.length >= 2) lines.push(cur);
  if (closed && lines.length > 1) {
    const first = lines[0];
    const last = lines[lines.length - 1];
    const p = last[last.length - 1];
    if (p[0] === first[0][0] && p[1] === first[0][1]) {
      lines[0] = last.concat(first.slice(1));
      lines.pop();
    }
  }
  return lines;
}

function signedArea(ring) {
  let s = 0;
  for (let i = 1; i < ring.length; i++) {
    s += ring[i - 1][0] * ring[i][1] - ring[i][0] * ring[i - 1][1];
  }
  return s / 2;
}

// unwrap shifts longitudes by multiples of 360° so that no step exceeds
// 180°; wrap is how far the ring goes round the globe (0 or ±360).
function unwrap(ring) {
  const pts = [[ring[0][0], ring[0][1]]];
  let off = 0;
  for (let i = 1; i < ring.length; i++) {
    const dx = ring[i][0] - ring[i - 1][0];
    if (dx > 180) off -= 360;
    else if (dx < -180) off += 360;
    pts.push([ring[i][0] + off, ring[i][1]]);
  }
  return { pts, wrap: off };
}

// closeOverPole turns an unwrapped ring that goes once round the globe
// (pts[n] = pts[0] shifted by wrap) into a plain polygon: the ring, then
// down to the pole it encloses, along the pole and back up. It starts at
// the ring's vertex nearest that pole, so the way down crosses nothing.
function closeOverPole(pts, wrap, isHole) {
  // Inside is right of travel for an outer ring: eastward, that is south.
  const south = (wrap > 0) !== isHole;
  const poleY = south ? -90 : 90;
  const n = pts.length - 1;
  let s = 0;
  for (let i = 1; i < n; i++) {
    if (south ? pts[i][1] < pts[s][1] : pts[i][1] > pts[s][1]) s = i;
  }
  const ring = pts.slice(s, n);
  for (let i = 0; i <= s; i++) ring.push([pts[i][0] + wrap, pts[i][1]]);
  const a = ring[0];
  const b = ring[ring.length - 1];
  // Along the pole in steps of at most 90°, so no edge spans over 180°.
  const steps = Math.ceil(Math.abs(b[0] - a[0]) / 90);
  for (let i = 0; i <= steps; i++) ring.push([b[0] + ((a[0] - b[0]) * i) / steps, poleY]);
  ring.push([a[0], a[1]]);
  return ring;
}

// splitRing cuts a closed, simple ring (plane coordinates) by the vertical
// line x = L and returns [rings left of it, rings right of it], each closed
// along the line. The ring's crossings, sorted along the line, pair up into
// the stretches of the line inside the polygon: a piece leaving its side at
// one crossing comes back along the line at that crossing's partner.
// Vertices exactly on the line count as being on the side the ring came
// from, as if nudged off the line by an infinitesimal amount.
export function splitRing(ring, L) {
  const n = ring.length - 1;
  const side = (p) => (p[0] < L ? 0 : p[0] > L ? 1 : -1);
  let s = -1;
  for (let i = 0; i < n; i++) {
    if (side(ring[i]) !== -1) { s = i; break; }
  }
  if (s < 0) return [[], []]; // the whole ring lies on the line
  const chains = []; // {side, pts, start, end}: start/end are crossing ids
  const ys = []; // crossing id → its y on the line
  let cur = side(ring[s]);
  let pts = [ring[s]];
  let start = -1;
  for (let k = 1; k <= n; k++) {
    const a = ring[(s + k - 1) % n];
    const b = ring[(s + k) % n];
    const sb = side(b);
    if (sb === -1 || sb === cur) {
      pts.push(b);
      continue;
    }
    let c = a; // a is on the line: the crossing is there (already in pts)
    if (side(a) !== -1) {
      c = [L, a[1] + ((b[1] - a[1]) * (L - a[0])) / (b[0] - a[0])];
      pts.push(c);
    }
    const id = ys.length;
    ys.push(c[1]);
    chains.push({ side: cur, pts, start, end: id });
    start = id;
    cur = sb;
    pts = [c, b];
  }
  if (chains.length === 0) return cur === 0 ? [[ring], []] : [[], [ring]];
  // The walk began mid-chain: the tail and the head are one chain.
  chains[0].pts = pts.concat(chains[0].pts.slice(1));
  chains[0].start = start;

  const partner = new Array(ys.length);
  const order = ys.map((_, i) => i).sort((i, j) => ys[i] - ys[j] || i - j);
  for (let i = 0; i + 1 < order.length; i += 2) {
    partner[order[i]] = order[i + 1];
    partner[order[i + 1]] = order[i];
  }
  const byStart = new Map(chains.map((ch) => [ch.start, ch]));
  const out = [[], []];
  const used = new Set();
  for (const first of chains) {
    if (used.has(first)) continue;
    const piece = [];
    for (let ch = first; ch && !used.has(ch);) {
      used.add(ch);
      for (const p of ch.pts) piece.push(p);
      const next = byStart.get(partner[ch.end]);
      // A ring that is not simple may not pair up: close what we have.
      ch = next && next.side === first.side ? next : null;
    }
    piece.push(piece[0]);
    if (piece.length >= 4 && signedArea(piece) !== 0) out[first.side].push(piece);
  }
  return out;
}

// ringPieces returns the pieces of a ring, each within [-180, 180].
function ringPieces(ring, isHole) {
  if (!crosses(ring)) return [ring];
  const u = unwrap(ring);
  let plane = u.pts;
  if (u.wrap !== 0) plane = closeOverPole(u.pts, u.wrap, isHole);
  else plane[plane.length - 1] = plane[0]; // exactly closed
  let xmin = Infinity;
  let xmax = -Infinity;
  for (const p of plane) {
    if (p[0] < xmin) xmin = p[0];
    if (p[0] > xmax) xmax = p[0];
  }
  // Cut at every x = 180 + 360j inside the ring, west to east.
  const done = [];
  let rest = [plane];
  for (let j = Math.ceil((xmin - 180) / 360); 180 + 360 * j < xmax; j++) {
    const L = 180 + 360 * j;
    if (L <= xmin) continue;
    const next = [];
    for (const r of rest) {
      const [left, right] = splitRing(r, L);
      done.push(...left);
      next.push(...right);
    }
    rest = next;
  }
  done.push(...rest);
  // Move each piece back by whole turns into [-180, 180].
  return done.map((r) => {
    let rxmax = -Infinity;
    for (const p of r) if (p[0] > rxmax) rxmax = p[0];
    const shift = 360 * Math.ceil((rxmax - 180) / 360);
    return r.map(([x, y]) => [Math.min(180, Math.max(-180, x - shift)), y]);
  });
}

function insideRing(pt, ring) {
  const [x, y] = pt;
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

// splitPolygon cuts a polygon (outer ring, then holes) at the antimeridian
// and returns a list of polygons; [rings] itself when nothing crosses.
export function splitPolygon(rings) {
  if (!rings.some(crosses)) return [rings];
  const polys = ringPieces(rings[0], false).map((r) => [r]);
  for (let i = 1; i < rings.length; i++) {
    for (const hole of ringPieces(rings[i], true)) {
      // Which outer piece holds it: test a vertex off the map's edges.
      const probe = hole.find((p) => Math.abs(p[0]) < 180 && Math.abs(p[1]) < 90);
      const poly = probe && polys.find((pl) => insideRing(probe, pl[0]));
      if (poly) poly.push(hole);
    }
  }
  return polys;
}

// splitGeometry returns a GeoJSON geometry whose rings and lines do not
// cross the antimeridian (Polygon → MultiPolygon, LineString →
// MultiLineString where they did); the geometry itself if none did.
export function splitGeometry(g) {
  if (!g) return g;
  switch (g.type) {
    case 'Polygon': {
      const polys = splitPolygon(g.coordinates);
      if (polys.length === 1 && polys[0] === g.coordinates) return g;
      return polys.length === 1 ? { type: 'Polygon', coordinates: polys[0] } : { type: 'MultiPolygon', coordinates: polys };
    }
    case 'MultiPolygon': {
      if (!g.coordinates.some((rings) => rings.some(crosses))) return g;
      return { type: 'MultiPolygon', coordinates: g.coordinates.flatMap(splitPolygon) };
    }
    case 'LineString': {
      if (!crosses(g.coordinates)) return g;
      return { type: 'MultiLineString', coordinates: splitLine(g.coordinates) };
    }
    case 'MultiLineString': {
      if (!g.coordinates.some(crosses)) return g;
      return { type: 'MultiLineString', coordinates: g.coordinates.flatMap((l) => splitLine(l)) };
    }
    case 'GeometryCollection':
      return { ...g, geometries: g.geometries.map(splitGeometry) };
    default:
      return g;
  }
}

// outlines returns a polygon geometry's rings as a MultiLineString cut at
// the antimeridian: coastlines without the cut edges along ±180° and the
// poles that splitGeometry adds to close the fills.
export function outlines(g) {
  const polys = !g ? [] : g.type === 'Polygon' ? [g.coordinates] : g.type === 'MultiPolygon' ? g.coordinates : [];
  const lines = [];
  for (const rings of polys) for (const ring of rings) lines.push(...splitLine(ring, true));
  return { type: 'MultiLineString', coordinates: lines };
}

// basemapData builds the basemap's GeoJSON from the world-atlas topology:
// land fills, coastlines and the borders between countries.
export function basemapData(topo) {
  const land = feature(topo, topo.objects.land);
  const landFeatures = land.type === 'FeatureCollection' ? land.features : [land];
  const coast = landFeatures.flatMap((f) => outlines(f.geometry).coordinates);
  return {
    land: {
      type: 'FeatureCollection',
      features: landFeatures.map((f) => ({ ...f, geometry: splitGeometry(f.geometry) })),
    },
    coast: { type: 'Feature', properties: {}, geometry: { type: 'MultiLineString', coordinates: coast } },
    borders: {
      type: 'Feature', properties: {},
      geometry: splitGeometry(mesh(topo, topo.objects.countries, (a, b) => a !== b)),
    },
  };
}
