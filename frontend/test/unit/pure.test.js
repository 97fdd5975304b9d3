// Unit tests of the app's pure modules (no browser needed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { doseClass, doseColor, doseStep, DOSE_CLASSES, NO_READING, fmtDose } from '../../src/dose.js';
import { distanceM, destination, circlePolygon, positionAt, cellPolygon, cellRect, widthAtZoom0 } from '../../src/geo.js';
import { compareAlarms, AlarmStore } from '../../src/alarms.js';

test('dose classes follow the documented boundaries', () => {
  assert.equal(doseClass(0.1).label, '< 0.2');
  assert.equal(doseClass(0.2).label, '0.2 – 0.5');
  assert.equal(doseClass(0.5).meaning, 'notice');
  assert.equal(doseClass(1).meaning, '≥ OIL3');
  assert.equal(doseClass(99.9).meaning, '≥ OIL3');
  assert.equal(doseClass(100).meaning, '≥ OIL2 (perimeter)');
  assert.equal(doseClass(1000).meaning, '≥ OIL1');
  assert.equal(doseColor(null), NO_READING);
  assert.equal(doseColor(-1), NO_READING);
  assert.equal(fmtDose(0.123456), '0.123');
});

test('the MapLibre expression has the same stops as the legend', () => {
  const e = doseStep(['get', 'dose']);
  const step = e[3];
  assert.equal(step[0], 'step');
  assert.equal(step[2], DOSE_CLASSES[0].color);
  const stops = step.slice(3);
  assert.deepEqual(stops.filter((_, i) => i % 2 === 0), DOSE_CLASSES.slice(1).map((c) => c.min));
});

test('circles and distances on the sphere', () => {
  const c = [4.05, 51.95];
  const p = destination(c, 90, 1000);
  assert.ok(Math.abs(distanceM(c, p) - 1000) < 0.01);
  const poly = circlePolygon(c, 500, 64);
  assert.equal(poly.coordinates[0].length, 65);
  for (const q of poly.coordinates[0]) assert.ok(Math.abs(distanceM(c, q) - 500) < 0.01);
  // 200 m cell: sides 200 m.
  const cell = cellPolygon(4, 52, 200).coordinates[0];
  assert.ok(Math.abs(distanceM(cell[0], cell[1]) - 200) < 1);
  assert.ok(Math.abs(distanceM(cell[1], cell[2]) - 200) < 1);
  // A server cell in degrees: corners at centre ± half a side.
  assert.deepEqual(cellRect(4.1025, 52.001, 0.003, 0.002).coordinates[0][0], [4.1025 - 0.0015, 52.001 - 0.001]);
  assert.deepEqual(cellRect(4.1025, 52.001, 0.003, 0.002).coordinates[0][2], [4.1025 + 0.0015, 52.001 + 0.001]);
  // A 100 m wide corridor at zoom 0 is a tiny fraction of a pixel.
  assert.ok(widthAtZoom0(50, 52) > 0 && widthAtZoom0(50, 52) < 0.01);
});

test('replay interpolation', () => {
  const pts = [{ t: 0, lon: 0, lat: 0, dose: 0.1 }, { t: 10, lon: 1, lat: 2, dose: 0.5 }];
  assert.equal(positionAt(pts, -1), null);
  assert.deepEqual(positionAt(pts, 5), { t: 5, lon: 0.5, lat: 1, dose: 0.1 });
  assert.equal(positionAt(pts, 20), pts[1]);
});

test('alarms sort by severity, then newest first', () => {
  const list = [
    { id: 1, severity: 'notice', first_seen: '2026-01-01T00:00:03Z' },
    { id: 2, severity: 'critical', first_seen: '2026-01-01T00:00:01Z' },
    { id: 3, severity: 'critical', first_seen: '2026-01-01T00:00:02Z' },
    { id: 4, severity: 'alarm', first_seen: '2026-01-01T00:00:00Z' },
  ];
  assert.deepEqual(list.sort(compareAlarms).map((a) => a.id), [3, 2, 4, 1]);
});

