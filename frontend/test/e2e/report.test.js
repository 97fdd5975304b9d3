// End-to-end: the printable incident report (issue 18 item 2). An incident
// is raised by hot samples, acknowledged and resolved; its report shows the
// peak, the rules with their thresholds, the crew on shift and every audit
// entry, and is printed to an A4 PDF whose first page becomes a PNG.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { dbURL, SKIP_REASON, Server, Api, Browser, ingest, login, sleep, ARTIFACTS } from './harness.js';
import { fmtDose } from '../../src/dose.js';

const run = promisify(execFile);
const adminURL = dbURL();

// pdftoppm turns the PDF into a PNG; without it the test skips, except in
// CI where it must be installed (apt-get install poppler-utils).
function havePdftoppm() {
  try {
    execFileSync('pdftoppm', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    if (process.env.CI === 'true') throw new Error('pdftoppm is missing (required when CI=true): apt-get install poppler-utils');
    return false;
  }
}
const skip = !adminURL ? SKIP_REASON
  : !havePdftoppm() ? 'pdftoppm is not installed: incident report test skipped (apt-get install poppler-utils)' : false;

describe('incident report', { skip, timeout: 120_000 }, () => {
  let server;
  let admin;
  let browser;
  let dev;
  let incident;

  before(async () => {
    server = await Server.start(adminURL);
    admin = await Api.login(server.base, server.adminUser, server.adminPassword);
    dev = await admin.call('POST', '/devices', { name: 'Van-7', uid: 'van-7', group: 'port-north' });
    const fence = await admin.call('POST', '/fences', {
      type: 'Feature', properties: { name: 'Quay 7 yard', kind: 'restricted' },
      geometry: { type: 'Polygon', coordinates: [[[4.098, 51.9588], [4.1, 51.9588], [4.1, 51.9596], [4.098, 51.9596], [4.098, 51.9588]]] },
    });
    await admin.call('POST', '/rules', {
      name: 'Dose in quay 7 yard', kind: 'zone', severity: 'critical', enabled: true, zone: { fence_id: fence.id, threshold_usvh: 0.5 },
    });
    const now = Date.now();
    await admin.call('POST', '/shifts', {
      device_id: dev.device.id, crew: 'Crew Alpha', start: new Date(now - 3600_000).toISOString(), end: new Date(now + 3600_000).toISOString(), note: '',
    });
    // Five minutes of background along a street, then the hot spot.
    const bg = [];
    for (let i = 0; i < 20; i++) {
      bg.push({ time: new Date(now - 300_000 + i * 15_000).toISOString(), lon: 4.09 + i * 0.0004, lat: 51.955 + i * 0.0002, dose_rate: 0.1 + 0.01 * (i % 3), speed: 8, heading: 60 });
    }
    await ingest(server.base, dev.token, bg);
    await ingest(server.base, dev.token, [{ time: new Date(Date.now() - 1000).toISOString(), lon: 4.0985, lat: 51.9591, dose_rate: 5.2, speed: 3, heading: 60 }]);
    await ingest(server.base, dev.token, [{ time: new Date().toISOString(), lon: 4.0988, lat: 51.9592, dose_rate: 5.4, speed: 3, heading: 60 }]);
    browser = await Browser.launch();
  });

  after(async () => {
    if (browser) await browser.close();
    if (server) await server.stop();
  });

  it('raises an incident whose card links to its report', async () => {
    const deadline = Date.now() + 15_000;
    while (!incident && Date.now() < deadline) {
      const { incidents } = await admin.call('GET', '/incidents');
      incident = incidents.find((i) => i.alarms.some((a) => a.device_id === dev.device.id));
      if (!incident) await sleep(200);
    }
    assert.ok(incident, 'an incident for Van-7');
    const page = await browser.context.newPage();
    page.on('pageerror', (err) => console.error('page error:', err.message));
    await login(page, server.base, server.adminUser, server.adminPassword);
    const link = `.incident-card[data-incident-id="${incident.id}"] a[data-action="report"]`;
    await page.waitForSelector(link, { timeout: 15_000 });
    assert.equal(await page.getAttribute(link, 'href'), `/#report=${incident.id}`);
    await page.close();
  });

  it('shows the peak, rules, crew and audit trail after acknowledgement and resolution, and prints to A4', async () => {
    await admin.call('POST', `/incidents/${incident.id}/acknowledge`, { comment: 'Crew sent to the quay' });
    const { incident: done } = await admin.call('POST', `/incidents/${incident.id}/resolve`, { code: 'innocent_medical', comment: 'Patient after thyroid treatment' });
    assert.equal(done.state, 'resolved');
    const { rules } = await admin.call('GET', '/rules');
    const details = await Promise.all(done.alarms.map((a) => admin.call('GET', `/alarms/${a.id}`)));
    const events = details.flatMap((d) => d.events);

    const page = await browser.context.newPage();
    page.on('pageerror', (err) => console.error('page error:', err.message));
    await page.goto(`${server.base}/#report=${incident.id}`);
    await page.waitForSelector('main.report[data-state="ready"]', { timeout: 20_000 });
    const text = (sel) => page.$eval(sel, (e) => e.textContent);

    assert.equal(await text('h1'), `Incident report #${incident.id}`);
    assert.equal(await text('[data-field="state"]'), 'resolved');
    assert.equal(await text('[data-field="severity"]'), done.severity);
    assert.match(await text('[data-field="peak"]'), new RegExp(`^${fmtDose(done.peak_dose_usvh).replace('.', '\\.')} µSv/h at .* \\(Van-7\\)$`));
    assert.equal(done.peak_dose_usvh, 5.4);
    assert.equal(await text('[data-field="place"]'), `${done.peak_lat.toFixed(5)}, ${done.peak_lon.toFixed(5)} (lat, lon)`);
    assert.match(await text('[data-field="adjudication"]'), new RegExp(`^innocent_medical by ${server.adminUser} at `));

    // One row per fired rule, with its threshold from the rule set.
    const ruleRows = await page.$$eval('.rules-table tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
    const fired = [...new Set(done.alarms.map((a) => a.rule_id))];
    assert.ok(fired.includes(rules.find((r) => r.name === 'Dose in quay 7 yard').id), 'the zone rule fired');
    assert.equal(ruleRows.length, fired.length, JSON.stringify(ruleRows));
    for (const id of fired) {
      const r = rules.find((x) => x.id === id);
      const row = ruleRows.find((cells) => cells[0] === r.name);
      assert.ok(row, `rule ${r.name} listed`);
      if (r.level) assert.equal(row[3], `≥ ${fmtDose(r.level.threshold_usvh)} µSv/h anywhere`);
      if (r.zone) assert.equal(row[3], `≥ ${fmtDose(r.zone.threshold_usvh)} µSv/h in fence “Quay 7 yard”`);
    }
    console.log(`# report rules: ${ruleRows.map((c) => `${c[0]} (${c[3]})`).join(' | ')}`);

    const vehicles = await page.$$eval('.vehicles-table tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
    assert.equal(vehicles.length, 1);
    assert.equal(vehicles[0][0], 'Van-7');
    assert.match(vehicles[0][4], /^Crew Alpha \(/);

    // Every audit event of every alarm, with its user.
    const audit = await page.$$eval('.audit-table tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
    assert.equal(audit.length, events.length, JSON.stringify(audit));
    assert.equal(audit.filter((r) => r[2] === 'raised').length, done.alarms.length);
    const acks = audit.filter((r) => r[2] === 'acknowledged');
    const resolves = audit.filter((r) => r[2] === 'resolved');
    assert.equal(acks.length, done.alarms.length);
    assert.equal(resolves.length, done.alarms.length);
    for (const r of acks) { assert.equal(r[3], server.adminUser); assert.equal(r[4], 'Crew sent to the quay'); }
    for (const r of resolves) { assert.equal(r[3], server.adminUser); assert.equal(r[4], 'innocent_medical: Patient after thyroid treatment'); }

    // The map: one segment per pair of positions, red where the dose is ≥ 1.
    const segs = await page.$$eval('.report-map line', (ls) => ls.map((l) => l.getAttribute('stroke')));
    assert.equal(segs.length, 21, 'segments between 22 positions');
    assert.equal(segs.filter((c) => c === '#ff3b3b').length, 2, 'the two segments reaching the hot spot');
    assert.equal(await page.$$eval('.report-peak', (e) => e.length), 1);
    assert.deepEqual(await page.$$eval('.report-fences text', (e) => e.map((x) => x.textContent)), ['Quay 7 yard']);
    assert.equal(await page.$$eval('.report-chart svg.dose-chart', (e) => e.length), 1);

    // Print: A4 PDF, no app chrome, first page as a PNG to look at.
    await page.emulateMedia({ media: 'print' });
    assert.equal(await page.$eval('.report-bar', (e) => getComputedStyle(e).display), 'none');
    await mkdir(ARTIFACTS, { recursive: true });
    const pdf = path.join(ARTIFACTS, 'report.pdf');
    const png = path.join(ARTIFACTS, 'report-page1');
    await rm(png + '.png', { force: true });
    await page.pdf({ path: pdf, format: 'A4', printBackground: true });
    assert.ok(statSync(pdf).size > 10_000, 'a PDF with content');
    await run('pdftoppm', ['-png', '-r', '60', '-f', '1', '-l', '1', '-singlefile', pdf, png]);
    assert.ok(existsSync(png + '.png'), 'page 1 as PNG');
    const { stdout } = await run('pdfinfo', [pdf]).catch(() => ({ stdout: '' }));
    console.log(`# report.pdf: ${statSync(pdf).size} bytes, ${(/Pages:\s+(\d+)/.exec(stdout) || [])[1] || '?'} pages, ${(/Page size:\s+(.*)/.exec(stdout) || [])[1] || ''}; PNG ${statSync(png + '.png').size} bytes`);
    await page.close();
  });

  it('shows the group\'s daily summary on screen and as CSV, the same as the API', async () => {
    const day0 = new Date(Math.floor(Date.now() / 86_400_000) * 86_400_000);
    const from = new Date(day0.getTime() - 86_400_000).toISOString();
    const to = new Date(day0.getTime() + 86_400_000).toISOString();
    const api = await admin.call('GET', `/groups/port-north/daily?from=${from}&to=${to}`);
    const van = api.devices.find((d) => d.uid === 'van-7');
    const today = van.days.find((d) => d.date === day0.toISOString().slice(0, 10));
    assert.ok(today && today.alarms >= 1 && today.max_dose_rate_usvh === 5.4, JSON.stringify(van.days));

    const page = await browser.context.newPage();
    page.on('pageerror', (err) => console.error('page error:', err.message));
    await page.goto(server.base + '/'); // the context's session from the first test
    await page.waitForFunction(() => typeof window.radtrack?.selectTab === 'function', null, { timeout: 20_000 });
    await page.evaluate(() => window.radtrack.selectTab('daily'));
    await page.waitForSelector('.daily select[name=group] option[value="port-north"]', { state: 'attached' });
    await page.selectOption('.daily select[name=group]', 'port-north');
    await page.fill('.daily input[aria-label="From (UTC)"]', from.slice(0, 19).replace('T', ' ') + 'Z');
    await page.fill('.daily input[aria-label="To (UTC)"]', to.slice(0, 19).replace('T', ' ') + 'Z');
    await page.click('.daily button[type=submit]');
    await page.waitForSelector('.daily-table tbody tr');
    const rows = await page.$$eval('.daily-table tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
    const row = rows.find((r) => r[0] === 'Van-7' && r[1] === today.date);
    assert.ok(row, JSON.stringify(rows));
    assert.equal(row[4], today.max_dose_rate_usvh.toFixed(3));
    assert.equal(row[7], String(today.alarms));
    await page.screenshot({ path: path.join(ARTIFACTS, '13-daily-summary.png') });
    const csv = await page.evaluate(async () => {
      const res = await fetch(document.querySelector('.daily .exports a[data-format="csv"]').href);
      return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
    });
    assert.equal(csv.status, 200);
    assert.match(csv.type, /^text\/csv/);
    assert.ok(csv.text.split('\n').some((l) => l.includes('van-7') && l.includes(today.date)), csv.text.slice(0, 300));
    await page.close();
  });
});
