// End-to-end: the phone app. A 390×844 touch phone (deviceScaleFactor 2)
// logs in; the layout fits (screenshots of login, incidents and map); the
// service worker registers; a push delivered through DevTools
// (ServiceWorker.deliverPushMessage) shows the incident's notification; its
// Acknowledge action acknowledges the incident on the server; then, with
// the network gone and the server killed, the app shell still loads.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { dbURL, SKIP_REASON, Server, Api, Browser, ingest, login, screenshot, trackRequests, offHost } from './harness.js';

const adminURL = dbURL();
const OP = { username: 'op-phone', password: 'operator-password-3', role: 'operator' };
const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, reducedMotion: 'reduce' };

describe('phone app', { skip: adminURL ? false : SKIP_REASON, timeout: 120_000 }, () => {
  let server;
  let browser;
  let admin;
  let van;
  let van2;

  before(async () => {
    server = await Server.start(adminURL);
    admin = await Api.login(server.base, server.adminUser, server.adminPassword);
    await admin.call('POST', '/users', OP);
    van = await admin.call('POST', '/devices', { name: 'Van-phone', uid: 'van-phone' });
    van2 = await admin.call('POST', '/devices', { name: 'Van-far', uid: 'van-far' });
    await ingest(server.base, van.token, [{ time: new Date(Date.now() - 5000).toISOString(), lon: 4.05, lat: 51.95, dose_rate: 0.1 }]);
    browser = await Browser.launch(PHONE);
    await browser.context.grantPermissions(['notifications'], { origin: server.base });
  });

  after(async () => {
    if (browser) await browser.close();
    if (server) await server.stop();
  });

  it('fits a phone, notifies by push, acknowledges from the notification, opens offline', async () => {
    const page = await browser.context.newPage();
    const errors = [];
    page.on('pageerror', (err) => errors.push(err.message));
    const urls = trackRequests(page);

    // Installable: the manifest and the service worker as browsers want them.
    const manifest = await fetch(server.base + '/manifest.webmanifest');
    assert.equal(manifest.headers.get('content-type'), 'application/manifest+json');
    const m = await manifest.json();
    assert.equal(m.display, 'standalone');
    assert.deepEqual(m.icons.map((i) => i.sizes), ['192x192', '512x512', '512x512']);
    for (const icon of m.icons) {
      const r = await fetch(server.base + icon.src);
      assert.equal(r.headers.get('content-type'), 'image/png', icon.src);
    }
    const swRes = await fetch(server.base + '/sw.js');
    assert.equal(swRes.headers.get('service-worker-allowed'), '/');
    assert.match(swRes.headers.get('content-type'), /^text\/javascript/);

    await page.goto(server.base + '/');
    await page.locator('#login-user').waitFor();
    await screenshot(page, 'phone-01-login.png');
    await login(page, server.base, OP.username, OP.password);

    // The service worker registers and controls the page.
    const scope = await page.evaluate(() => navigator.serviceWorker.ready.then((r) => r.scope));
    assert.equal(scope, server.base + '/');
    await page.waitForFunction(() => !!navigator.serviceWorker.controller, null, { timeout: 10_000 });

    // An incident: a hot sample.
    await ingest(server.base, van.token, [{ time: new Date().toISOString(), lon: 4.0502, lat: 51.9501, dose_rate: 3.2 }]);
    await page.locator('.incident-card').first().waitFor({ timeout: 10_000 });
    const incidentId = Number(await page.locator('.incident-card').first().getAttribute('data-incident-id'));
    assert.ok(incidentId > 0, `incident id ${incidentId}`);
    await screenshot(page, 'phone-02-incidents.png');

    // Layout: nothing wider than the phone, the top bar at most two rows,
    // the incidents on screen and the map hidden until asked for.
    const layout = await page.evaluate(() => {
      const box = (sel) => { const r = document.querySelector(sel).getBoundingClientRect(); return { x: r.x, y: r.y, w: r.width, h: r.height }; };
      const small = [...document.querySelectorAll('.topbar button, .tabs [role=tab], .incident-card button, .legend-toggle')]
        .filter((b) => b.offsetParent !== null && getComputedStyle(b).visibility !== 'hidden')
        .map((b) => { const r = b.getBoundingClientRect(); return { text: b.textContent.trim().slice(0, 20), w: r.width, h: r.height }; })
        .filter((r) => r.w < 44 || r.h < 44);
      return {
        docWidth: document.documentElement.scrollWidth,
        topbar: box('.topbar'),
        topbarOverflow: document.querySelector('.topbar').scrollWidth - document.querySelector('.topbar').clientWidth,
        card: box('.incident-card'),
        mapVisibility: getComputedStyle(document.querySelector('.map-wrap')).visibility,
        legendCollapsed: document.querySelector('#legend-body').hidden,
        small,
      };
    });
    console.log(`# phone layout: ${JSON.stringify({ ...layout, small: layout.small.length })}`);
    assert.ok(layout.docWidth <= 390, `page ${layout.docWidth} px wide on a 390 px phone`);
    assert.equal(layout.topbarOverflow, 0, 'the top bar does not scroll sideways');
    assert.ok(layout.topbar.h <= 120, `top bar ${layout.topbar.h} px high`);
    assert.ok(layout.card.y + 40 < 844 && layout.card.x >= 0 && layout.card.x + layout.card.w <= 390, `incident card on screen: ${JSON.stringify(layout.card)}`);
    assert.equal(layout.mapVisibility, 'hidden');
    assert.equal(layout.legendCollapsed, true);
    assert.deepEqual(layout.small, [], 'touch targets of at least 44 × 44 px');

    await page.locator('.map-toggle').tap();
    await page.waitForFunction(() => getComputedStyle(document.querySelector('.map-wrap')).visibility === 'visible');
    const mapBox = await page.locator('#map').boundingBox();
    assert.ok(mapBox.width === 390 && mapBox.height > 600, `map ${mapBox.width}×${mapBox.height}`);
    await page.evaluate(() => new Promise((r) => { const map = window.radtrack.map; map.triggerRepaint(); map.once('render', () => r()); }));
    await screenshot(page, 'phone-03-map.png');
    await page.locator('.map-toggle').tap();

    // The alerts control asks with a reason before the browser does.
    await page.locator('.alerts-btn').tap();
    const reason = await page.locator('.alerts-dialog').textContent();
    assert.match(reason, /when a radiation alarm is raised/);
    assert.match(reason, /home screen/);
    await screenshot(page, 'phone-04-alerts.png');
    await page.locator('.alerts-dialog button', { hasText: 'Close' }).tap();

    // A push, delivered as a push service would deliver it.
    const cdp = await browser.context.newCDPSession(page);
    const registered = new Promise((resolve) => cdp.on('ServiceWorker.workerRegistrationUpdated', ({ registrations }) => {
      const r = registrations.find((x) => x.scopeURL === server.base + '/' && !x.isDeleted);
      if (r) resolve(r.registrationId);
    }));
    await cdp.send('ServiceWorker.enable');
    const registrationId = await registered;
    const payload = {
      v: 1, key: `i${incidentId}-raised-op`, event: 'raised', pages: true, incident: incidentId, version: 1, state: 'raised', severity: 'alarm',
      title: 'ALARM: OIL3 — Van-phone', body: 'Van-phone — 3.20 µSv/h at Quay 4', vehicles: ['Van-phone'], peak_usvh: 3.2,
      place: 'Quay 4, Rotterdam', lonlat: [4.0502, 51.9501], time: new Date().toISOString(), actions: [{ action: 'acknowledge', title: 'Acknowledge' }],
    };
    await cdp.send('ServiceWorker.deliverPushMessage', { origin: server.base, registrationId, data: JSON.stringify(payload) });
    const [sw] = browser.context.serviceWorkers().filter((w) => w.url() === server.base + '/sw.js');
    assert.ok(sw, 'the service worker is visible to the test');
    const shown = await sw.evaluate(async () => {
      for (let i = 0; i < 100 && !self.radtrackShown.length; i++) await new Promise((r) => setTimeout(r, 50));
      return self.radtrackShown.map((n) => ({ error: n.error, title: n.title, body: n.options.body, tag: n.options.tag, actions: n.options.actions, incident: n.options.data.incident }));
    });
    assert.deepEqual(shown, [{
      error: '', title: 'ALARM: OIL3 — Van-phone', body: 'ALARM · Van-phone\nPeak 3.20 µSv/h\nat Quay 4, Rotterdam', tag: `incident-${incidentId}`,
      actions: [{ action: 'acknowledge', title: 'Acknowledge' }], incident: incidentId,
    }]);
    const inTray = await page.evaluate(() => navigator.serviceWorker.ready.then((r) => r.getNotifications()).then((ns) => ns.map((n) => ({ title: n.title, tag: n.tag, actions: n.actions.map((a) => a.action) }))));
    assert.deepEqual(inTray, [{ title: 'ALARM: OIL3 — Van-phone', tag: `incident-${incidentId}`, actions: ['acknowledge'] }], 'in the notification tray');

    // Acknowledge from the notification: the click handler's logic, in the worker.
    const before = await admin.call('GET', `/incidents/${incidentId}`);
    assert.equal(before.incident.state, 'raised');
    const result = await sw.evaluate((id) => self.radtrackHandleClick('acknowledge', { incident: id }), incidentId);
    assert.deepEqual(result, { acknowledged: true, status: 200 });
    const after = await admin.call('GET', `/incidents/${incidentId}`);
    assert.equal(after.incident.state, 'acknowledged');
    assert.equal(after.incident.acked_by, OP.username);
    // The open app sees the acknowledgement on its live feed.
    await page.locator(`.incident-card[data-incident-id="${incidentId}"].state-acknowledged`).waitFor({ timeout: 10_000 });

    // No push service (air-gapped): the open app, not on screen, notifies
    // from the live feed on a new incident.
    await page.evaluate(() => { document.hasFocus = () => false; });
    await ingest(server.base, van2.token, [{ time: new Date().toISOString(), lon: 5.3, lat: 52.3, dose_rate: 4.1 }]);
    const local = await page.evaluate(async (first) => {
      const reg = await navigator.serviceWorker.ready;
      for (let i = 0; i < 100; i++) {
        // The incident opens as a notice (the 0.5 µSv/h rule) and becomes an
        // alarm when the OIL3 rule joins: the notification follows.
        const list = (await reg.getNotifications()).filter((n) => n.tag !== `incident-${first}`);
        if (list.length && list.every((n) => /^ALARM/.test(n.title))) return list.map((n) => ({ title: n.title, body: n.body, actions: n.actions.map((a) => a.action), incident: n.data.incident }));
        await new Promise((r) => setTimeout(r, 100));
      }
      return (await reg.getNotifications()).map((n) => ({ title: n.title }));
    }, incidentId);
    assert.equal(local.length, 1, JSON.stringify(local));
    assert.match(local[0].title, /^ALARM: .* — Van-far$/);
    assert.match(local[0].body, /^ALARM · Van-far\nPeak 4\.10 µSv\/h\nat 52\.30000, 5\.30000$/);
    assert.deepEqual(local[0].actions, ['acknowledge']);
    assert.ok(local[0].incident > incidentId, `a new incident: ${local[0].incident}`);

    // Offline: no network, no server; the cached app shell still opens.
    assert.deepEqual(offHost(urls, server.base), [], 'nothing was fetched from off the host');
    server.proc.kill('SIGKILL');
    await server.exited;
    await browser.context.setOffline(true);
    const nav = await page.reload();
    assert.ok(nav.fromServiceWorker(), 'the page came from the service worker');
    await page.locator('.login-card', { hasText: /Offline: no network|Cannot reach the server/ }).waitFor({ timeout: 10_000 });
    console.log(`# offline: ${await page.locator('.login-card .error').textContent()}`);
    await screenshot(page, 'phone-05-offline.png');
    await browser.context.setOffline(false);
    assert.deepEqual(errors, [], 'no page errors');
  });
});
