// Unit tests of the map features' pure modules: basemap styles, label
// fonts, site plans, the vehicle list's filters, rule summaries, UTC time
// inputs, the sound control and fences across the antimeridian.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { basemapStyle, chooseBasemap, prefixStyle, protomaps2023Layers, NATURAL_EARTH, BASEMAP_PREFIX } from '../../src/basemaps.js';
import { fontFaces } from '../../src/fontfaces.js';
import { planFeatures, formatOf } from '../../src/plans.js';
import { filterVehicles, vehicleState } from '../../src/vehiclefilter.js';
import { describeRule } from '../../src/rulesummary.js';
import { fromInputUTC, toInputUTC, fmtTime } from '../../src/ui/dom.js';
import { soundControl } from '../../src/sound.js';
import { displayFeature } from '../../src/fenceshape.js';

const florence = { id: 'firenze', name: 'Florence', kind: 'pmtiles', format: 'vector', url: '/api/v1/basemaps/firenze.pmtiles', attribution: 'Protomaps © OpenStreetMap contributors' };

test('a vector PMTiles basemap is read through the pmtiles protocol and drawn with the 2023 schema', () => {
  const s = basemapStyle(florence, (u) => 'http://127.0.0.1:8080' + u);
  assert.deepEqual(s.sources, { 'bm-firenze': { type: 'vector', url: 'pmtiles://http://127.0.0.1:8080/api/v1/basemaps/firenze.pmtiles', attribution: 'Protomaps © OpenStreetMap contributors' } });
  const layers = new Map(s.layers.map((l) => [l['source-layer'] + ':' + l.type, l]));
  for (const key of ['earth:fill', 'water:fill', 'landuse:fill', 'natural:fill', 'roads:line', 'buildings:fill', 'places:symbol', 'roads:symbol', 'pois:symbol']) {
    assert.ok(layers.has(key), `layer for ${key}`);
  }
  for (const l of s.layers) {
    assert.ok(l.id.startsWith(BASEMAP_PREFIX), l.id);
    assert.equal(l.source, 'bm-firenze');
    // Every label names a declared font: no glyph server is needed.
    if (l.type === 'symbol') assert.match(JSON.stringify(l.layout['text-font']), /Noto Sans (Regular|Bold)/, l.id);
  }
  // Roads are coloured by pmap:kind, the 2023 schema's field.
  assert.deepEqual(layers.get('roads:line').paint['line-color'].slice(0, 2), ['match', ['get', 'pmap:kind']]);
});

test('raster archives, tile templates and the atlas', () => {
  const raster = basemapStyle({ ...florence, format: 'raster' });
  assert.equal(raster.sources['bm-firenze'].type, 'raster');
  assert.equal(raster.layers[0].type, 'raster');
  const tms = basemapStyle({ id: 'url-1', kind: 'raster', url: 'https://tiles.internal/{z}/{x}/{y}.png', scheme: 'tms', tile_size: 512, max_zoom: 18, attribution: '© OSM' });
  assert.deepEqual(tms.sources['bm-url-1'], { type: 'raster', tiles: ['https://tiles.internal/{z}/{x}/{y}.png'], scheme: 'tms', tileSize: 512, maxzoom: 18, attribution: '© OSM' });
  assert.deepEqual(basemapStyle(NATURAL_EARTH), { sources: {}, layers: [] });
});

test('an external style is renamed into the basemap namespace, with our fonts and no icons', () => {
  const s = prefixStyle({ id: 'url-2', attribution: 'Port GIS' }, {
    sources: { osm: { type: 'vector', tiles: ['https://x/{z}/{x}/{y}.pbf'] } },
    layers: [{ id: 'roads', type: 'line', source: 'osm', 'source-layer': 'roads' }, { id: 'poi', type: 'symbol', source: 'osm', layout: { 'icon-image': 'x', 'text-font': ['DIN Pro'] } }],
  });
  assert.deepEqual(Object.keys(s.sources), ['bm-url-2-osm']);
  assert.equal(s.sources['bm-url-2-osm'].attribution, 'Port GIS');
  assert.deepEqual(s.layers.map((l) => [l.id, l.source]), [['bm-url-2-roads', 'bm-url-2-osm'], ['bm-url-2-poi', 'bm-url-2-osm']]);
  assert.deepEqual(s.layers[1].layout, { 'text-font': ['Noto Sans Regular'] });
});

