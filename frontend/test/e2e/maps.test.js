// End-to-end: the map shows where vehicles really are (issue #16) and the
// map fixes of issue #13 — with the real Florence OpenStreetMap archive
// served by our server, in headless Chromium, with no request off the host.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  dbURL, SKIP_REASON, Server, Api, Browser, ingest, trackRequests, offHost, screenshot, sleep,
  florencePath, countPixels, tilesLoaded,
} from './harness.js';

const adminURL = dbURL();
const archive = adminURL ? florencePath() : null;
const skip = !adminURL ? SKIP_REASON : !archive ? 'the Florence archive (../shared/data/maps) is missing: map tests skipped' : false;
const OP = { username: 'op-lucia', password: 'operator-password-7', role: 'operator' };
const BASEMAP = 'firenze_osm_protomaps';
const DUOMO = [11.2558, 43.7731];
// A restricted square by the river, named in Chinese (the first users are in China).
const CN_FENCE = [[11.2500, 43.7680], [11.2560, 43.7680], [11.2560, 43.7710], [11.2500, 43.7710], [11.2500, 43.7680]];

describe('maps', { skip, timeout: 900_000 }, () => {
  let server;
  let admin;
  let browser;
  let page;
  const requests = [];
  const devices = [];
  let sim;

  before(async () => {
    // A CJK font must be installed for Chinese labels (scripts/test.sh
    // installs fonts-wqy-zenhei); without one they would be empty boxes.
    const { stdout } = await promisify(execFile)('fc-list', [':lang=zh', 'family']);
    if (!stdout.trim()) throw new Error('no CJK font installed: apt-get install fonts-wqy-zenhei');
    server = await Server.start(adminURL, { args: ['-basemap', archive] });
    admin = await Api.login(server.base, server.adminUser, server.adminPassword);
    await admin.call('POST', '/users', OP);
    const names = ['Pattuglia 1', '巡逻车 2', 'Pattuglia 3'];
    for (const [i, name] of names.entries()) {
      devices.push(await admin.call('POST', '/devices', { name, uid: `fi-${i + 1}`, group: i === 1 ? 'cn' : 'it' }));
    }
    await admin.call('POST', '/fences', { type: 'Feature', geometry: { type: 'Polygon', coordinates: [CN_FENCE] }, properties: { name: '检查站 A', kind: 'restricted' } });
    // Vehicles parked around the Duomo, reporting every 2 s while the tests run.
    const at = (i) => [DUOMO[0] - 0.004 + 0.004 * i, DUOMO[1] + 0.001 * (i - 1)];
    const post = () => Promise.all(devices.map((d, i) => ingest(server.base, d.token, [{ time: new Date().toISOString(), lon: at(i)[0], lat: at(i)[1], dose_rate: 0.1 + 0.02 * i, speed: i === 0 ? 5 : 0, heading: 90 }])));
    await post();
    sim = setInterval(() => post().catch(() => {}), 2000);
    browser = await Browser.launch({ viewport: { width: 1400, height: 900 }, reducedMotion: 'reduce' });
  });

  after(async () => {
    clearInterval(sim);
    if (browser) await browser.close();
    if (server) await server.stop();
  });

  it('logs in and draws vehicles and the Florence basemap (timed)', async () => {
    page = await browser.context.newPage();
    requests.push(trackRequests(page));
    page.on('pageerror', (err) => console.error('page error:', err.message));
    await page.goto(server.base + '/');
    await page.fill('#login-user', OP.username);
    await page.fill('#login-pass', OP.password);
    const t0 = Date.now();
    await page.click('button[type=submit]');
    await page.waitForFunction((n) => window.radtrack && window.radtrack.basemaps && window.radtrack.basemaps.current
      && window.radtrack.vehicles.byId.size >= n, devices.length, { timeout: 60_000, polling: 100 });
    await page.evaluate((c) => window.radtrack.map.jumpTo({ center: c, zoom: 15 }), DUOMO);
    await tilesLoaded(page);
    const drawn = await page.evaluate((bm) => ({
      vehicles: window.radtrack.map.queryRenderedFeatures({ layers: ['vehicles'] }).length,
      roads: window.radtrack.map.queryRenderedFeatures({ layers: [`bm-${bm}-roads`] }).length,
    }), BASEMAP);
    const ms = Date.now() - t0;
    console.log(`# login → vehicles and basemap drawn: ${ms} ms (${drawn.vehicles} vehicles, ${drawn.roads} road features)`);
    assert.equal(drawn.vehicles, devices.length);
    assert.ok(drawn.roads > 50, `roads rendered: ${drawn.roads}`);
    assert.equal(await page.evaluate(() => window.radtrack.basemaps.current.id), BASEMAP, 'the configured archive is the default basemap');
    assert.equal(await page.$eval('.basemap-switcher select', (s) => s.value), BASEMAP);
  });

  it('renders Florence streets and names from the archive (features and pixels)', async () => {
    const q = await page.evaluate((bm) => {
      const m = window.radtrack.map;
      const named = (layer) => m.queryRenderedFeatures({ layers: [`bm-${bm}-${layer}`] }).map((f) => f.properties.name).filter(Boolean);
      return { roads: named('road-names'), places: named('places'), water: m.queryRenderedFeatures({ layers: [`bm-${bm}-water`] }).length, buildings: m.queryRenderedFeatures({ layers: [`bm-${bm}-buildings`] }).length };
    }, BASEMAP);
    console.log(`# Florence z15: ${q.roads.length} road labels (e.g. ${[...new Set(q.roads)].slice(0, 4).join(', ')}), places ${[...new Set(q.places)].slice(0, 4).join(', ')}`);
    assert.ok(new Set(q.roads).size >= 10, `named streets: ${[...new Set(q.roads)].join(', ')}`);
    assert.ok(q.places.length >= 1, 'a named place');
    assert.ok(q.buildings > 100 && q.water > 0, `buildings ${q.buildings}, water ${q.water}`);
    await screenshot(page, 'm01-florence-z15.png');
    // Pixels: roads are drawn in their colours; labels in light text.
    // The same view on the Natural Earth atlas alone has neither.
    const roadish = (r, g, b) => Math.abs(r - g) < 24 && Math.abs(g - b) < 30 && r >= 0x36 && r <= 0x95 && b >= 0x40;
    // Label text: the style's blue-grey label colours (#8595a8 street
    // names, #b9c6d4 and #d5dee8 places), brighter than any road fill.
    const light = (r, g, b) => r > 110 && g > 125 && b > 140 && Math.abs(r - g) < 30 && Math.abs(g - b) < 30;
    const withMap = { roads: await countPixels(page, roadish), text: await countPixels(page, light) };
    await page.evaluate((bm) => window.radtrack.map.getStyle().layers.filter((l) => l.id.startsWith(`bm-${bm}`) && l.type === 'symbol')
      .forEach((l) => window.radtrack.map.setLayoutProperty(l.id, 'visibility', 'none')), BASEMAP);
    await tilesLoaded(page);
    const noLabels = await countPixels(page, light);
    await page.evaluate(() => window.radtrack.basemaps.use('natural-earth'));
    await tilesLoaded(page);
    const atlas = { roads: await countPixels(page, roadish), text: await countPixels(page, light) };
    console.log(`# pixels: roads ${withMap.roads} (atlas ${atlas.roads}), light text ${withMap.text} (labels hidden ${noLabels}, atlas ${atlas.text})`);
    assert.ok(withMap.roads > 20_000 && withMap.roads > 20 * (atlas.roads + 1), 'road pixels come from the archive');
    assert.ok(withMap.text - noLabels > 1000, 'street and place names put pixels on the map');
    await page.selectOption('.basemap-switcher select', BASEMAP);
    await page.waitForFunction((bm) => window.radtrack.basemaps.current.id === bm, BASEMAP);
    assert.equal(await page.evaluate(() => localStorage.getItem('radtrack.basemap')), BASEMAP, 'the choice is remembered');
    await tilesLoaded(page);
  });

  it('draws a Chinese fence name and a Chinese vehicle label', async () => {
    const centre = [(CN_FENCE[0][0] + CN_FENCE[1][0]) / 2, (CN_FENCE[0][1] + CN_FENCE[2][1]) / 2];
    await page.evaluate((c) => window.radtrack.map.jumpTo({ center: c, zoom: 16 }), centre);
    await tilesLoaded(page);
    const label = await page.evaluate(() => window.radtrack.map.queryRenderedFeatures({ layers: ['fences-label'] }).map((f) => f.properties.name));
    assert.deepEqual(label, ['检查站 A']);
    const p = await page.evaluate((c) => window.radtrack.map.project(c), centre);
    const box = { x: p.x - 60, y: p.y - 20, w: 120, h: 40 };
    // The restricted colour #ff4d4d, anti-aliased against the dark halo.
    const red = (r, g, b) => r > 140 && r > g + 60 && r > b + 60;
    const shown = await countPixels(page, red, box);
    await page.evaluate(() => window.radtrack.map.setLayoutProperty('fences-label', 'visibility', 'none'));
    await tilesLoaded(page);
    const hidden = await countPixels(page, red, box);
    await page.evaluate(() => window.radtrack.map.setLayoutProperty('fences-label', 'visibility', 'visible'));
    console.log(`# Chinese fence label: ${shown} red pixels with the label, ${hidden} without`);
    assert.ok(shown - hidden > 25, 'the Chinese fence name draws pixels');
    // The vehicle named 巡逻车 2, label as a canvas image.
    const id = devices[1].device.id;
    await page.evaluate((vid) => { const v = window.radtrack.vehicles.byId.get(vid); window.radtrack.map.jumpTo({ center: [v.lon, v.lat], zoom: 16 }); }, id);
    await tilesLoaded(page);
    const lab = await page.evaluate((vid) => window.radtrack.map.queryRenderedFeatures({ layers: ['vehicles-label'] }).filter((f) => f.id === vid).map((f) => f.properties.name), id);
    assert.deepEqual(lab, ['巡逻车 2']);
    const vp = await page.evaluate((vid) => { const v = window.radtrack.vehicles.byId.get(vid); return window.radtrack.map.project([v.lon, v.lat]); }, id);
    const white = (r, g, b) => r > 200 && g > 200 && b > 200;
    const vbox = { x: vp.x + 14, y: vp.y - 9, w: 60, h: 18 };
    const withLabel = await countPixels(page, white, vbox);
    await page.evaluate(() => window.radtrack.map.setLayoutProperty('vehicles-label', 'visibility', 'none'));
    await tilesLoaded(page);
    const without = await countPixels(page, white, vbox);
    await page.evaluate(() => window.radtrack.map.setLayoutProperty('vehicles-label', 'visibility', 'visible'));
    console.log(`# Chinese vehicle label: ${withLabel} white pixels with the label, ${without} without`);
    assert.ok(withLabel - without > 30, 'the Chinese vehicle label draws pixels');
    await screenshot(page, 'm02-chinese-labels.png');
  });

  it('draws a site plan imported through the API', async () => {
    const plan = { type: 'FeatureCollection', features: [
      { type: 'Feature', geometry: { type: 'LineString', coordinates: [[11.2600, 43.7745], [11.2650, 43.7745], [11.2650, 43.7770]] }, properties: { kind: 'road', name: 'Inspection road' } },
      { type: 'Feature', geometry: { type: 'Polygon', coordinates: [[[11.2610, 43.7750], [11.2640, 43.7750], [11.2640, 43.7765], [11.2610, 43.7765], [11.2610, 43.7750]]] }, properties: { kind: 'bay', name: 'Bay 3' } },
    ] };
    await admin.call('POST', '/overlays', { name: 'Test yard', format: 'geojson', data: plan });
    await page.evaluate(() => window.radtrack.overlays.load());
    await page.evaluate(() => window.radtrack.map.jumpTo({ center: [11.2625, 43.7757], zoom: 16.5 }));
    await tilesLoaded(page);
    const got = await page.evaluate(() => ({
      lines: window.radtrack.map.queryRenderedFeatures({ layers: ['plans-line'] }).map((f) => f.properties.name),
      fills: window.radtrack.map.queryRenderedFeatures({ layers: ['plans-fill'] }).map((f) => f.properties.name),
    }));
    assert.ok(got.lines.includes('Inspection road') && got.fills.includes('Bay 3'), JSON.stringify(got));
    // The bay's colour at its middle, over the basemap.
    const p = await page.evaluate(() => window.radtrack.map.project([11.2625, 43.7757]));
    const bay = (r, g, b) => Math.abs(r - 0x48) < 20 && Math.abs(g - 0x3b) < 20 && Math.abs(b - 0x5e) < 24;
    assert.ok(await countPixels(page, bay, { x: p.x - 10, y: p.y - 10, w: 20, h: 20 }) > 100, 'the bay is drawn in its colour');
    await page.evaluate(() => window.radtrack.selectTab('plans'));
    await page.waitForSelector('.plan-item:has-text("Test yard")');
    await screenshot(page, 'm03-site-plan.png');
  });

  it('finds a vehicle by search and selects it', async () => {
    await page.evaluate(() => window.radtrack.map.jumpTo({ center: [11.20, 43.80], zoom: 12 }));
    await page.evaluate(() => window.radtrack.selectTab('vehicles'));
    await page.fill('input[name=vehicle-search]', '巡逻');
    await page.waitForFunction(() => document.querySelectorAll('.vehicle-row').length === 1);
    await page.keyboard.press('Enter');
    const id = devices[1].device.id;
    await page.waitForFunction((vid) => window.radtrack.vehicles.selected === vid && !window.radtrack.map.isMoving(), id, { timeout: 10_000 });
    assert.match(await page.textContent('.vehicle-panel h2'), /巡逻车 2/);
    const c = await page.evaluate(() => window.radtrack.map.getCenter().toArray());
    const v = await page.evaluate((vid) => { const x = window.radtrack.vehicles.byId.get(vid); return [x.lon, x.lat]; }, id);
    assert.ok(Math.abs(c[0] - v[0]) < 1e-4 && Math.abs(c[1] - v[1]) < 1e-4, `map centre ${c}, vehicle ${v}`);
    // Filters: the state chip and the group.
    await page.fill('input[name=vehicle-search]', '');
    await page.click('.chip[data-state="moving"]');
    await page.waitForFunction(() => [...document.querySelectorAll('.vehicle-row')].map((e) => e.textContent).join('|').includes('Pattuglia 1'));
    assert.equal(await page.$$eval('.vehicle-row', (els) => els.length), 1, 'only the moving vehicle');
    await page.click('.chip[data-state=""]');
    await page.selectOption('select[name=vehicle-group]', 'it');
    await page.waitForFunction(() => document.querySelectorAll('.vehicle-row').length === 2);
    await screenshot(page, 'm04-vehicle-search.png');
    await page.selectOption('select[name=vehicle-group]', '');
    await page.evaluate(() => window.radtrack.vehicles.select(null));
  });

  it('shows "Enable sound" after login until a click unlocks audio, then the mute toggle', async () => {
    const p2 = await browser.context.newPage();
    requests.push(trackRequests(p2));
    await p2.goto(server.base + '/'); // the session cookie is shared: straight into the app, no gesture yet
    await p2.waitForFunction(() => window.radtrack && window.radtrack.vehicles);
    const btn = '.sound-btn';
    assert.equal(await p2.getAttribute(btn, 'data-mode'), 'enable');
    assert.ok(await p2.isVisible(btn));
    assert.match(await p2.textContent(btn), /Enable sound/);
    await p2.click(btn);
    await p2.waitForFunction(() => document.querySelector('.sound-btn').dataset.mode === 'toggle', null, { timeout: 5000 });
    assert.equal(await p2.textContent(btn), 'Sound on');
    assert.equal(await p2.getAttribute(btn, 'aria-pressed'), 'true');
    await p2.click(btn);
    assert.equal(await p2.textContent(btn), 'Sound off');
    await p2.click(btn);
    assert.equal(await p2.textContent(btn), 'Sound on');
    await p2.close();
  });

  it('Locate puts the peak marker at the peak, not in the corner', async () => {
    const d = devices[2];
    const peak = [11.2620, 43.7800];
    await ingest(server.base, d.token, [{ time: new Date().toISOString(), lon: peak[0], lat: peak[1], dose_rate: 6.5, speed: 1, heading: 0 }]);
    await page.evaluate(() => window.radtrack.selectTab('alarms'));
    const card = await page.waitForSelector('.alarm-card:has-text("OIL3")', { timeout: 10_000 });
    await page.evaluate(() => window.radtrack.map.jumpTo({ center: [11.20, 43.75], zoom: 12 }));
    // With motion: the marker's pulse animation is what used to override
    // MapLibre's transform (reduced motion switches animations off).
    await page.emulateMedia({ reducedMotion: 'no-preference' });
    // A DOM click: with motion the fresh card pulses and the map repaints
    // twice a second, which keeps Playwright's stability wait from ending
    // on a busy machine.
    await (await card.$('button:has-text("Locate")')).evaluate((b) => b.click());
    await page.waitForFunction(() => window.radtrack.peakMarker && !window.radtrack.map.isMoving(), null, { timeout: 10_000 });
    await sleep(300);
    const got = await page.evaluate((pk) => {
      const m = window.radtrack.map;
      const p = m.project(pk);
      const map = m.getContainer().getBoundingClientRect();
      const r = window.radtrack.peakMarker.getElement().getBoundingClientRect();
      return { want: [map.left + p.x, map.top + p.y], got: [r.left + r.width / 2, r.top + r.height / 2] };
    }, peak);
    const dist = Math.hypot(got.want[0] - got.got[0], got.want[1] - got.got[1]);
    console.log(`# Locate: marker at ${got.got.map(Math.round)}, peak projects to ${got.want.map(Math.round)} (${dist.toFixed(1)} px)`);
    await screenshot(page, 'm05-locate.png');
    await page.emulateMedia({ reducedMotion: 'reduce' });
    assert.ok(dist < 3, `the marker is ${dist.toFixed(1)} px from the peak`);
  });

  it('made no request to any other host', () => {
    const all = requests.flat();
    const off = offHost(all, server.base);
    assert.deepEqual(off, [], `off-host requests: ${off.join(', ')}`);
    assert.ok(all.some((u) => u.includes(`/api/v1/basemaps/${BASEMAP}.pmtiles`)), 'the archive was read from our server');
    assert.ok(all.some((u) => /\/assets\/noto-sans-latin-400-normal-[^/]+\.woff2$/.test(u)), 'label fonts came from our server');
  });
});
