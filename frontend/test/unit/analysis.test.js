// Unit tests of the incident analysis helpers (src/analysis.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { energyOf, rates, sourceFeatures, sourceText, hintText } from '../../src/analysis.js';

test('energyOf evaluates the keV polynomial at the channel centre', () => {
  // The race-track NaI: E = 1.8081 + 2.9994·ch.
  assert.equal(energyOf([1.8081, 2.9994, 0], 0), 1.8081 + 2.9994 * 0.5);
  assert.ok(Math.abs(energyOf([1.8081, 2.9994, 0], 220) - (1.8081 + 2.9994 * 220.5)) < 1e-9);
  assert.equal(energyOf([], 3), null);
});

test('rates are counts per live second over calibrated channels', () => {
  const r = rates({ counts: [10, 20, 30], calibration: [-5, 10], live_time_s: 10 });
  // Channel 0 centres at 0 keV: dropped.
  assert.deepEqual(r, [{ e: 10, r: 2 }, { e: 20, r: 3 }]);
  assert.deepEqual(rates({ counts: [1], calibration: [0, 1], live_time_s: 0 }), []);
});

test('the source answer becomes an ellipse and a point, alternatives marked', () => {
  const ring = [[1, 2], [1.1, 2], [1.1, 2.1], [1, 2]];
  const src = { lat: 2.05, lon: 1.05, ellipse_ring: ring, ellipse: { semi_major_m: 21.2, semi_minor_m: 14 }, significant: true, ts: 4500,
    passes: [{ device_id: 1, path: [[1, 2.01], [1.01, 2.02]] }], vehicles: 1, readings: 78, cs137_equivalent_mbq: 1.6e6, ambiguous: true,
    alternatives: [{ lat: 2.0, lon: 1.0, ellipse_ring: ring }] };
  const fc = sourceFeatures(src);
  assert.deepEqual(fc.features.map((f) => [f.geometry.type, f.properties.role]),
    [['LineString', 'pass'], ['Polygon', 'best'], ['Point', 'best'], ['Polygon', 'alternative'], ['Point', 'alternative']]);
  assert.deepEqual(fc.features[2].geometry.coordinates, [1.05, 2.05]);
  const text = sourceText(src);
  assert.match(text, /95 % ellipse 21 × 14 m/);
  assert.match(text, /1 pass, 1 vehicle/);
  assert.match(text, /1\.6 TBq/);
  assert.match(text, /mirror/);
  assert.match(sourceText({ ...src, significant: false }), /No significant source in 78 readings/);
  assert.doesNotMatch(sourceText({ ...src, cs137_equivalent_mbq: null }), /Bq/);
});

test('hints say what they suggest', () => {
  assert.equal(hintText({ nuclide: 'Tc-99m', category: 'medical', significance: 7.04 }), 'Tc-99m (innocent – medical, 7.0 σ)');
});
