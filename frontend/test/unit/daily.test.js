import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dailyRows } from '../../src/daily.js';

test('daily rows: one per vehicle and day, in the route order, units converted', () => {
  const res = {
    devices: [
      { uid: 'van-7', name: 'Van-7', days: [
        { date: '2026-12-01', distance_m: 12_500, reporting_seconds: 5400, max_dose_rate_usvh: 0.21, dose_usv: 0.18, above: [{ level_usvh: 0.5, seconds: 0 }], alarms: 0 },
        { date: '2026-12-02', distance_m: 800, reporting_seconds: 360, max_dose_rate_usvh: 5.4, dose_usv: 0.02, above: [{ level_usvh: 0.5, seconds: 125 }], alarms: 3 },
      ] },
      { uid: 'van-8', name: '', days: [{ date: '2026-12-02', distance_m: 0, reporting_seconds: 0, max_dose_rate_usvh: null, dose_usv: 0, above: [], alarms: 0 }] },
    ],
  };
  const rows = dailyRows(res);
  assert.deepEqual(rows.map((r) => [r.vehicle, r.date, r.km, r.hours, r.max, r.above, r.alarms]), [
    ['Van-7', '2026-12-01', 12.5, 1.5, 0.21, '≥ 0.5: 0 s', 0],
    ['Van-7', '2026-12-02', 0.8, 0.1, 5.4, '≥ 0.5: 2 min', 3],
    ['van-8', '2026-12-02', 0, 0, null, '', 0],
  ]);
  assert.deepEqual(dailyRows({}), []);
});
