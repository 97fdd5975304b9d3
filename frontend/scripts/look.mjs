// Look at the map as a user would: runs `radtrack demo` (with the Florence
// archive as a second basemap when the shared data is there), logs in with
// Debian's Chromium and saves screenshots to artifacts/look-*.png at
// 1920×1080 and 390×844 (touch). Usage, from frontend/ after a build:
//   node scripts/look.mjs [path/to/radtrack]     (LOOK_ONLY=phone: the phone views only)
import { spawn } from 'node:child_process';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const FRONTEND = path.resolve(here, '..');
const ARTIFACTS = path.join(FRONTEND, 'artifacts');
const FLORENCE = path.resolve(FRONTEND, '../../shared/data/maps/firenze_osm_protomaps.pmtiles');
const bin = process.argv[2] || 'radtrack';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const data = await mkdtemp(path.join(tmpdir(), 'radtrack-look-'));
const args = ['demo', '-speed', '8', '-data', data, '-addr', '127.0.0.1:0', '-osmand-addr', '127.0.0.1:0', '-bgeigie-addr', '127.0.0.1:0'];
if (existsSync(FLORENCE)) args.push('-basemap', FLORENCE);
const demo = spawn(bin, args, { stdio: ['ignore', 'pipe', 'inherit'] });
let out = '';
demo.stdout.on('data', (d) => { out += d; });
const deadline = Date.now() + 60_000;
while (!/login: \S+ \/ \S+/.test(out)) {
  if (Date.now() > deadline || demo.exitCode !== null) throw new Error('demo did not start:\n' + out);
  await sleep(100);
}
const base = /map:\s+(http:\/\/\S+)/.exec(out)[1];
const [, user, password] = /login: (\S+) \/ (\S+)/.exec(out);
await mkdir(ARTIFACTS, { recursive: true });

async function session(name, options) {
  const dir = await mkdtemp(path.join(tmpdir(), 'radtrack-look-chromium-'));
  const ctx = await chromium.launchPersistentContext(dir, {
    executablePath: '/usr/bin/chromium', headless: true,
    args: ['--headless', '--no-sandbox', '--enable-unsafe-swiftshader', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-gpu'],
    ...options,
  });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => console.error(`${name}: page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') console.error(`${name}: console ${m.type()}: ${m.text()}`); });
  await page.goto(base + '/');
  await page.fill('#login-user', user);
  await page.fill('#login-pass', password);
  await page.click('button[type=submit]');
  try {
    await page.waitForFunction(() => window.radtrack && window.radtrack.vehicles && window.radtrack.basemapsReady && window.radtrack.vehicles.byId.size >= 10, null, { timeout: 120_000, polling: 500 });
  } catch (err) {
    console.error(name, 'state:', await page.evaluate(() => JSON.stringify({ keys: Object.keys(window.radtrack || {}), bm: window.radtrack && window.radtrack.basemapsReady, n: window.radtrack && window.radtrack.vehicles && window.radtrack.vehicles.byId.size, conn: document.querySelector('.conn').textContent, live: window.radtrack.live.state, status: document.querySelector('.status-line').textContent })));
    throw err;
  }
  // Live positions keep the map repainting, so 'idle' may never come on
  // a busy machine: wait for the style's tiles, then a few seconds.
  const idle = () => page.evaluate(() => new Promise((r) => {
    const m = window.radtrack.map;
    const t0 = Date.now();
    const check = () => (m.areTilesLoaded() || Date.now() - t0 > 30000 ? r() : setTimeout(check, 250));
    check();
  }));
  const shot = async (file) => {
    await idle();
    await sleep(3000);
    await page.screenshot({ path: path.join(ARTIFACTS, file), timeout: 120_000 });
    console.log('saved', file);
  };
  return { ctx, page, idle, shot, dir };
}

try {
  if (process.env.LOOK_ONLY !== 'phone') await desktop();
  await phone();
} finally {
  demo.kill('SIGTERM');
  await new Promise((r) => demo.on('exit', r));
  await rm(data, { recursive: true, force: true });
}

async function desktop() {
  const d = await session('desktop', { viewport: { width: 1920, height: 1080 } });
  await sleep(4000);
  await d.shot('look-1-demo-overview.png');
  await d.page.evaluate(() => window.radtrack.map.jumpTo({ center: [4.0195, 51.9495], zoom: 15 }));
  await sleep(2500);
  await d.shot('look-2-demo-port-z15.png');
  await d.page.evaluate(() => window.radtrack.selectTab('vehicles'));
  await d.page.fill('input[name=vehicle-search]', 'patrol');
  await sleep(500);
  await d.shot('look-3-vehicle-list.png');
  const hasFlorence = await d.page.evaluate(() => window.radtrack.basemaps.list.some((b) => b.id === 'firenze_osm_protomaps'));
  if (hasFlorence) {
    await d.page.evaluate(() => window.radtrack.basemaps.use('firenze_osm_protomaps'));
    await d.page.evaluate(() => window.radtrack.map.jumpTo({ center: [11.2558, 43.7731], zoom: 15 }));
    await d.shot('look-4-florence-z15.png');
    await d.page.evaluate(() => window.radtrack.map.jumpTo({ center: [11.2470, 43.7760], zoom: 12.5 }));
    await d.shot('look-5-florence-z12.png');
    await d.page.evaluate(() => window.radtrack.map.jumpTo({ center: [11.2536, 43.7696], zoom: 17 }));
    await d.shot('look-6-florence-z17.png');
  }
  await d.ctx.close();
  await rm(d.dir, { recursive: true, force: true });
}

async function phone() {
  const m = await session('phone', { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  await sleep(3000);
  await m.shot('look-7-phone-demo.png');
  await m.page.evaluate(() => window.radtrack.map.jumpTo({ center: [4.0195, 51.9495], zoom: 15 }));
  await m.shot('look-8-phone-port.png');
  await m.ctx.close();
  await rm(m.dir, { recursive: true, force: true });
}