test('alarm store: snapshot, live events, resolve', () => {
  const s = new AlarmStore();
  const fresh = [];
  s.addEventListener('new', (e) => fresh.push(e.detail.id));
  s.replaceAll([{ id: 1, state: 'raised', severity: 'alarm' }]);
  assert.deepEqual(fresh, [], 'the first list is not news');
  s.applyEvent({ event: 'raised', alarm_id: 2, alarm: { id: 2, state: 'raised', severity: 'critical' } });
  assert.deepEqual(fresh, [2]);
  s.applyEvent({ event: 'raised', alarm_id: 2, alarm: { id: 2, state: 'raised', severity: 'critical' } });
  assert.deepEqual(fresh, [2], 'a repeated event is idempotent');
  s.applyEvent({ event: 'acknowledged', alarm_id: 1, alarm: { id: 1, state: 'acknowledged', severity: 'alarm' } });
  assert.equal(s.open.get(1).state, 'acknowledged');
  s.applyEvent({ event: 'resolved', alarm_id: 1, alarm: { id: 1, state: 'resolved', severity: 'alarm' } });
  assert.equal(s.open.has(1), false);
  s.replaceAll([{ id: 2, state: 'raised', severity: 'critical' }, { id: 5, state: 'raised', severity: 'notice' }]);
  assert.deepEqual(fresh, [2, 5], 'polling finds new alarms too');
  s.applyEvent({ event: 'acknowledged', alarm_id: 5, alarm: { id: 5, state: 'acknowledged', severity: 'notice' } });
  assert.equal(s.fresh.has(5), false, 'an acknowledged alarm is no longer new');
  assert.equal(s.fresh.has(2), true);
});

test('an alarm raised during a database outage is replaced by its stored version without paging again', () => {
  const s = new AlarmStore();
  const fresh = [];
  const replaced = [];
  s.addEventListener('new', (e) => fresh.push(e.detail.id));
  s.addEventListener('replaced', (e) => replaced.push([e.detail.from, e.detail.to]));
  s.replaceAll([]);
  s.applyEvent({ event: 'raised', alarm_id: -77, alarm: { id: -77, device_id: 3, rule_id: 2, fence_id: 0, state: 'raised', severity: 'alarm' } });
  assert.deepEqual(fresh, [-77], 'the provisional alarm pages at once');
  s.applyEvent({ event: 'updated', alarm_id: 12, alarm: { id: 12, provisional_id: -77, device_id: 3, rule_id: 2, fence_id: 0, state: 'raised', severity: 'alarm' } });
  assert.deepEqual([...s.open.keys()], [12]);
  assert.deepEqual(replaced, [[-77, 12]]);
  assert.equal(s.fresh.has(12), true, 'still new until someone looks at it');
  assert.deepEqual(fresh, [-77], 'the stored version does not page again');

  // A reconnect during the drain: the snapshot has the stored alarm (no
  // provisional id in the database) while the list still shows the
  // provisional one of the same device, rule and fence.
  s.applyEvent({ event: 'raised', alarm_id: -78, alarm: { id: -78, device_id: 4, rule_id: 5, fence_id: 9, state: 'raised', severity: 'alarm' } });
  s.replaceAll([{ id: 12, state: 'raised', severity: 'alarm', device_id: 3, rule_id: 2, fence_id: 0 },
    { id: 13, state: 'raised', severity: 'alarm', device_id: 4, rule_id: 5, fence_id: 9 }]);
  assert.deepEqual(fresh, [-77, -78]);
  assert.deepEqual([...s.open.keys()].sort(), [12, 13]);
});

test('the top bar tells when the database or Redis is away', async () => {
  const { healthNotice } = await import('../../src/health.js');
  assert.deepEqual(healthNotice({ status: 'ready', database: 'ok' }, false), { text: '', detail: '' });
  assert.equal(healthNotice(null, true).text, '', 'a server that does not answer is the connection badge\'s news');
  const db = healthNotice({ status: 'unavailable', database: 'dial tcp: refused' }, false);
  assert.equal(db.text, 'Database unreachable');
  assert.match(db.detail, /live positions and alarms continue/);
  assert.equal(healthNotice({ status: 'unavailable', database: 'ok', redis: 'EOF' }, false).text, 'Redis unreachable');
  assert.equal(healthNotice({ status: 'unavailable', database: 'x', redis: 'y' }, false).text, 'Database unreachable · Redis unreachable');
});