test('the remembered basemap wins if it still exists, else the first configured, else the atlas', () => {
  const list = [florence, { id: 'url-1' }];
  assert.equal(chooseBasemap(list, 'url-1').id, 'url-1');
  assert.equal(chooseBasemap(list, 'natural-earth').id, 'natural-earth');
  assert.equal(chooseBasemap(list, 'gone').id, 'firenze');
  assert.equal(chooseBasemap([], null).id, 'natural-earth');
  assert.equal(protomaps2023Layers('x').every((l) => l.source === 'bm-x'), true);
});

test('label fonts are declared per weight with their unicode ranges', () => {
  const ff = fontFaces({ 400: { latin: '/a.woff2', greek: '/g.woff2' }, 700: { latin: '/b.woff2' } },
    { latin: 'U+0000-00FF, U+0131', greek: 'U+0370-03FF' }, (u) => 'http://h' + u);
  assert.deepEqual(ff, {
    'Noto Sans Regular': [{ url: 'http://h/a.woff2', 'unicode-range': ['U+0000-00FF', 'U+0131'] }, { url: 'http://h/g.woff2', 'unicode-range': ['U+0370-03FF'] }],
    'Noto Sans Bold': [{ url: 'http://h/b.woff2', 'unicode-range': ['U+0000-00FF', 'U+0131'] }],
  });
});

test('site plans merge into one collection with kind and name', () => {
  const fc = planFeatures([
    { id: 3, features: { type: 'FeatureCollection', features: [{ type: 'Feature', geometry: { type: 'Point', coordinates: [4, 51] }, properties: { kind: 'gate', name: '码头' } }] } },
    { id: 4, features: { type: 'FeatureCollection', features: [{ type: 'Feature', geometry: { type: 'Point', coordinates: [4, 52] }, properties: null }] } },
  ]);
  assert.deepEqual(fc.features.map((f) => f.properties), [{ kind: 'gate', name: '码头', overlay: 3 }, { kind: '', name: '', overlay: 4 }]);
  assert.equal(formatOf('plan.KML', ''), 'kml');
  assert.equal(formatOf('plan.geojson', '<kml>'), 'geojson');
  assert.equal(formatOf('export', '<?xml version="1.0"?><kml>'), 'kml');
  assert.equal(formatOf('export', '{"type":"FeatureCollection"}'), 'geojson');
});

test('vehicle list: search by name or uid, group, state; alarm first', () => {
  const now = Date.now();
  assert.equal(vehicleState({ t: now, spd: 3, stale: false }), 'moving');
  assert.equal(vehicleState({ t: now, spd: 0.2, stale: false }), 'stopped');
  assert.equal(vehicleState({ t: now, spd: null, stale: false }), 'stopped');
  assert.equal(vehicleState({ t: now - 1e6, spd: 3, stale: true }), 'stale');
  assert.equal(vehicleState(undefined), 'stale');
  const rows = [
    { id: 1, name: 'Van-10', uid: 'van-10', group: 'north', state: 'moving', alarm: false },
    { id: 2, name: 'Van-2', uid: 'van-2', group: 'south', state: 'stopped', alarm: false },
    { id: 3, name: 'Truck 7', uid: 'rt-0007', group: 'north', state: 'stale', alarm: true },
    { id: 4, name: '巡逻车 4', uid: 'cn-4', group: 'south', state: 'moving', alarm: false },
  ];
  assert.deepEqual(filterVehicles(rows).map((r) => r.id), [3, 2, 1, 4], 'alarm first, then natural name order');
  assert.deepEqual(filterVehicles(rows, { q: 'VAN' }).map((r) => r.id), [2, 1]);
  assert.deepEqual(filterVehicles(rows, { q: 'rt-0007' }).map((r) => r.id), [3]);
  assert.deepEqual(filterVehicles(rows, { q: '巡逻' }).map((r) => r.id), [4]);
  assert.deepEqual(filterVehicles(rows, { group: 'north' }).map((r) => r.id), [3, 1]);
  assert.deepEqual(filterVehicles(rows, { state: 'alarm' }).map((r) => r.id), [3]);
  assert.deepEqual(filterVehicles(rows, { state: 'moving', group: 'south' }).map((r) => r.id), [4]);
  assert.deepEqual(filterVehicles(rows, { state: 'stale' }).map((r) => r.id), [3]);
});

