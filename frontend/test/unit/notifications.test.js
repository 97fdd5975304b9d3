// Unit tests of the open app's alerts (src/notifications.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { incidentNotification, subscriptionBody, b64urlBytes, alertsLabel, Mode, pages } from '../../src/notifications.js';

const names = { 3: 'Van 12', 4: 'Van 14' };
const deviceName = (id) => names[id] || `device ${id}`;

test('an incident frame becomes a notification with severity, vehicles, peak dose, place and Acknowledge', () => {
  const frame = { type: 'incident', event: 'raised', incident_id: 7, device_id: 3, incident: {
    id: 7, state: 'raised', severity: 'alarm', peak_dose_usvh: 3.2, peak_lon: 11.25, peak_lat: 43.77, peak_gps_valid: true, peak_device_id: 3,
    alarms: [{ id: 1, device_id: 3, rule_name: 'OIL3 dose rate' }, { id: 2, device_id: 4, rule_name: 'OIL3 dose rate' }] } };
  const n = incidentNotification(frame, deviceName);
  assert.equal(n.title, 'ALARM: OIL3 dose rate — Van 12, Van 14');
  assert.equal(n.options.body, 'ALARM · Van 12, Van 14\nPeak 3.20 µSv/h\nat 43.77000, 11.25000');
  assert.equal(n.options.tag, 'incident-7', 'the same tag as the push for this incident (sw.js)');
  assert.equal(n.options.requireInteraction, true);
  assert.deepEqual(n.options.actions, [{ action: 'acknowledge', title: 'Acknowledge' }]);
  assert.deepEqual(n.options.data, { incident: 7, severity: 'alarm' });
});

test('a re-alarm says so; no dose and no position are said, not hidden', () => {
  const n = incidentNotification({ event: 'realarm', incident_id: 9, incident: { severity: 'warning', peak_dose_usvh: null, peak_gps_valid: false, alarms: [] } }, deviceName);
  assert.equal(n.title, 'WARNING (again): incident 9 — unknown vehicle');
  assert.equal(n.options.body, 'WARNING · unknown vehicle\nPeak no dose reading\nposition unknown');
  assert.equal(n.options.requireInteraction, false);
});

test('the subscription sent to the server has only endpoint and keys', () => {
  const sub = { toJSON: () => ({ endpoint: 'https://push.example/x', expirationTime: null, keys: { p256dh: 'BPk', auth: 'au' } }) };
  assert.deepEqual(subscriptionBody(sub), { kind: 'push', subscription: { endpoint: 'https://push.example/x', keys: { p256dh: 'BPk', auth: 'au' } } });
});

test('b64urlBytes decodes unpadded base64url', () => {
  assert.deepEqual([...b64urlBytes('-_8')], [0xfb, 0xff]);
  assert.deepEqual([...b64urlBytes('AQID')], [1, 2, 3]);
});

test('the control says what works', () => {
  assert.equal(alertsLabel(Mode.OFF).text, 'Enable alerts');
  assert.equal(alertsLabel(Mode.LOCAL).text, 'Alerts (app open)');
  assert.equal(alertsLabel(Mode.PUSH).text, 'Alerts on');
  assert.equal(alertsLabel(Mode.BLOCKED).text, 'Alerts blocked');
  assert.equal(alertsLabel(Mode.PUSH).short, 'Alerts ✓');
});

test('a new incident, a re-alarm and a rise in severity alert; other updates and old incidents do not', () => {
  const notified = new Map();
  const f = (event, severity, state = 'raised', id = 7) => ({ event, incident_id: id, incident: { id, severity, state } });
  assert.equal(pages(f('updated', 'alarm', 'raised', 5), notified), false, 'an incident from before the page loaded');
  assert.equal(pages(f('raised', 'notice'), notified), true);
  assert.equal(pages(f('updated', 'notice'), notified), false, 'a further rule at the same severity');
  assert.equal(pages(f('updated', 'alarm'), notified), true, 'notice became alarm');
  assert.equal(pages(f('updated', 'warning'), notified), false);
  assert.equal(pages(f('acknowledged', 'alarm', 'acknowledged'), notified), false);
  assert.equal(pages(f('updated', 'critical', 'acknowledged'), notified), false, 'acknowledged: no alert');
  assert.equal(pages(f('realarm', 'alarm'), notified), true);
  assert.equal(pages(f('resolved', 'alarm', 'resolved'), notified), false);
  assert.equal(notified.has(7), false);
});
