// Unit tests of the service worker (src/sw/sw.js), run in a VM context
// with a stand-in `self`: the push payload becomes a notification with
// severity, vehicles, peak dose and place; Acknowledge POSTs the incident's
// acknowledge endpoint; a failure says why and opens the app.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import vm from 'node:vm';
import { SW_TEMPLATE, swSource } from '../../scripts/swbuild.mjs';
import { incidentFromHash } from '../../src/pwa.js';

function loadSW({ fetchStatus = 200 } = {}) {
  const listeners = {};
  const notes = [];
  const fetches = [];
  const opened = [];
  const self = {
    location: new URL('https://radtrack.example/sw.js'),
    addEventListener: (t, fn) => { listeners[t] = fn; },
    registration: { showNotification: async (title, options) => { notes.push({ title, options }); } },
    clients: { matchAll: async () => [], openWindow: async (u) => { opened.push(u); }, claim: async () => {} },
    skipWaiting: async () => {},
  };
  const ctx = vm.createContext({
    self, URL, Request: class { constructor(u) { this.url = u; } }, Response, JSON, Date, Number, Array, String, Promise, console,
    caches: { open: async () => ({ addAll: async () => {} }), keys: async () => [], match: async () => undefined },
    fetch: async (url, init) => {
      fetches.push({ url, init });
      if (fetchStatus === 0) throw new TypeError('offline');
      return { status: fetchStatus };
    },
  });
  vm.runInContext(swSource(readFileSync(SW_TEMPLATE, 'utf8'), ['/', '/assets/a.js'], 'test'), ctx);
  return { self, listeners, notes, fetches, opened };
}

// notify's Web Push payload, version 1 (notify/webpush.go pushPayload).
const PAYLOAD = {
  v: 1, key: 'i7-e1-u2', event: 'raised', pages: true, incident: 7, version: 1, state: 'raised', severity: 'alarm',
  title: 'ALARM: OIL3 dose rate — Van 12', body: 'Van 12 — 3.2 µSv/h at Via Roma, Firenze',
  vehicles: ['Van 12', 'Van 14'], peak_usvh: 3.2, place: 'Via Roma, Firenze', lonlat: [11.25, 43.77],
  time: '2026-12-02T10:00:00Z', actions: [{ action: 'acknowledge', title: 'Acknowledge' }],
};

async function push(sw, payload) {
  let wait;
  sw.listeners.push({ data: { json: () => (typeof payload === 'string' ? JSON.parse(payload) : payload) }, waitUntil: (p) => { wait = p; } });
  await wait;
}

test('a push shows severity, vehicles, peak dose and place, with Acknowledge, tagged by incident', async () => {
  const sw = loadSW();
  await push(sw, PAYLOAD);
  assert.equal(sw.notes.length, 1);
  const { title, options } = sw.notes[0];
  assert.equal(title, 'ALARM: OIL3 dose rate — Van 12');
  assert.equal(options.body, 'ALARM · Van 12, Van 14\nPeak 3.20 µSv/h\nat Via Roma, Firenze');
  assert.equal(options.tag, 'incident-7');
  assert.equal(options.renotify, true);
  assert.equal(options.requireInteraction, true);
  assert.equal(options.silent, false);
  assert.deepEqual(JSON.parse(JSON.stringify(options.actions)), [{ action: 'acknowledge', title: 'Acknowledge' }]);
  assert.equal(options.data.incident, 7);
  assert.equal(sw.self.radtrackShown.length, 1, 'the test hook records it');
});

test('an update that does not page is silent and has no action; an unreadable push still shows', async () => {
  const sw = loadSW();
  await push(sw, { ...PAYLOAD, event: 'acknowledged', pages: false, state: 'acknowledged', actions: undefined, peak_usvh: null });
  assert.equal(sw.notes[0].options.silent, true);
  assert.equal(sw.notes[0].options.renotify, false);
  assert.equal(sw.notes[0].options.actions.length, 0);
  assert.match(sw.notes[0].options.body, /Peak no dose reading/);
  await push(sw, '{"v":2}');
  assert.equal(sw.notes[1].title, 'RadTrack alert');
});

test('Acknowledge POSTs the incident acknowledge endpoint with the session cookie', async () => {
  const sw = loadSW();
  const r = await sw.self.radtrackHandleClick('acknowledge', { incident: 7 });
  assert.deepEqual({ ...r }, { acknowledged: true, status: 200 });
  assert.equal(sw.fetches.length, 1);
  assert.equal(sw.fetches[0].url, '/api/v1/incidents/7/acknowledge');
  assert.equal(sw.fetches[0].init.method, 'POST');
  assert.equal(sw.fetches[0].init.credentials, 'same-origin');
  assert.equal(sw.fetches[0].init.headers['Content-Type'], 'application/json');
  assert.equal(sw.notes.at(-1).title, 'Acknowledged incident 7');
  assert.deepEqual(sw.opened, []);
});

test('a digest push lists its pages and its Acknowledge acknowledges every incident it names', async () => {
  const sw = loadSW();
  await push(sw, {
    ...PAYLOAD, digest: true, incident: 12, incidents: [12, 13, 11], keys: ['a', 'b', 'c'],
    title: '3 incidents: CRITICAL incident 12 raised, ALARM incident 13 RE-ALARM +1 more',
    body: 'CRITICAL incident 12 raised\nALARM incident 13 RE-ALARM\nWARNING incident 11 raised',
    actions: [{ action: 'acknowledge', title: 'Acknowledge all 3' }],
  });
  const { options } = sw.notes.at(-1);
  assert.match(options.body, /incident 13 RE-ALARM/);
  assert.deepEqual([...options.data.incidents], [12, 13, 11]);
  const r = await sw.self.radtrackHandleClick('acknowledge', options.data);
  assert.deepEqual({ ...r }, { acknowledged: true, status: 200 });
  assert.deepEqual(sw.fetches.map((f) => f.url), ['/api/v1/incidents/12/acknowledge', '/api/v1/incidents/13/acknowledge', '/api/v1/incidents/11/acknowledge']);
  assert.equal(sw.notes.at(-1).title, 'Acknowledged 3 incidents (12, 13, 11)');
});

test('a refused or impossible acknowledgement says why and opens the incident', async () => {
  for (const [status, why] of [[401, 'log in first'], [403, 'your role cannot acknowledge'], [0, 'server unreachable']]) {
    const sw = loadSW({ fetchStatus: status });
    const r = await sw.self.radtrackHandleClick('acknowledge', { incident: 7 });
    assert.equal(r.acknowledged, false);
    assert.equal(sw.notes.at(-1).title, `Not acknowledged: ${why}`);
    assert.deepEqual(sw.opened, ['https://radtrack.example/#incident=7']);
  }
});

test('a plain click opens the incident; an off-site url is never opened', async () => {
  const sw = loadSW();
  await sw.self.radtrackHandleClick('', { incident: 9, url: 'https://evil.example/x' });
  assert.deepEqual(sw.opened, ['https://radtrack.example/#incident=9']);
  assert.equal(sw.fetches.length, 0);
});

test('incidentFromHash', () => {
  assert.equal(incidentFromHash('#incident=12'), 12);
  assert.equal(incidentFromHash('#x=1&incident=3'), 3);
  assert.equal(incidentFromHash('#incident=abc'), 0);
  assert.equal(incidentFromHash(''), 0);
});