test('rule summaries show thresholds and fences by name', () => {
  const fences = [{ properties: { id: 3, name: 'Container yard B', kind: 'restricted' } }];
  assert.equal(describeRule({ kind: 'level', level: { threshold_usvh: 1 } }, fences), '≥ 1 µSv/h anywhere');
  assert.equal(describeRule({ kind: 'zone', zone: { fence_id: 3, threshold_usvh: 0.5 } }, fences), '≥ 0.5 µSv/h inside “Container yard B” (#3)');
  assert.equal(describeRule({ kind: 'zone', zone: { fence_id: 9, threshold_usvh: 0.5 } }, fences), '≥ 0.5 µSv/h inside fence #9 (deleted)');
  assert.equal(describeRule({ kind: 'fence', fence: { event: 'enter', fence_kind: 'restricted' } }, fences), 'enter any restricted fence');
  assert.equal(describeRule({ kind: 'fence', fence: { event: 'exit', fence_id: 3 } }, fences), 'exit “Container yard B” (#3)');
  assert.equal(describeRule({ kind: 'silence', silence: { after_s: 600 } }, fences), 'no report for 10 min');
  assert.equal(describeRule({ kind: 'background', background: { p_value: 1e-5 } }, fences), 'counts above the local background, p < 0.00001');
});

test('time inputs: ISO 8601, UTC, 24-hour, one format', () => {
  const t = Date.UTC(2026, 10, 22, 20, 5, 9);
  assert.equal(toInputUTC(t), '2026-11-22 20:05:09Z');
  assert.equal(toInputUTC(t), fmtTime(new Date(t)));
  assert.equal(fromInputUTC('2026-11-22 20:05:09Z').getTime(), t);
  assert.equal(fromInputUTC('2026-11-22T20:05').getTime(), Date.UTC(2026, 10, 22, 20, 5));
  assert.equal(fromInputUTC(' 2026-11-22 20:05 UTC ').getTime(), Date.UTC(2026, 10, 22, 20, 5));
  for (const bad of ['', '2026-11-22', '22/11/2026 08:05', '2026-11-22 8:05 PM', '2026-02-30 10:00', '2026-11-22 24:00', '2026-11-22 10:00+01:00']) {
    assert.equal(fromInputUTC(bad), null, bad);
  }
});

test('the sound control asks for a click until audio is unlocked, then is the mute toggle', () => {
  assert.deepEqual([soundControl(true, false).mode, soundControl(true, false).text], ['enable', '⚠ Enable sound']);
  assert.deepEqual([soundControl(true, true).mode, soundControl(true, true).text, soundControl(true, true).pressed], ['toggle', 'Sound on', true]);
  assert.deepEqual([soundControl(false, false).mode, soundControl(false, false).text], ['toggle', 'Sound off']);
});

test('a fence across the antimeridian is drawn in two parts, never as a band round the world', () => {
  const fence = { type: 'Feature', geometry: { type: 'Polygon', coordinates: [[[179.5, -17], [-179.5, -17], [-179.5, -16], [179.5, -16], [179.5, -17]]] }, properties: { id: 7, name: '斐济 yard', kind: 'restricted' } };
  const d = displayFeature(fence);
  assert.equal(d.geometry.type, 'MultiPolygon');
  for (const poly of d.geometry.coordinates) {
    const xs = poly[0].map((p) => p[0]);
    assert.ok(Math.max(...xs) - Math.min(...xs) <= 0.5 + 1e-9, `part spans ${Math.min(...xs)}..${Math.max(...xs)}`);
  }
  const circle = displayFeature({ type: 'Feature', geometry: { type: 'Point', coordinates: [179.99, 0] }, properties: { id: 8, name: 'c', kind: 'monitoring', radius_m: 5000 } });
  assert.equal(circle.geometry.type, 'MultiPolygon');
  const corridor = displayFeature({ type: 'Feature', geometry: { type: 'LineString', coordinates: [[179.9, 10], [-179.9, 10]] }, properties: { id: 9, name: 'r', kind: 'patrol', half_width_m: 50 } });
  assert.equal(corridor.geometry.type, 'MultiLineString');
  assert.deepEqual(corridor.geometry.coordinates, [[[179.9, 10], [180, 10]], [[-180, 10], [-179.9, 10]]]);
  // Fences that do not cross stay as they are.
  const plain = { type: 'Feature', geometry: { type: 'Polygon', coordinates: [[[4, 51], [4.1, 51], [4.1, 51.1], [4, 51]]] }, properties: { id: 1, name: 'p', kind: 'patrol' } };
  assert.equal(displayFeature(plain).geometry, plain.geometry);
});
