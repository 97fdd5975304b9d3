// Export links point at the streaming routes with the window and format.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exportURL, TRACK_FORMATS, ALARM_FORMATS } from '../../src/exports.js';

test('export URLs carry the filter and the format, skipping empty values', () => {
  assert.equal(exportURL('/devices/7/track', { from: '2026-11-01T12:00:00.000Z', to: '2026-11-01T13:00:00.000Z' }, 'gpx'),
    '/api/v1/devices/7/track?from=2026-11-01T12%3A00%3A00.000Z&to=2026-11-01T13%3A00%3A00.000Z&format=gpx');
  assert.equal(exportURL('/alarms', { state: 'open', severity: '', device: '', limit: 1000 }, 'csv'), '/api/v1/alarms?state=open&limit=1000&format=csv');
  assert.deepEqual(TRACK_FORMATS.map(([f]) => f), ['csv', 'geojson', 'kml', 'gpx']);
  assert.deepEqual(ALARM_FORMATS.map(([f]) => f), ['csv', 'geojson']);
});
