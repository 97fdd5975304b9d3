// Unit tests of the antimeridian fix of the basemap (src/antimeridian.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { feature } from 'topojson-client';
import { splitGeometry, splitPolygon, splitLine, splitRing, outlines, basemapData } from '../../src/antimeridian.js';

function area(ring) {
  let s = 0;
  for (let i = 1; i < ring.length; i++) s += ring[i - 1][0] * ring[i][1] - ring[i][0] * ring[i - 1][1];
  return s / 2;
}

// Area of a polygon list: outer rings minus holes.
function polysArea(polys) {
  return polys.reduce((s, rings) => s + Math.abs(area(rings[0])) - rings.slice(1).reduce((h, r) => h + Math.abs(area(r)), 0), 0);
}

function insideRing([x, y], ring) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

function insidePolys(pt, polys) {
  return polys.some((rings) => insideRing(pt, rings[0]) && !rings.slice(1).some((h) => insideRing(pt, h)));
}

// checkLine asserts a line or ring stays on the map and never jumps.
function checkLine(coords, what) {
  assert.ok(coords.length >= 2, `${what}: ${coords.length} points`);
  for (let i = 0; i < coords.length; i++) {
    const [x, y] = coords[i];
    assert.ok(x >= -180 && x <= 180 && y >= -90 && y <= 90, `${what}: point ${i} ${x},${y} off the map`);
    if (i > 0) {
      const dx = Math.abs(x - coords[i - 1][0]);
      assert.ok(dx <= 180, `${what}: segment ${i} spans ${dx}° of longitude`);
    }
  }
}

function checkRing(ring, what) {
  checkLine(ring, what);
  assert.ok(ring.length >= 4, `${what}: ${ring.length} points`);
  assert.deepEqual(ring[ring.length - 1], ring[0], `${what}: not closed`);
}

function checkPolys(polys, what) {
  polys.forEach((rings, i) => rings.forEach((r, j) => checkRing(r, `${what} polygon ${i} ring ${j}`)));
}

test('a ring across the antimeridian splits into two rings on the map', () => {
  // 170°E to 170°W, 10°N to 20°N.
  const ring = [[170, 10], [-170, 10], [-170, 20], [170, 20], [170, 10]];
  const g = splitGeometry({ type: 'Polygon', coordinates: [ring] });
  assert.equal(g.type, 'MultiPolygon');
  assert.equal(g.coordinates.length, 2);
  checkPolys(g.coordinates, 'box');
  const [east, west] = g.coordinates.map((rings) => rings[0]).sort((a, b) => b[0][0] - a[0][0]);
  assert.ok(east.every(([x]) => x >= 170 && x <= 180), JSON.stringify(east));
  assert.ok(west.every(([x]) => x >= -180 && x <= -170), JSON.stringify(west));
  assert.equal(Math.abs(area(east)), 100);
  assert.equal(Math.abs(area(west)), 100);
  // Winding is kept (MapLibre rewinds anyway).
  assert.ok(area(east) > 0 && area(west) > 0);
  assert.ok(insidePolys([175, 15], g.coordinates));
  assert.ok(insidePolys([-175, 15], g.coordinates));
  assert.ok(!insidePolys([0, 15], g.coordinates), 'no band across the map');
});

test('a ring that does not cross is left as it is', () => {
  const rings = [[[0, 0], [0, 10], [10, 10], [10, 0], [0, 0]], [[2, 2], [4, 2], [4, 4], [2, 2]]];
  const g = { type: 'Polygon', coordinates: rings };
  assert.equal(splitGeometry(g), g);
  assert.equal(splitPolygon(rings)[0], rings);
  // Touching the antimeridian is not crossing it.
  const edge = { type: 'Polygon', coordinates: [[[170, 0], [180, 0], [180, 10], [170, 0]]] };
  assert.equal(splitGeometry(edge), edge);
  const mp = { type: 'MultiPolygon', coordinates: [rings, edge.coordinates] };
  assert.equal(splitGeometry(mp), mp);
});

