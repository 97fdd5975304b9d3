// End-to-end: an incident's source estimate and spectrum (issue 20). The
// race-track NaI drive is posted as its instrument would (153 spectra with
// GPS); an incident is raised by another van and then moved onto the NaI
// pass (the rules need dose rates, which the NaI file does not carry).
// Opening the incident draws the fitted source's 95 % ellipse on the map
// and shows the summed spectrum with its hints in the card. Screenshots at
// 1920×1080 and on a 390×844 phone go to frontend/artifacts.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { dbURL, SKIP_REASON, Server, Api, Browser, ingest, login, mapIdle, screenshot, sleep, REPO } from './harness.js';

const adminURL = dbURL();
const RACETRACK = path.resolve(REPO, '..', 'shared', 'data', 'radiation', 'interspec_racetrack_drive_2024-10-20.n42');
const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, reducedMotion: 'reduce' };

describe('incident source and spectrum', { skip: adminURL ? false : SKIP_REASON, timeout: 180_000 }, () => {
  let server;
  let admin;
  let incident;

  before(async () => {
    server = await Server.start(adminURL);
    admin = await Api.login(server.base, server.adminUser, server.adminPassword);
    const nai = await admin.call('POST', '/devices', { name: 'NaI-1', uid: 'nai-1' });
    const van = await admin.call('POST', '/devices', { name: 'Van-7', uid: 'van-7' });
    const doc = await readFile(RACETRACK);
    const r = await fetch(server.base + '/api/v1/n42', { method: 'POST', headers: { Authorization: `Bearer ${nai.token}`, 'Content-Type': 'application/xml' }, body: doc });
    const res = await r.json();
    assert.equal(res.spectra, 153, JSON.stringify(res));
    const now = Date.now();
    await ingest(server.base, van.token, [
      { time: new Date(now - 2000).toISOString(), lon: 4.05, lat: 51.95, dose_rate: 0.1 },
      { time: new Date(now - 1000).toISOString(), lon: 4.0502, lat: 51.9501, dose_rate: 3.2 },
    ]);
    const deadline = Date.now() + 15_000;
    while (!incident && Date.now() < deadline) {
      const { incidents } = await admin.call('GET', '/incidents');
      incident = incidents[0];
      if (!incident) await sleep(200);
    }
    assert.ok(incident, 'an incident');
    // Onto the NaI pass: its peak (measurement 70, 15:37:05) and alarms
    // over measurements 67–73.
    // (Its GeographicPoint in the file.)
    const peak = { lat: 30.1380592570683, lon: -97.6407409447265 };
    const client = new pg.Client({ connectionString: server.dbURL });
    await client.connect();
    try {
      await client.query(`UPDATE incidents SET peak_device_id = $1, peak_time = '2024-10-20T15:37:05Z', first_seen = '2024-10-20T15:37:02Z',
        last_seen = '2024-10-20T15:37:08Z', peak_lat = $2, peak_lon = $3, peak_gps_valid = true WHERE id = $4`,
      [nai.device.id, peak.lat, peak.lon, incident.id]);
    } finally {
      await client.end();
    }
  });

  after(async () => {
    if (server) await server.stop();
  });

  it('answers the source in REST', async () => {
    const { source } = await admin.call('GET', `/incidents/${incident.id}/source`);
    assert.equal(source.significant, true);
    assert.equal(source.passes.length, 1);
    // The 95 % region: its contour, closed, around the estimate.
    const ring = source.ellipse_ring;
    assert.ok(source.ellipse && ring.length === 49 && ring[0][0] === ring[48][0] && ring[0][1] === ring[48][1], JSON.stringify(source.ellipse));
    console.log(`# source: ${source.lat.toFixed(6)}, ${source.lon.toFixed(6)}; ellipse ${source.ellipse.semi_major_m.toFixed(1)} × ${source.ellipse.semi_minor_m.toFixed(1)} m; ambiguous ${source.ambiguous}`);
  });

  for (const [name, opts, file] of [['control room', { viewport: { width: 1920, height: 1080 }, reducedMotion: 'reduce' }, 'incident-source-1920x1080.png'],
    ['phone', PHONE, 'incident-source-phone-390x844.png']]) {
    it(`draws the ellipse and the spectrum with hints (${name})`, async () => {
      const browser = await Browser.launch(opts);
      try {
        const page = await browser.context.newPage();
        const errors = [];
        page.on('pageerror', (err) => errors.push(err.message));
        await login(page, server.base, server.adminUser, server.adminPassword);
        const card = page.locator(`.incident-card[data-incident-id="${incident.id}"]`);
        await card.waitFor({ timeout: 15_000 });
        await card.locator('.alarm-body').click();
        await page.waitForSelector(`.incident-card[data-incident-id="${incident.id}"] .spectrum-chart`, { timeout: 20_000, state: 'attached' });
        const text = await card.locator('.incident-analysis').textContent();
        assert.match(text, /Source 30\.13\d+, -97\.64\d+ · 95 % ellipse \d+ × \d+ m · 1 pass, 1 vehicle · one side/);
        assert.match(text, /Hints \(suggestions only\)|No nuclide lines/);
        // The map holds the ellipse and the point.
        const feats = await page.evaluate(() => window.radtrack.analysis.shown);
        const types = (feats.features || []).map((f) => f.geometry.type);
        assert.ok(types.includes('Polygon') && types.includes('Point') && types.includes('LineString'), JSON.stringify(types));
        // The spectrum: a foreground path and a log axis.
        assert.equal(await card.locator('.spectrum-chart path.spectrum-fg').count(), 1);
        if (name !== 'phone') await page.evaluate(() => window.radtrack.map.jumpTo({ zoom: 16.5 }));
        // (On the phone, the card's click showed the map.)
        await mapIdle(page);
        await sleep(500);
        await screenshot(page, file);
        if (name === 'phone') {
          await page.locator('.map-toggle').click();
          await card.locator('.incident-analysis').scrollIntoViewIfNeeded();
          await sleep(300);
          await screenshot(page, 'incident-source-phone-390x844-card.png');
        }
        assert.deepEqual(errors, []);
      } finally {
        await browser.close();
      }
    });
  }
});
