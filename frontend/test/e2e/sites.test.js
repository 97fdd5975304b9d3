// End-to-end: sites (issue 17). A centre viewer filters the Vehicles tab by
// sub-centre; a sub-centre viewer sees only their own vehicles on the map
// and in the list; the admin sees the tree.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { dbURL, SKIP_REASON, Server, Api, Browser, ingest, login, screenshot } from './harness.js';

const adminURL = dbURL();

describe('sites', { skip: adminURL ? false : SKIP_REASON, timeout: 180_000 }, () => {
  let server;
  let browser;
  let north;
  let south;

  before(async () => {
    server = await Server.start(adminURL);
    const admin = await Api.login(server.base, server.adminUser, server.adminPassword);
    north = (await admin.call('POST', '/sites', { parent_id: 1, name: 'North' })).site;
    south = (await admin.call('POST', '/sites', { parent_id: 1, name: 'South' })).site;
    const room = (await admin.call('POST', '/sites', { parent_id: north.id, name: 'North room 1' })).site;
    const now = Date.now();
    for (const [name, site, lon] of [['Van-N', room.id, 4.05], ['Van-S', south.id, 4.15]]) {
      const d = await admin.call('POST', '/devices', { name, uid: name.toLowerCase(), site_id: site });
      await ingest(server.base, d.token, [{ time: new Date(now - 2000).toISOString(), lon, lat: 51.95, dose_rate: 0.1 }]);
    }
    await admin.call('POST', '/users', { username: 'centre', password: 'centre-password', role: 'viewer' });
    await admin.call('POST', '/users', { username: 'nord', password: 'nord-password', role: 'viewer', site_id: north.id });
    browser = await Browser.launch();
  });

  after(async () => {
    if (browser) await browser.close();
    if (server) await server.stop();
  });

  const rows = (page) => page.$$eval('.vehicle-row', (els) => els.map((e) => e.textContent).join('|'));

  it('lets a centre viewer filter by sub-centre', async () => {
    const page = await browser.context.newPage();
    await login(page, server.base, 'centre', 'centre-password');
    await page.waitForFunction(() => window.radtrack.vehicles.byId.size === 2, null, { timeout: 20_000 });
    await page.evaluate(() => window.radtrack.selectTab('vehicles'));
    await page.waitForSelector('select[name=vehicle-site]:not([hidden])');
    await page.selectOption('select[name=vehicle-site]', String(north.id));
    await page.waitForFunction(() => document.querySelectorAll('.vehicle-row').length === 1);
    assert.match(await rows(page), /Van-N/);
    await page.selectOption('select[name=vehicle-site]', String(south.id));
    await page.waitForFunction(() => [...document.querySelectorAll('.vehicle-row')].map((e) => e.textContent).join('|').includes('Van-S'));
    assert.equal(await page.$$eval('.vehicle-row', (els) => els.length), 1);
    await screenshot(page, 's01-site-filter.png');
    await page.close();
  });

  it('shows a sub-centre viewer only their vehicles', async () => {
    await browser.context.clearCookies(); // the centre viewer's session
    const page = await browser.context.newPage();
    await login(page, server.base, 'nord', 'nord-password');
    await page.waitForFunction(() => window.radtrack.vehicles.byId.size === 1, null, { timeout: 20_000 });
    await page.evaluate(() => window.radtrack.selectTab('vehicles'));
    await page.waitForFunction(() => document.querySelectorAll('.vehicle-row').length === 1);
    const text = await rows(page);
    assert.match(text, /Van-N/);
    assert.doesNotMatch(text, /Van-S/);
    const ids = await page.evaluate(() => [...window.radtrack.vehicles.byId.values()].map((v) => v.name));
    assert.deepEqual(ids, ['Van-N']);
    await page.close();
  });
});
