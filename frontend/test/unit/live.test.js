// LiveClient against a fake WebSocket and fetch: offsets, resume, close
// codes, and the REST polling fallback when the endpoint is missing.
import { test, afterEach, mock } from 'node:test';
import assert from 'node:assert/strict';

class FakeWS {
  static instances = [];
  static OPEN = 1;
  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.sent = [];
    FakeWS.instances.push(this);
  }
  open() { this.readyState = 1; this.onopen && this.onopen(); }
  recv(obj) { this.onmessage({ data: JSON.stringify(obj) }); }
  send(s) { this.sent.push(JSON.parse(s)); }
  close(code = 1000) { this.closedWith = code; this.drop(code); }
  drop(code) { this.readyState = 3; this.onclose && this.onclose({ code }); }
}
globalThis.WebSocket = FakeWS;
globalThis.location = { protocol: 'http:', host: 'rt.test' };
let liveStatus = 400; // what a plain GET of /api/v1/live answers
let positionsStatus = 200; // what GET /api/v1/positions answers
let positionsGate = null; // a promise /api/v1/positions waits for
const POSITIONS = { id: [3, 7], t: [1, 2], lon: [4, 5], lat: [52, 53], dose: [0.1, null], spd: [null, 1], hdg: [null, 2], bat: [87, null], uid: ['a', 'b'], name: ['Van 3', 'Van 7'] };
const fetched = [];
globalThis.fetch = async (url) => {
  fetched.push(String(url));
  const body = (obj, status = 200) => ({ status, ok: status < 300, text: async () => JSON.stringify(obj) });
  if (String(url).startsWith('/api/v1/live')) return body({ error: 'x' }, liveStatus);
  if (String(url).startsWith('/api/v1/positions')) {
    if (positionsGate) await positionsGate;
    return positionsStatus === 200 ? body({ positions: POSITIONS }) : body({ error: 'no live hub' }, positionsStatus);
  }
  if (String(url).startsWith('/api/v1/alarms')) return body({ alarms: [{ id: 9, state: 'raised', severity: 'alarm' }] });
  if (String(url).includes('/track')) {
    return body({ samples: [
      { time: '2026-01-01T00:00:00Z', lon: 4, lat: 52, gps_valid: true, dose_rate: 0.1, speed: 1, heading: 2, battery: 55 },
      { time: '2026-01-01T00:00:01Z', lon: null, lat: null, gps_valid: false, dose_rate: 0.2 },
    ] });
  }
  return body({}, 404);
};

const { LiveClient, SILENT_MS } = await import('../../src/live.js');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function client() {
  const got = { snapshots: [], alarms: [], positions: [], polled: [] };
  const c = new LiveClient({
    onSnapshot: (s) => got.snapshots.push(s),
    onAlarm: (f) => got.alarms.push(f),
    onPositions: (cols, full) => { got.positions.push({ cols, full }); return []; },
    onPolledAlarms: (list) => got.polled.push(list),
    devices: () => [{ id: 7 }],
  });
  const states = [];
  c.addEventListener('state', (e) => states.push(e.detail.state));
  return { c, got, states };
}

let current;
afterEach(() => {
  mock.timers.reset();
  if (current) current.stop();
  FakeWS.instances = []; fetched.length = 0; liveStatus = 400; positionsStatus = 200; positionsGate = null;
});

test('keeps the offset as a string and resumes with it', async () => {
  const { c, got, states } = client();
  current = c;
  c.start();
  const ws = FakeWS.instances[0];
  assert.equal(ws.url, 'ws://rt.test/api/v1/live');
  ws.open();
  assert.equal(states.at(-1), 'live');
  const big = '1883912374812426241'; // > 2^53
  ws.recv({ v: 1, type: 'snapshot', offset: '1883912374812426240', alarms: [], positions: { id: [7], lon: [4], lat: [52] } });
  ws.recv({ v: 1, type: 'alarm', offset: big, event: 'raised', alarm_id: 3, alarm: { id: 3 } });
  assert.equal(c.offset, big);
  assert.equal(got.alarms.length, 1);
  assert.deepEqual(got.snapshots[0].alarms, []);
  // 4008: reconnect at once from the last processed offset.
  ws.drop(4008);
  const ws2 = FakeWS.instances[1];
  assert.equal(ws2.url, `ws://rt.test/api/v1/live?offset=${big}`);
  ws2.open();
  ws2.recv({ v: 1, type: 'snapshot', offset: big, recovered: true, positions: { id: [], lon: [], lat: [] } });
  assert.equal(got.snapshots[1].alarms, null, 'recovered: keep the alarm list');
  ws2.recv({ v: 2, type: 'alarm', offset: '1883912374812426999' });
  assert.equal(c.offset, big, 'frames of another version are ignored');
});