test('a ring crossing several times is rejoined along the antimeridian', () => {
  // A 20°×30° box over 180° with a notch cut in from the west reaching
  // past 180°: two pieces west of it, one C-shaped piece east of it.
  const ring = [[170, 0], [-170, 0], [-170, 30], [170, 30], [170, 20], [-175, 20], [-175, 10], [170, 10], [170, 0]];
  const polys = splitPolygon([ring]);
  checkPolys(polys, 'notched box');
  assert.equal(polys.length, 3);
  const areas = polys.map((p) => Math.abs(area(p[0]))).sort((a, b) => a - b);
  assert.deepEqual(areas, [100, 100, 250]);
  for (const [pt, want] of [[[175, 5], true], [[175, 25], true], [[175, 15], false], [[-172, 15], true], [[-177, 15], false], [[0, 15], false]]) {
    assert.equal(insidePolys(pt, polys), want, `${pt}`);
  }
});

test('vertices exactly on ±180° (as in Fiji) split cleanly', () => {
  const ring = [[179, -1], [180, -1], [-179, -1], [-179, 1], [-180, 1], [180, 1], [179, 1], [179, -1]];
  const polys = splitPolygon([ring]);
  checkPolys(polys, 'fiji');
  assert.equal(polys.length, 2);
  assert.deepEqual(polys.map((p) => Math.abs(area(p[0]))), [2, 2]);
});

test('a hole is kept in the piece that holds it', () => {
  const outer = [[170, 0], [170, 30], [-170, 30], [-170, 0], [170, 0]];
  const holeW = [[172, 5], [175, 5], [175, 8], [172, 5]];
  const holeE = [[-175, 5], [-172, 5], [-172, 8], [-175, 5]];
  const across = [[178, 20], [-178, 20], [-178, 25], [178, 25], [178, 20]];
  const polys = splitPolygon([outer, holeW, holeE, across]);
  checkPolys(polys, 'holes');
  assert.equal(polys.length, 2);
  for (const rings of polys) assert.equal(rings.length, 3); // own small hole + half of the crossing one
  assert.ok(Math.abs(polysArea(polys) - (600 - 4.5 - 4.5 - 20)) < 1e-9, String(polysArea(polys)));
  assert.ok(!insidePolys([173, 5.5], polys));
  assert.ok(!insidePolys([179, 22], polys) && !insidePolys([-179, 22], polys));
  assert.ok(insidePolys([179, 15], polys) && insidePolys([-179, 15], polys));
});

test('a ring round the South Pole (Antarctica-like) becomes a polygon down to the pole, no band', () => {
  // Eastward, inside on the right as in world-atlas: Antarctica.
  const ring = [[-150, -70], [-90, -72], [-30, -70], [30, -75], [90, -70], [150, -72], [-150, -70]];
  const polys = splitPolygon([ring]);
  checkPolys(polys, 'antarctica');
  for (const rings of polys) for (const [, y] of rings[0]) assert.ok(y <= -70, 'nothing north of the coast');
  for (const pt of [[0, -85], [179.9, -80], [-179.9, -80], [-150, -71], [100, -89]]) assert.ok(insidePolys(pt, polys), `${pt} is land`);
  for (const pt of [[0, -60], [0, 0], [170, -50], [-30, -69]]) assert.ok(!insidePolys(pt, polys), `${pt} is sea`);
  // Area in the plane: the strip from the coast down to -90°.
  let want = 0;
  const u = [[-150, -70], [-90, -72], [-30, -70], [30, -75], [90, -70], [150, -72], [210, -70]];
  for (let i = 1; i < u.length; i++) want += (u[i][0] - u[i - 1][0]) * ((u[i][1] + u[i - 1][1]) / 2 + 90);
  assert.ok(Math.abs(polysArea(polys) - want) < 1e-9, `${polysArea(polys)} vs ${want}`);

  // world-atlas also has a tiny westward ring round the pole as a hole.
  const pole = [[0, -89.999], [-90, -89.999], [-180, -89.999], [90, -89.999], [0, -89.999]];
  const withHole = splitPolygon([ring, pole]);
  checkPolys(withHole, 'antarctica with polar hole');
  assert.ok(insidePolys([0, -85], withHole) && insidePolys([0, -89.99], withHole));
  assert.ok(Math.abs(polysArea(withHole) - (want - 360 * 0.001)) < 1e-6);
});

test('a westward outer ring round the globe encloses the North Pole', () => {
  const ring = [[150, 80], [60, 82], [-30, 80], [-120, 81], [150, 80]];
  const polys = splitPolygon([ring]);
  checkPolys(polys, 'arctic');
  assert.ok(insidePolys([0, 85], polys) && insidePolys([179, 89], polys));
  assert.ok(!insidePolys([0, 70], polys) && !insidePolys([0, -85], polys));
});

