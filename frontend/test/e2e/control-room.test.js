// End-to-end: the control-room app against a real radtrack server on a
// scratch PostgreSQL database, in headless Chromium.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  dbURL, SKIP_REASON, Server, Api, Browser, ingest, trackRequests, offHost, login, mapIdle, screenshot, sleep,
} from './harness.js';

const adminURL = dbURL();
const PORT_AREA = { lon: 4.05, lat: 51.95 }; // Rotterdam Maasvlakte-ish
// A restricted square around (4.10, 51.96).
const RESTRICTED = [[4.09, 51.955], [4.11, 51.955], [4.11, 51.965], [4.09, 51.965], [4.09, 51.955]];
const OP = { username: 'op-anna', password: 'operator-password-1', role: 'operator' };
const VIEWER = { username: 'view-ben', password: 'viewer-password-12', role: 'viewer' };

describe('control room', { skip: adminURL ? false : SKIP_REASON, timeout: 600_000 }, () => {
  let server;
  let admin;
  let browser;
  let browser2;
  const devices = []; // {device, token}
  const requests = [];
  let fenceId;
  let simulator;

  before(async () => {
    server = await Server.start(adminURL);
    admin = await Api.login(server.base, server.adminUser, server.adminPassword);
    await admin.call('POST', '/users', OP);
    await admin.call('POST', '/users', VIEWER);
    for (let i = 1; i <= 12; i++) {
      devices.push(await admin.call('POST', '/devices', { name: `Van-${i}`, uid: `van-${i}`, group: i <= 6 ? 'port-north' : 'port-south' }));
    }
    const fence = await admin.call('POST', '/fences', {
      type: 'Feature', geometry: { type: 'Polygon', coordinates: [RESTRICTED] }, properties: { name: 'Container yard B', kind: 'restricted' },
    });
    fenceId = fence.id;
    await admin.call('POST', '/fences', {
      type: 'Feature', geometry: { type: 'Point', coordinates: [4.0, 51.97] }, properties: { name: 'Gate 4 monitoring', kind: 'monitoring', radius_m: 600 },
    });
    await admin.call('POST', '/fences', {
      type: 'Feature', geometry: { type: 'LineString', coordinates: [[3.98, 51.94], [4.03, 51.935], [4.08, 51.94]] }, properties: { name: 'Quay road patrol', kind: 'patrol', half_width_m: 80 },
    });
    await admin.call('POST', '/rules', {
      name: 'Dose in container yard', kind: 'zone', severity: 'critical', enabled: true, zone: { fence_id: fenceId, threshold_usvh: 0.5 },
    });
    // Thirty minutes of history for vans 2..12 (van 1 is kept for the test
    // samples), then a sample every 2 s while the tests run.
    const DOSES = [0.08, 0.12, 0.15, 0.3, 0.11, 0.7, 0.09, 0.14, 2.5, 0.1, 0.13];
    const sampleAt = (k, i, t) => {
      const a = (k / 11) * 2 * Math.PI + i / 40;
      return {
        time: new Date(t).toISOString(),
        lon: PORT_AREA.lon - 0.06 + 0.12 * (k / 11) + 0.01 * Math.cos(a),
        lat: PORT_AREA.lat - 0.015 + 0.01 * Math.sin(a) + 0.002 * (k % 4),
        dose_rate: DOSES[k] * (1 + 0.2 * Math.sin(i / 5)),
        speed: 8 + k, heading: Math.round((k * 33 + i * 3) % 360), battery: 90 - k,
      };
    };
    const now = Date.now();
    await Promise.all(devices.slice(1).map((d, k) => {
      const samples = [];
      for (let i = -60; i <= 0; i++) samples.push(sampleAt(k, i, now + i * 30_000));
      return ingest(server.base, d.token, samples);
    }));
    let step = 0;
    simulator = setInterval(() => {
      step++;
      for (const [k, d] of devices.slice(1).entries()) {
        ingest(server.base, d.token, [sampleAt(k, step / 15, Date.now())]).catch(() => {});
      }
    }, 2000);
    browser = await Browser.launch();
    // The second session stands for another control-room screen; without
    // motion it is not repainted twice a second (software WebGL here).
    browser2 = await Browser.launch({ reducedMotion: 'reduce', viewport: { width: 1100, height: 700 } });
  });

  after(async () => {
    clearInterval(simulator);
    if (browser) await browser.close();
    if (browser2) await browser2.close();
    if (server) await server.stop();
  });

  async function openPage(b, user) {
    const page = await b.context.newPage();
    requests.push(trackRequests(page));
    page.on('pageerror', (err) => console.error('page error:', err.message));
    await login(page, server.base, user.username, user.password);
    return page;
  }

  let opPage;

  it('logs in and shows the live map with vehicles and fences', async () => {
    const page = await browser.context.newPage();
    requests.push(trackRequests(page));
    await page.goto(server.base + '/');
    await page.waitForSelector('#login-user');
    await screenshot(page, '01-login.png');
    await page.fill('#login-user', OP.username);
    await page.fill('#login-pass', 'wrong-password-xx');
    await page.click('button[type=submit]');
    await page.waitForSelector('.login-card .error:not(:empty)');
    await page.fill('#login-pass', OP.password);
    await page.click('button[type=submit]');
    // The app is wired once the map has loaded its style; map.loaded() is
    // rarely true for long while live positions stream in on a busy machine.
    await page.waitForFunction(() => window.radtrack && window.radtrack.vehicles, null, { timeout: 60_000, polling: 100 });
    await page.evaluate(() => window.radtrack.map.basemapReady);
    await page.waitForFunction(() => window.radtrack.vehicles.byId.size >= 11, null, { timeout: 30_000, polling: 200 });
    assert.match(await page.textContent('.user'), /op-anna · operator/);
    const state = await page.textContent('.conn');
    console.log(`# connection state: ${state}`);
    await page.evaluate(() => window.radtrack.map.jumpTo({ center: [4.05, 51.95], zoom: 11.5 }));
    await mapIdle(page);
    const land = await page.evaluate(() => window.radtrack.map.querySourceFeatures('land').length);
    assert.ok(land > 0, 'basemap land is loaded');
    await screenshot(page, '02-live-map.png');
    opPage = page;
  });

  it('shows a posted sample at the right place with the right colour', async () => {
    const page = opPage;
    const d = devices[0];
    const lon = 4.0321, lat = 51.9456;
    await ingest(server.base, d.token, [{ time: new Date().toISOString(), lon, lat, dose_rate: 0.35, speed: 5, heading: 90, battery: 77 }]);
    await page.waitForFunction((id) => {
      const v = window.radtrack.vehicles.byId.get(id);
      return v && v.dose === 0.35;
    }, d.device.id, { timeout: 10_000 });
    await page.evaluate(([x, y]) => window.radtrack.map.jumpTo({ center: [x, y], zoom: 12 }), [lon, lat]);
    await mapIdle(page);
    const got = await page.evaluate(async ([id, x, y]) => {
      const map = window.radtrack.map;
      const p = map.project([x, y]);
      const feats = map.queryRenderedFeatures([p.x, p.y], { layers: ['vehicles'] });
      const f = feats.find((k) => k.id === id);
      // Read the rendered pixel at the projected point.
      const canvas = map.getCanvas();
      const img = new Image();
      img.src = canvas.toDataURL('image/png');
      await img.decode();
      const c = document.createElement('canvas');
      c.width = img.width;
      c.height = img.height;
      const ctx = c.getContext('2d');
      ctx.drawImage(img, 0, 0);
      const dpr = canvas.width / canvas.clientWidth;
      const px = ctx.getImageData(Math.round(p.x * dpr), Math.round(p.y * dpr), 1, 1).data;
      const src = map.getSource('vehicles')._data; // eslint-disable-line no-underscore-dangle
      const geo = f ? f.geometry.coordinates : null;
      return { found: !!f, props: f && f.properties, geo, pixel: [px[0], px[1], px[2]], srcKind: typeof src };
    }, [d.device.id, lon, lat]);
    assert.ok(got.found, 'the vehicle is rendered at its projected position');
    assert.equal(got.props.dose, 0.35);
    assert.ok(Math.abs(got.geo[0] - lon) < 1e-4 && Math.abs(got.geo[1] - lat) < 1e-4, `position ${got.geo}`);
    const want = [0xd4, 0xe3, 0x3b]; // 0.2–0.5 µSv/h class
    const diff = Math.max(...want.map((w, i) => Math.abs(w - got.pixel[i])));
    assert.ok(diff <= 24, `pixel ${got.pixel} should be the 0.2–0.5 colour ${want}`);
    // Side panel with the 30-minute chart.
    await page.evaluate((id) => window.radtrack.vehicles.select(id), devices[8].device.id);
    await page.waitForSelector('.vehicle-panel:not([hidden]) svg.dose-chart');
    await page.evaluate((id) => {
      const v = window.radtrack.vehicles.byId.get(id);
      window.radtrack.map.jumpTo({ center: [v.lon + 0.004, v.lat], zoom: 14 });
    }, devices[8].device.id);
    await mapIdle(page);
    assert.match(await page.textContent('.vehicle-panel'), /Van-9/);
    assert.match(await page.textContent('.vehicle-panel'), /Battery\s*83 %/);
    await screenshot(page, '03-vehicle-panel.png');
    await page.evaluate(() => window.radtrack.vehicles.select(null));
  });

  let viewerPage;
  let alarmId; // the zone alarm
  let card; // the selector of the incident card holding it

  // alarmIds lists the alarms the panel shows: rule chips of incident
  // cards and cards of alarms not filed into an incident.
  const shownAlarmIds = () => [...document.querySelectorAll('.rule-chip[data-alarm-id], .alarm-card[data-alarm-id]')]
    .flatMap((e) => (e.dataset.alarmIds || e.dataset.alarmId).split(' '));
  const newAlarmShown = ([known, rule]) => [...document.querySelectorAll('.rule-chip[data-alarm-id], .alarm-card[data-alarm-id]')]
    .some((e) => (e.dataset.alarmIds || e.dataset.alarmId).split(' ').some((id) => !known.includes(id)) && new RegExp(rule).test(e.textContent));

  it('raises an alarm in the panel within 2 s of a high dose in a restricted zone, in one incident card', async () => {
    viewerPage = await openPage(browser2, VIEWER);
    await mapIdle(viewerPage);
    const page = opPage;
    // A calm room: what the simulated fleet raised so far is acknowledged.
    const { alarms: open } = await admin.call('GET', '/alarms?state=raised');
    for (const a of open) await admin.call('POST', `/alarms/${a.id}/acknowledge`, { comment: 'seen' });
    await page.evaluate(() => window.radtrack.selectTab('alarms'));
    const before = await page.evaluate(shownAlarmIds);
    const d = devices[0];
    // Fences need two consecutive samples inside (hysteresis); the level
    // rule (OIL3, 1 µSv/h) fires on the first.
    await ingest(server.base, d.token, [{ time: new Date(Date.now() - 1000).toISOString(), lon: 4.1, lat: 51.96, dose_rate: 5.2, speed: 3, heading: 45 }]);
    let t0 = Date.now();
    await page.waitForFunction(newAlarmShown, [before, 'OIL3'], { timeout: 2000 });
    console.log(`# OIL3 alarm visible after ${Date.now() - t0} ms`);
    await ingest(server.base, d.token, [{ time: new Date().toISOString(), lon: 4.1, lat: 51.96, dose_rate: 5.4, speed: 3, heading: 45 }]);
    t0 = Date.now();
    await page.waitForFunction(newAlarmShown, [before, 'Dose in container yard'], { timeout: 2000 });
    const ms = Date.now() - t0;
    console.log(`# alarm visible after ${ms} ms`);
    // One pass, one incident: its rules are chips of one card.
    await page.waitForFunction(() => [...document.querySelectorAll('.incident-card')].some((c) => /Dose in container yard/.test(c.textContent) && /OIL3/.test(c.textContent)), null, { timeout: 3000 });
    ({ alarmId, card } = await page.evaluate(() => {
      const chip = [...document.querySelectorAll('.incident-card .rule-chip')].find((e) => /Dose in container yard/.test(e.textContent));
      return { alarmId: chip.dataset.alarmId, card: `.incident-card[data-incident-id="${chip.closest('.incident-card').dataset.incidentId}"]` };
    }));
    await page.waitForFunction((sel) => /Restricted zone entered/.test(document.querySelector(sel)?.textContent || ''), card, { timeout: 3000 });
    const chips = await page.$$eval(`${card} .rule-chip`, (els) => els.map((e) => e.textContent));
    console.log(`# incident card chips: ${chips.join(' | ')}`);
    assert.ok(chips.some((c) => /OIL3/.test(c)) && chips.some((c) => /Restricted zone entered/.test(c)), `chips ${chips}`);
    const cls = await page.getAttribute(card, 'class');
    assert.match(cls, /fresh/, 'a new incident is highlighted');
    assert.match(cls, /sev-critical/, 'the incident takes its most severe alarm');
    assert.ok(await page.isVisible('.alarm-banner'), 'the top bar shows the new alarm');
    await viewerPage.waitForSelector(card, { timeout: 3000 });
    assert.equal(await viewerPage.$(`${card} [data-action="ack"]`), null, 'viewers cannot acknowledge');
    assert.equal(await viewerPage.$('[data-draw]'), null, 'viewers cannot draw fences');
    assert.equal(await viewerPage.$('#tab-admin'), null, 'viewers have no admin tab');
    // Click → the map flies to the peak.
    await page.click(`${card} .alarm-rule`);
    await page.waitForFunction(() => !window.radtrack.map.isMoving() && window.radtrack.map.getZoom() >= 14.9, null, { timeout: 5000 });
    const c = await page.evaluate(() => window.radtrack.map.getCenter().toArray());
    assert.ok(Math.abs(c[0] - 4.1) < 1e-3 && Math.abs(c[1] - 51.96) < 1e-3, `map centre ${c}`);
    await page.evaluate(() => window.radtrack.map.jumpTo({ center: [4.07, 51.955], zoom: 13 }));
    await mapIdle(page);
    await screenshot(page, '04-alarm-panel.png');
  });

  it('one acknowledgement and one resolution for the incident, seen by a second session, audited per alarm', async () => {
    const page = opPage;
    const ids = await page.$$eval(`${card} .rule-chip`, (els) => els.flatMap((e) => e.dataset.alarmIds.split(' ')));
    await page.click(`${card} [data-action="ack"]`);
    await page.fill(`${card} input[name=comment]`, 'Crew dispatched to yard B');
    await page.click(`${card} button[type=submit]`);
    // Generous: on a loaded 2-core machine the round trip (store, incident
    // event, live frame, re-render) took longer than 3 s once; the 2-s
    // alarm budget is checked by the raise test above.
    await page.waitForSelector(`${card}.state-acknowledged`, { timeout: 10_000 });
    await viewerPage.waitForSelector(`${card}.state-acknowledged`, { timeout: 10_000 });
    assert.match(await viewerPage.textContent(card), /acknowledged by op-anna/);
    for (const id of ids) {
      const { alarm } = await admin.call('GET', `/alarms/${id}`);
      assert.equal(alarm.state, 'acknowledged', `alarm ${id} (${alarm.rule_name})`);
      assert.equal(alarm.acked_by, OP.username);
    }
    // Resolve with an adjudication code.
    await page.click(`${card} [data-action="resolve"]`);
    await page.selectOption(`${card} select[name=code]`, 'innocent_medical');
    await page.fill(`${card} input[name=comment]`, 'Patient after thyroid treatment');
    await screenshot(page, '05a-incident-resolve.png');
    await page.click(`${card} button[type=submit]`);
    await page.waitForSelector(card, { state: 'detached', timeout: 10_000 });
    await viewerPage.waitForSelector(card, { state: 'detached', timeout: 10_000 });
    for (const id of ids) {
      const { alarm } = await admin.call('GET', `/alarms/${id}`);
      assert.equal(alarm.state, 'resolved', `alarm ${id} (${alarm.rule_name})`);
      assert.equal(alarm.code, 'innocent_medical');
    }
    // History with the audit trail.
    await page.evaluate(() => window.radtrack.selectTab('history'));
    await page.waitForSelector(`.history tr[data-alarm-id="${alarmId}"]`);
    await page.click(`.history tr[data-alarm-id="${alarmId}"]`);
    await page.waitForSelector('.alarm-detail .timeline li');
    const trail = await page.textContent('.alarm-detail .timeline');
    assert.match(trail, /acknowledged by op-anna/);
    assert.match(trail, /resolved by op-anna — Innocent: medical/);
    // The alarm's readings as N42.42, read by the server's own route.
    const n42 = await page.evaluate(async () => {
      const res = await fetch(document.querySelector('.alarm-detail .exports a[data-format="n42"]').href);
      return { status: res.status, text: await res.text() };
    });
    assert.equal(n42.status, 200);
    assert.match(n42.text, /<RadInstrumentData xmlns="http:\/\/physics.nist.gov\/N42\/2011\/N42"/);
    assert.match(n42.text, /<DoseRateValue>/);
    await screenshot(page, '05-alarm-history.png');
    await viewerPage.close(); // software WebGL: one rendering page at a time from here
  });

  it('reconnects after the socket drops and resumes without losing alarms', async (t) => {
    const page = opPage;
    const live = await page.evaluate(() => window.radtrack.live.state);
    if (live !== 'live') {
      t.skip(`no live WebSocket (state ${live}): the UI is polling`);
      return;
    }
    const before = await page.evaluate(() => window.radtrack.live.snapshots);
    // Record what the connection indicator says: the socket may be back
    // before the test could read it.
    await page.evaluate(() => {
      const conn = document.querySelector('.conn');
      window.__connTexts = [];
      new MutationObserver((muts) => muts.forEach((m) => m.addedNodes.forEach((n) => window.__connTexts.push(n.textContent)))).observe(conn, { childList: true });
    });
    await page.evaluate(() => window.radtrack.live.ws.close(4000, 'test drop'));
    await page.waitForFunction(() => window.__connTexts.some((t) => /Reconnecting/.test(t)), null, { timeout: 5000 });
    // Raised while the client is away: one reading at 4× OIL2, which the
    // dose path raises on alone (DoseSingleFactor 3); 150 µSv/h needed a
    // second hot reading within LevelMaxGapS and so depended on how long the
    // previous test took.
    await ingest(server.base, devices[0].token, [{ time: new Date().toISOString(), lon: 4.1, lat: 51.96, dose_rate: 400, speed: 2, heading: 10 }]);
    await page.waitForFunction((n) => window.radtrack.live.state === 'live' && window.radtrack.live.snapshots > n, before, { timeout: 15_000 });
    assert.equal(await page.evaluate(() => window.radtrack.live.lastRecovered), true, 'resumed from its offset');
    await page.waitForFunction(() => [...document.querySelectorAll('.alarm-card')].some((e) => /OIL2/.test(e.textContent)), null, { timeout: 5000 });
  });

  it('draws a polygon fence and shows server validation errors', async () => {
    const page = opPage;
    await page.evaluate(() => window.radtrack.selectTab('fences'));
    await page.evaluate(() => window.radtrack.map.jumpTo({ center: [4.02, 51.95], zoom: 13 }));
    await mapIdle(page);
    const box = await page.locator('#map').boundingBox();
    const cx = box.x + box.width / 2, cy = box.y + box.height / 2;
    await page.click('[data-draw="polygon"]');
    const pts = [[-120, -80], [100, -90], [130, 70], [-90, 100]];
    for (const [dx, dy] of pts) {
      await page.mouse.click(cx + dx, cy + dy);
      await sleep(120);
    }
    await page.mouse.move(cx + 40, cy + 140);
    await screenshot(page, '06-fence-drawing.png');
    await page.keyboard.press('Enter');
    await page.fill('.fence-form input[name=name]', 'Drawn inspection area');
    await page.selectOption('.fence-form select[name=kind]', 'monitoring');
    await page.click('.fence-form button[type=submit]');
    await page.waitForSelector('.fence-form', { state: 'detached', timeout: 5000 });
    const fc = await admin.call('GET', '/fences');
    const f = fc.features.find((x) => x.properties.name === 'Drawn inspection area');
    assert.ok(f, 'the fence was created');
    assert.equal(f.geometry.type, 'Polygon');
    assert.equal(f.geometry.coordinates[0].length, 5);
    assert.equal(f.properties.kind, 'monitoring');
    const first = await page.evaluate(([x, y]) => window.radtrack.map.unproject([x, y]).toArray(), [cx + pts[0][0] - box.x, cy + pts[0][1] - box.y]);
    assert.ok(Math.abs(f.geometry.coordinates[0][0][0] - first[0]) < 1e-4, 'first vertex where it was clicked');
    // A circle with an impossible radius: the server says why, next to the field.
    await page.click('[data-draw="circle"]');
    await page.mouse.click(cx - 200, cy);
    await page.mouse.click(cx - 150, cy);
    await page.fill('.fence-form input[name=name]', 'Too big');
    await page.fill('.fence-form input[name=radius_m]', '20000000');
    await page.click('.fence-form button[type=submit]');
    await page.waitForSelector('.fence-form .error:not(:empty)');
    assert.match(await page.textContent('.fence-form .error'), /radius_m/);
    assert.equal(await page.getAttribute('.fence-form input[name=radius_m]', 'aria-invalid'), 'true');
    await page.click('.fence-form button[type=button]');
    await page.waitForFunction(() => document.querySelectorAll('.fence-item').length === 4);
    await mapIdle(page);
    await screenshot(page, '07-fences.png');
  });

  it('draws a corridor, drags a polygon vertex and deletes a fence', async () => {
    const page = opPage;
    await page.evaluate(() => window.radtrack.map.jumpTo({ center: [4.02, 51.95], zoom: 13 }));
    await mapIdle(page);
    const box = await page.locator('#map').boundingBox();
    const cx = box.x + box.width / 2, cy = box.y + box.height / 2;
    // Corridor: three clicks, the last a double-click.
    await page.click('[data-draw="corridor"]');
    await page.mouse.click(cx + 100, cy - 250);
    await sleep(150);
    await page.mouse.click(cx + 200, cy - 180);
    await sleep(150);
    await page.mouse.dblclick(cx + 320, cy - 220);
    await page.waitForFunction(() => window.radtrack.editor.phase === 'edit');
    await page.fill('.fence-form input[name=name]', 'Drawn quay corridor');
    await page.selectOption('.fence-form select[name=kind]', 'patrol');
    await page.fill('.fence-form input[name=half_width_m]', '40');
    await page.click('.fence-form button[type=submit]');
    await page.waitForSelector('.fence-form', { state: 'detached', timeout: 5000 });
    let fc = await admin.call('GET', '/fences');
    const corridor = fc.features.find((x) => x.properties.name === 'Drawn quay corridor');
    assert.ok(corridor, 'corridor created');
    assert.equal(corridor.geometry.type, 'LineString');
    assert.equal(corridor.geometry.coordinates.length, 3, 'the double-click adds one vertex, not two');
    assert.equal(corridor.properties.half_width_m, 40);
    // Edit the drawn polygon: drag its first vertex.
    const poly = fc.features.find((x) => x.properties.name === 'Drawn inspection area');
    await page.click(`.fence-item[data-fence-id="${poly.properties.id}"] button:has-text("Edit")`);
    await mapIdle(page);
    const v0 = poly.geometry.coordinates[0][0];
    const p0 = await page.evaluate((c) => window.radtrack.map.project(c), v0);
    await page.mouse.move(box.x + p0.x, box.y + p0.y);
    await page.mouse.down();
    await page.mouse.move(box.x + p0.x + 20, box.y + p0.y + 25, { steps: 5 });
    await page.mouse.up();
    await page.click('.fence-form button[type=submit]');
    await page.waitForSelector('.fence-form', { state: 'detached', timeout: 5000 });
    fc = await admin.call('GET', '/fences');
    const moved = fc.features.find((x) => x.properties.id === poly.properties.id);
    assert.notDeepEqual(moved.geometry.coordinates[0][0], v0, 'the vertex moved');
    assert.ok(moved.geometry.coordinates[0][0][0] > v0[0] && moved.geometry.coordinates[0][0][1] < v0[1], 'right and down');
    await mapIdle(page);
    await screenshot(page, '07b-fence-edited.png');
    // Delete the corridor (confirm dialog).
    page.once('dialog', (d) => d.accept());
    await page.click(`.fence-item[data-fence-id="${corridor.properties.id}"] button:has-text("Delete")`);
    await page.waitForSelector(`.fence-item[data-fence-id="${corridor.properties.id}"]`, { state: 'detached' });
    fc = await admin.call('GET', '/fences');
    assert.equal(fc.features.some((x) => x.properties.id === corridor.properties.id), false);
  });

  it('replays tracks coloured by dose', async () => {
    const page = opPage;
    await page.evaluate(() => window.radtrack.selectTab('replay'));
    for (const i of [4, 6, 9]) await page.check(`.device-pick input[value="${devices[i].device.id}"]`);
    await page.click('.replay button[type=submit]');
    await page.waitForFunction(() => /samples on 3 of 3/.test(document.querySelector('.replay [role=status]').textContent), null, { timeout: 10_000 });
    await page.fill('.replay input[type=range]', '700');
    await page.dispatchEvent('.replay input[type=range]', 'input');
    await mapIdle(page);
    const markers = await page.evaluate(() => new Set(window.radtrack.map.queryRenderedFeatures({ layers: ['replay-markers'] }).map((f) => f.id)).size);
    assert.equal(markers, 3);
    const segs = await page.evaluate(() => window.radtrack.map.queryRenderedFeatures({ layers: ['replay-tracks'] }).length);
    assert.ok(segs > 100, `track segments ${segs}`);
    // Each loaded track is offered as files; the GPX one downloads with the session.
    assert.equal(await page.locator('.replay .exports').count(), 3);
    const gpx = await page.evaluate(async () => {
      const href = document.querySelector('.replay .exports a[data-format="gpx"]').href;
      const res = await fetch(href);
      // The same range as JSON says how many points the file must hold
      // (the simulated fleet's samples all have a fix).
      const json = await (await fetch(href.replace('format=gpx', 'format=json'))).json();
      return { status: res.status, type: res.headers.get('content-type'), text: await res.text(), samples: json.samples.length };
    });
    assert.equal(gpx.status, 200);
    assert.equal(gpx.type, 'application/gpx+xml');
    const points = (gpx.text.match(/<trkpt /g) || []).length;
    assert.ok(points > 10 && points === gpx.samples, `${points} track points for ${gpx.samples} samples: ${gpx.text.slice(0, 300)}`);
    await screenshot(page, '08-replay.png');
    await page.click('.replay button:has-text("Back to live")');
  });

  it('shows the heatmap panel', async () => {
    const page = opPage;
    await page.evaluate(() => window.radtrack.selectTab('heatmap'));
    await page.evaluate(() => window.radtrack.map.jumpTo({ center: [4.05, 51.95], zoom: 12 }));
    await page.click('.heatmap button[type=submit]');
    await page.waitForFunction(() => !/Loading/.test(document.querySelector('.heatmap [role=status]').textContent) && document.querySelector('.heatmap [role=status]').textContent);
    const msg = await page.textContent('.heatmap [role=status]');
    console.log(`# heatmap: ${msg}`);
    await mapIdle(page);
    await screenshot(page, '09-heatmap.png');
  });

  it('admins manage users and devices', async () => {
    const b = await Browser.launch();
    const page = await openPage(b, { username: server.adminUser, password: server.adminPassword });
    await page.evaluate(() => window.radtrack.selectTab('admin'));
    await page.waitForSelector('.admin table');
    await page.fill('input[aria-label="New device name"]', 'Van-99');
    await page.click('.admin form:nth-of-type(2) button[type=submit]');
    await page.waitForSelector('.secret:not(:empty)');
    assert.match(await page.textContent('.secret'), /Token for Van-99/);
    await screenshot(page, '10-admin.png');
    await b.close();
  });

  it('keeps up with 2 000 vehicles updating every second', async () => {
    const page = opPage;
    const res = await page.evaluate(async () => {
      const { vehicles, map } = window.radtrack;
      map.jumpTo({ center: [4.05, 51.95], zoom: 9 });
      const N = 2000;
      const ids = Array.from({ length: N }, (_, i) => 1_000_000 + i);
      const frames = [];
      let last = performance.now();
      let running = true;
      const tick = (now) => { frames.push(now - last); last = now; if (running) requestAnimationFrame(tick); };
      requestAnimationFrame(tick);
      const flushes0 = vehicles.flushes || 0;
      // Time spent in the app's own code (apply + flush), not in MapLibre.
      let appMs = 0;
      const timed = (obj, name) => {
        const orig = obj[name];
        obj[name] = function (...args) {
          const t = performance.now();
          try { return orig.apply(this, args); } finally { appMs += performance.now() - t; }
        };
        return () => { obj[name] = orig; };
      };
      const undo = [timed(vehicles, 'applyColumns'), timed(vehicles, 'flush')];
      const wall0 = performance.now();
      for (let s = 0; s < 6; s++) {
        const cols = { id: ids, t: [], lon: [], lat: [], dose: [], spd: [], hdg: [] };
        for (let i = 0; i < N; i++) {
          cols.t.push(Date.now());
          cols.lon.push(3.6 + (i % 50) * 0.018 + s * 0.001);
          cols.lat.push(51.75 + Math.floor(i / 50) * 0.01);
          cols.dose.push(((i * 7) % 100) / 60);
          cols.spd.push(10);
          cols.hdg.push((i * 13 + s * 10) % 360);
        }
        // A second's worth of frames arrive as ten 100 ms ticks.
        for (let k = 0; k < 10; k++) {
          const part = { id: [], t: [], lon: [], lat: [], dose: [], spd: [], hdg: [] };
          for (let i = k; i < N; i += 10) for (const key of Object.keys(part)) part[key].push(cols[key][i]);
          vehicles.applyColumns(part, false);
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      const wallMs = performance.now() - wall0;
      undo.forEach((f) => f());
      running = false;
      await new Promise((r) => map.once('idle', r));
      const rendered = map.queryRenderedFeatures({ layers: ['vehicles'] }).filter((f) => f.id >= 1_000_000).length;
      frames.sort((a, b) => a - b);
      const result = {
        frames: frames.length, flushes: (vehicles.flushes || 0) - flushes0,
        medianFrameMs: Math.round(frames[Math.floor(frames.length / 2)]), p95FrameMs: Math.round(frames[Math.floor(frames.length * 0.95)]), rendered,
        appMsPerSecond: Math.round((appMs / wallMs) * 1000),
      };
      for (const id of ids) vehicles.remove(id);
      return result;
    });
    console.log(`# 2000 vehicles: ${JSON.stringify(res)}`);
    assert.ok(res.flushes <= res.frames, 'at most one source update per frame');
    assert.ok(res.rendered > 1900, `rendered ${res.rendered}`);
    // The app's own work stays small; frame times here measure software
    // WebGL (SwiftShader) on a shared 2-core machine, so only a loose bound.
    assert.ok(res.appMsPerSecond < 150, `app code ${res.appMsPerSecond} ms per second`);
    assert.ok(res.medianFrameMs < 1000, `median frame ${res.medianFrameMs} ms`);
  });

  it('made no request to any other host', () => {
    const all = requests.flat();
    assert.ok(all.length > 10);
    const off = offHost(all, server.base);
    assert.deepEqual(off, [], `off-host requests: ${off.join(', ')}`);
  });
});