test('backs off after a network failure, then resumes', async () => {
  const { c, states } = client();
  current = c;
  c.start();
  FakeWS.instances[0].open();
  FakeWS.instances[0].recv({ v: 1, type: 'snapshot', offset: '5', alarms: [], positions: { id: [], lon: [], lat: [] } });
  FakeWS.instances[0].drop(1006);
  assert.equal(states.at(-1), 'reconnecting');
  assert.equal(FakeWS.instances.length, 1, 'waits before reconnecting');
  await sleep(1100);
  assert.equal(FakeWS.instances.length, 2);
  assert.equal(FakeWS.instances[1].url, 'ws://rt.test/api/v1/live?offset=5');
});

test('polls REST when the server has no live endpoint', async () => {
  liveStatus = 404;
  const { c, got, states } = client();
  current = c;
  c.start();
  FakeWS.instances[0].drop(1006); // the upgrade failed
  await sleep(50);
  assert.equal(states.at(-1), 'polling');
  assert.ok(fetched.some((u) => u.startsWith('/api/v1/alarms?state=open')));
  assert.deepEqual(got.polled[0].map((a) => a.id), [9]);
  // The whole fleet in one request, applied like a snapshot.
  assert.equal(fetched.filter((u) => u.startsWith('/api/v1/positions')).length, 1);
  assert.ok(!fetched.some((u) => u.includes('/track')), 'no per-device queries');
  assert.deepEqual(got.positions, [{ cols: POSITIONS, full: true }]);
});

test('falls back to track queries when the server has no live hub', async () => {
  liveStatus = 404;
  positionsStatus = 503;
  const { c, got } = client();
  current = c;
  c.start();
  FakeWS.instances[0].drop(1006);
  await sleep(50);
  assert.ok(fetched.some((u) => u.startsWith('/api/v1/devices/7/track?')));
  assert.equal(got.positions.length, 1);
  const { cols, full } = got.positions[0];
  assert.equal(full, false, 'a partial view must not remove vehicles');
  assert.deepEqual(cols.id, [7]);
  assert.deepEqual([cols.lon[0], cols.lat[0], cols.bat[0]], [4, 52, 55], 'the newest sample with a fix');
});

test('a poll answered after the socket came back is dropped', async () => {
  liveStatus = 404;
  let release;
  positionsGate = new Promise((r) => { release = r; });
  const { c, got } = client();
  current = c;
  c.start();
  FakeWS.instances[0].drop(1006);
  await sleep(50);
  assert.equal(c.state, 'polling');
  c.connect(); // what the one-minute retry does
  FakeWS.instances[1].open();
  release();
  await sleep(20);
  assert.equal(c.state, 'live');
  assert.deepEqual(got.positions, [], 'stale polled positions would undo the snapshot');
});

test('an offset frame moves the resume offset', async () => {
  const { c, got } = client();
  current = c;
  c.start();
  const ws = FakeWS.instances[0];
  ws.open();
  ws.recv({ v: 1, type: 'snapshot', offset: '100', alarms: [], positions: { id: [], lon: [], lat: [] } });
  ws.recv({ v: 1, type: 'alarm', offset: '1883912374813474817', event: 'raised', alarm_id: 3, alarm: { id: 3 } });
  ws.recv({ v: 1, type: 'offset', offset: '1883912374900000000' });
  assert.equal(got.alarms.length, 1, 'an offset frame is not an alarm');
  assert.equal(c.offset, '1883912374900000000');
  ws.drop(1006);
  await sleep(1100);
  assert.equal(FakeWS.instances[1].url, 'ws://rt.test/api/v1/live?offset=1883912374900000000');
});