test('a LineString across the antimeridian becomes a MultiLineString', () => {
  const g = splitGeometry({ type: 'LineString', coordinates: [[160, 0], [170, 0], [-170, 10], [-160, 10]] });
  assert.equal(g.type, 'MultiLineString');
  assert.deepEqual(g.coordinates, [[[160, 0], [170, 0], [180, 5]], [[-180, 5], [-170, 10], [-160, 10]]]);
  // Westward, and back again.
  assert.deepEqual(splitLine([[-170, 0], [170, 10], [-170, 20]]), [[[-170, 0], [-180, 5]], [[180, 5], [170, 10], [180, 15]], [[-180, 15], [-170, 20]]]);
  const straight = { type: 'LineString', coordinates: [[0, 0], [10, 10]] };
  assert.equal(splitGeometry(straight), straight);
  const mls = splitGeometry({ type: 'MultiLineString', coordinates: [[[0, 0], [1, 1]], [[179, 0], [-179, 0]]] });
  assert.deepEqual(mls.coordinates, [[[0, 0], [1, 1]], [[179, 0], [180, 0]], [[-180, 0], [-179, 0]]]);
});

test('outlines: coastlines without the cut edges, joined where the ring started', () => {
  const ring = [[170, 10], [-170, 10], [-170, 20], [170, 20], [170, 10]];
  const o = outlines({ type: 'Polygon', coordinates: [ring] });
  assert.deepEqual(o.coordinates, [
    [[180, 20], [170, 20], [170, 10], [180, 10]],
    [[-180, 10], [-170, 10], [-170, 20], [-180, 20]],
  ]);
  for (const l of o.coordinates) for (const p of l) assert.ok(!(Math.abs(p[0]) === 180 && Math.abs(p[1]) === 90));
});

test('splitRing: pieces left and right of a line', () => {
  const [left, right] = splitRing([[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]], 4);
  assert.equal(left.length, 1);
  assert.equal(right.length, 1);
  assert.equal(Math.abs(area(left[0])), 40);
  assert.equal(Math.abs(area(right[0])), 60);
});

test('world-atlas countries-50m: no ring or line jumps across the map', () => {
  const topo = JSON.parse(readFileSync(new URL('../../node_modules/world-atlas/countries-50m.json', import.meta.url)));
  const t0 = performance.now();
  const data = basemapData(topo);
  const ms = performance.now() - t0;
  assert.ok(ms < 2000, `basemapData took ${ms} ms`);

  let rings = 0;
  const polys = [];
  for (const f of data.land.features) {
    const g = f.geometry;
    const list = g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
    checkPolys(list, 'land');
    polys.push(...list);
    rings += list.reduce((n, r) => n + r.length, 0);
  }
  assert.ok(rings > 1400, `${rings} land rings`);
  data.coast.geometry.coordinates.forEach((l, i) => checkLine(l, `coastline ${i}`));
  const b = data.borders.geometry;
  (b.type === 'LineString' ? [b.coordinates] : b.coordinates).forEach((l, i) => checkLine(l, `border ${i}`));

  // Land where land is, on both sides of 180°; sea where the bands were.
  const land = [[100, 60], [-176, 67], [-172, 66], [176, 66.5], [0, -85], [120, -80], [-120, -80], [20, 0]];
  const sea = [[-10, 68], [5, 68], [-170, 69], [-30, -16.5], [-150, 0], [0, -60], [160, -60], [-175, 55]];
  for (const pt of land) assert.ok(insidePolys(pt, polys), `${pt} should be land`);
  for (const pt of sea) assert.ok(!insidePolys(pt, polys), `${pt} should be sea`);

  // The raw topojson conversion does have the bands (the bug this fixes).
  const raw = feature(topo, topo.objects.land).features.flatMap((f) => f.geometry.coordinates);
  assert.ok(sea.some((pt) => insidePolys(pt, raw)), 'raw data should show a band');

  // Every country's own rings come out clean too (Russia, Fiji, Antarctica).
  for (const f of feature(topo, topo.objects.countries).features) {
    const g = splitGeometry(f.geometry);
    if (!g) continue;
    checkPolys(g.type === 'Polygon' ? [g.coordinates] : g.coordinates, f.properties.name);
  }
});
