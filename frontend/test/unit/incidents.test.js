// Unit tests of the incident grouping shown in the alarm panel
// (src/incidents.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { groupCards, IncidentStore, isHealth } from '../../src/incidents.js';
import { AlarmStore } from '../../src/alarms.js';

const alarm = (id, o = {}) => ({ id, device_id: 1, rule_id: id, kind: 'level', severity: 'alarm', state: 'raised',
  rule_name: `rule ${id}`, first_seen: '2026-12-01T10:00:00Z', last_seen: '2026-12-01T10:01:00Z', ...o });

test('one card per incident, lone alarms on their own, health apart; unacknowledged, then severity, then newest', () => {
  const alarms = new Map([
    [1, alarm(1, { severity: 'notice' })],
    [2, alarm(2)],
    [3, alarm(3, { state: 'acknowledged', severity: 'critical', device_id: 2 })],
    [4, alarm(4, { kind: 'silence', severity: 'warning', device_id: 3 })],
    [5, alarm(5, { severity: 'notice', device_id: 4, last_seen: '2026-12-01T10:05:00Z' })],
  ]);
  const incidents = new Map([
    [7, { id: 7, state: 'raised', severity: 'alarm', last_seen: '2026-12-01T10:01:00Z', alarms: [alarm(1), alarm(2)] }],
    [8, { id: 8, state: 'acknowledged', severity: 'critical', last_seen: '2026-12-01T10:01:00Z', alarms: [alarm(3, { state: 'acknowledged', severity: 'critical' })] }],
  ]);
  const { main, health } = groupCards(alarms, incidents);
  assert.deepEqual(main.map((c) => c.key), ['i7', 'a5', 'i8']);
  assert.deepEqual(main[0].item.alarms.map((a) => a.id), [1, 2]);
  assert.equal(main[0].item.alarms[0].severity, 'notice', 'the alarm store holds the fresher copy');
  assert.deepEqual(health.map((a) => a.id), [4]);
});

test('an acknowledged incident whose alarm re-alarmed shows raised; an incident with every alarm resolved goes', () => {
  const alarms = new Map([[3, alarm(3, { state: 'raised', realarmed_at: '2026-12-01T11:00:00Z' })]]);
  const incidents = new Map([
    [8, { id: 8, state: 'acknowledged', severity: 'alarm', last_seen: 'x', alarms: [alarm(3, { state: 'acknowledged' })] }],
    [9, { id: 9, state: 'acknowledged', severity: 'alarm', last_seen: 'x', alarms: [alarm(10, { state: 'resolved' })] }],
  ]);
  const { main } = groupCards(alarms, incidents);
  assert.deepEqual(main.map((c) => [c.key, c.item.state]), [['i8', 'raised']]);
});

test('incident frames: idempotent by id, resolved ones leave', () => {
  const s = new IncidentStore();
  s.applyEvent({ event: 'raised', incident_id: 7, incident: { state: 'raised', alarms: [] } });
  s.applyEvent({ event: 'updated', incident_id: 7, incident: { state: 'raised', alarms: [] } });
  assert.equal(s.open.size, 1);
  s.applyEvent({ event: 'resolved', incident_id: 7, incident: { state: 'resolved', alarms: [] } });
  assert.equal(s.open.size, 0);
});

test('a realarm frame pages again; health alarms never page nor ring vehicles red', () => {
  const s = new AlarmStore();
  const paged = [];
  s.addEventListener('new', (e) => paged.push(e.detail.id));
  s.replaceAll([alarm(1, { state: 'acknowledged' })]);
  s.applyEvent({ event: 'updated', alarm_id: 1, alarm: alarm(1, { state: 'acknowledged' }) });
  s.applyEvent({ event: 'realarm', alarm_id: 1, alarm: alarm(1) });
  s.applyEvent({ event: 'raised', alarm_id: 2, alarm: alarm(2, { kind: 'silence', device_id: 9 }) });
  assert.deepEqual(paged, [1]);
  assert.ok(isHealth(s.open.get(2)));
  assert.deepEqual(s.deviceIds(), [1]);
});

test('an alarm whose card has an open form keeps its own card', () => {
  const alarms = new Map([[1, alarm(1)], [2, alarm(2)]]);
  const incidents = new Map([[7, { id: 7, state: 'raised', severity: 'alarm', last_seen: 'x', alarms: [alarm(1), alarm(2)] }]]);
  const { main } = groupCards(alarms, incidents, new Set([1]));
  assert.deepEqual(main.map((c) => c.key).sort(), ['a1', 'i7']);
  assert.deepEqual(main.find((c) => c.key === 'i7').item.alarms.map((a) => a.id), [2]);
});

test('a partial incident frame merges its changed alarms into the incident held; one for an unknown incident asks for the whole, once', async () => {
  const asked = [];
  let answer;
  const store = new IncidentStore({ fetchIncident: (id) => { asked.push(id); return new Promise((r) => { answer = r; }); } });
  store.applyEvent({ event: 'raised', incident_id: 7, incident: { id: 7, state: 'raised', severity: 'alarm', alarms: [alarm(2), alarm(1)] } });
  store.applyEvent({ event: 'updated', incident_id: 7, incident: { id: 7, state: 'raised', severity: 'critical', alarm_count: 3, alarms: null,
    changed_alarms: [alarm(3, { severity: 'critical' }), alarm(1, { state: 'acknowledged' })] } });
  const inc = store.open.get(7);
  assert.deepEqual(inc.alarms.map((a) => a.id), [3, 2, 1], 'the new alarm first, the others in place');
  assert.equal(inc.alarms[2].state, 'acknowledged', 'the changed copy replaces the held one');
  assert.equal(inc.severity, 'critical', 'the summary is the frame\'s');
  assert.equal(inc.changed_alarms, undefined);
  assert.deepEqual(asked, []);
  const partial9 = () => ({ event: 'updated', incident_id: 9, incident: { id: 9, state: 'raised', alarm_count: 2, alarms: null, changed_alarms: [alarm(5)] } });
  store.applyEvent(partial9());
  store.applyEvent(partial9());
  assert.deepEqual(asked, [9], 'an incident not held here is fetched whole, once while a fetch is on its way');
  assert.deepEqual(store.open.get(9).alarms.map((a) => a.id), [5], 'meanwhile what came is shown');
  answer({ id: 9, state: 'raised', alarms: [alarm(6), alarm(5)] });
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(store.open.get(9).alarms.map((a) => a.id), [6, 5], 'the fetched incident replaces it');
  store.applyEvent({ event: 'updated', incident_id: 9, incident: { id: 9, state: 'raised', alarm_count: 3, alarms: null, changed_alarms: [alarm(8)] } });
  assert.deepEqual(store.open.get(9).alarms.map((a) => a.id), [8, 6, 5], 'a frame completing it merges');
  assert.deepEqual(asked, [9]);
  store.applyEvent({ event: 'updated', incident_id: 9, incident: { id: 9, state: 'raised', alarm_count: 5, alarms: null, changed_alarms: [alarm(9)] } });
  assert.deepEqual(asked, [9, 9], 'a later incomplete frame asks again');
});