test('source frames reach onSource and move the offset; a snapshot carries the estimates', async () => {
  const { c, got } = client();
  const sources = [];
  c.h.onSource = (f) => sources.push(f);
  current = c;
  c.start();
  const ws = FakeWS.instances[0];
  ws.open();
  const est = { incident_id: 4, lat: 51.95, lon: 4.05, through: '2026-01-01T00:00:00Z' };
  ws.recv({ v: 1, type: 'snapshot', offset: '100', alarms: [], incidents: [], sources: [est], positions: { id: [], lon: [], lat: [] } });
  assert.deepEqual(got.snapshots[0].sources, [est]);
  ws.recv({ v: 1, type: 'source', offset: '101', event: 'updated', incident_id: 4, device_id: 7, source: { ...est, lat: 51.951 } });
  assert.equal(sources.length, 1);
  assert.equal(sources[0].source.lat, 51.951);
  assert.equal(c.offset, '101', 'a processed source frame is resumed after');
  ws.recv({ v: 1, type: 'snapshot', offset: '102', recovered: true, positions: { id: [], lon: [], lat: [] } });
  assert.equal(got.snapshots[1].sources, null, 'recovered: keep the estimates');
});

test('a silent socket is dropped: polling at once, then a resumed socket', async () => {
  mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
  const { c, got, states } = client();
  current = c;
  c.start();
  const ws = FakeWS.instances[0];
  ws.open();
  ws.recv({ v: 1, type: 'snapshot', offset: '42', alarms: [], positions: { id: [], lon: [], lat: [] } });
  // Heartbeats (or any frame) keep it alive.
  for (let i = 0; i < 5; i++) {
    mock.timers.tick(SILENT_MS - 1000);
    ws.recv({ v: 1, type: 'heartbeat' });
  }
  assert.equal(ws.closedWith, undefined, 'a socket with heartbeats stays');
  assert.equal(fetched.length, 0, 'no polling while frames arrive');
  assert.equal(states.at(-1), 'live');
  // Then nothing at all.
  mock.timers.tick(SILENT_MS - 1);
  assert.equal(ws.closedWith, undefined, 'not before SILENT_MS');
  mock.timers.tick(1);
  assert.equal(ws.closedWith, 4000, 'closed as silent');
  assert.equal(states.at(-1), 'reconnecting');
  await Promise.resolve(); await Promise.resolve(); await Promise.resolve();
  assert.ok(fetched.some((u) => u.startsWith('/api/v1/alarms?state=open')), 'open alarms polled at once');
  assert.ok(fetched.some((u) => u.startsWith('/api/v1/positions')), 'positions polled at once');
  assert.equal(FakeWS.instances.length, 1, 'reconnects after a backoff');
  mock.timers.tick(1000);
  const ws2 = FakeWS.instances[1];
  assert.ok(ws2, 'reconnected');
  assert.equal(ws2.url, 'ws://rt.test/api/v1/live?offset=42');
  ws2.open();
  assert.equal(states.at(-1), 'live');
  const polls = fetched.length;
  mock.timers.tick(10_000);
  assert.equal(fetched.length, polls, 'polling stops once the socket is back');
  // A late frame of the dropped socket changes nothing.
  assert.equal(ws.onmessage, null);
  assert.equal(got.snapshots.length, 1);
});

test('a handshake that never completes counts as silent', () => {
  mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
  const { c } = client();
  current = c;
  c.start();
  mock.timers.tick(SILENT_MS);
  assert.equal(FakeWS.instances[0].closedWith, 4000);
  mock.timers.tick(1000);
  assert.equal(FakeWS.instances.length, 2, 'a new attempt');
});

test('4001: the credential ended — no resume, no polling, the page must authenticate again', async () => {
  const { c, states } = client();
  current = c;
  const reasons = [];
  c.addEventListener('state', (e) => reasons.push(e.detail.reason));
  c.start();
  FakeWS.instances[0].open();
  FakeWS.instances[0].recv({ v: 1, type: 'snapshot', offset: '5', alarms: [], positions: { id: [], lon: [], lat: [] } });
  FakeWS.instances[0].drop(4001);
  assert.equal(states.at(-1), 'offline');
  assert.equal(reasons.at(-1), 'credential ended');
  await sleep(1200);
  assert.equal(FakeWS.instances.length, 1, 'no reconnect with an ended credential');
  assert.ok(!fetched.some((u) => u.startsWith('/api/v1/positions')), 'no polling with an ended credential');
});
