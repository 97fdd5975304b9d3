// End-to-end: the database goes away while the control room watches. An
// alarm raised meanwhile still appears at once, marked as not stored yet;
// when the database returns the same card carries the stored alarm.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { dbURL, SKIP_REASON, Server, Api, Browser, ingest, login, screenshot } from './harness.js';

const adminURL = dbURL();
const OP = { username: 'op-outage', password: 'operator-password-2', role: 'operator' };

describe('database outage', { skip: adminURL ? false : SKIP_REASON, timeout: 300_000 }, () => {
  let server;
  let browser;
  let van;

  before(async () => {
    server = await Server.start(adminURL, { dbProxy: true });
    const admin = await Api.login(server.base, server.adminUser, server.adminPassword);
    await admin.call('POST', '/users', OP);
    van = await admin.call('POST', '/devices', { name: 'Van-outage', uid: 'van-outage' });
    await ingest(server.base, van.token, [{ time: new Date(Date.now() - 5000).toISOString(), lon: 4.05, lat: 51.95, dose_rate: 0.1 }]);
    browser = await Browser.launch({ reducedMotion: 'reduce' });
  });

  after(async () => {
    if (browser) await browser.close();
    if (server) await server.stop();
  });

  it('shows an alarm raised while the database is down, then its stored version in the same card', async () => {
    const page = await browser.context.newPage();
    page.on('pageerror', (err) => console.error('page error:', err.message));
    await login(page, server.base, OP.username, OP.password);
    await page.waitForFunction(() => window.radtrack.vehicles.byId.size >= 1, null, { timeout: 15_000 });

    server.dbProxy.down();
    const sent = Date.now();
    const res = await ingest(server.base, van.token, [{ time: new Date().toISOString(), lon: 4.0502, lat: 51.9501, dose_rate: 3.2 }]);
    assert.equal(res.accepted, 1, 'the hot sample is acknowledged during the outage');
    console.log(`# hot sample acknowledged ${Date.now() - sent} ms after it was sent (database down)`);
    const card = page.locator('.alarm-card', { hasText: 'OIL3' });
    await card.locator('.provisional').waitFor({ timeout: 5_000 });
    const shownAfter = Date.now() - sent;
    console.log(`# alarm raised during the outage shown ${shownAfter} ms after the sample`);
    assert.ok(shownAfter < 2_000, `alarm shown ${shownAfter} ms after the sample, limit 2 s`);
    const provisionalId = Number(await card.getAttribute('data-alarm-id'));
    assert.ok(provisionalId < 0, `card shows provisional id ${provisionalId}`);
    assert.equal(await card.locator('button', { hasText: 'Details' }).count(), 0, 'no details for an alarm not stored yet');
    // The top bar says what is degraded (from /readyz, polled every 5 s).
    await page.locator('.server-health', { hasText: 'Database unreachable' }).waitFor({ timeout: 8_000 });
    await screenshot(page, '11-alarm-during-outage.png');

    // An acknowledgement waits for the database, and says so.
    await card.locator('button[data-action=ack]').click();
    await card.locator('input[name=comment]').fill('on my way');
    await card.locator('form button[type=submit]').click();
    await card.locator('.error', { hasText: 'not stored yet' }).waitFor({ timeout: 5_000 });

    server.dbProxy.up();
    const back = Date.now();
    await page.waitForFunction((pid) => {
      const el = [...document.querySelectorAll('.alarm-card')].find((c) => /OIL3/.test(c.textContent));
      return el && Number(el.dataset.alarmId) > 0 && !el.querySelector('.provisional');
    }, provisionalId, { timeout: 15_000 });
    console.log(`# stored id on the card ${Date.now() - back} ms after the database returned`);
    await page.locator('.server-health').waitFor({ state: 'hidden', timeout: 8_000 });
    assert.equal(await page.locator('.alarm-card', { hasText: 'OIL3' }).count(), 1, 'one card: the stored alarm replaced the provisional one');
    // The comment typed during the outage survived the swap; now it goes through.
    assert.equal(await card.locator('input[name=comment]').inputValue(), 'on my way');
    await card.locator('form button[type=submit]').click();
    // Acknowledged, on its own card or as a chip of its incident's card
    // (the card joins the incident once its form is closed).
    await page.waitForFunction(() => [...document.querySelectorAll('.alarm-card[data-alarm-id], .rule-chip')].some((c) => /OIL3/.test(c.textContent) && c.classList.contains('state-acknowledged')), null, { timeout: 10_000 });
    await screenshot(page, '12-alarm-stored-after-outage.png');
  });
});
