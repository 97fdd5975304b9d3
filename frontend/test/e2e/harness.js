// End-to-end harness: builds the Go binary (which embeds the freshly built
// app), creates a scratch PostgreSQL database, starts `radtrack serve` on a
// free loopback port, logs in as the first admin, and drives Debian's
// Chromium through playwright-core. Everything is torn down afterwards.
import { spawn, execFile } from 'node:child_process';
import { mkdtemp, rm, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import crypto from 'node:crypto';
import pg from 'pg';
import { chromium } from 'playwright-core';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
export const FRONTEND = path.resolve(here, '..', '..');
export const REPO = path.resolve(FRONTEND, '..');
export const ARTIFACTS = path.join(FRONTEND, 'artifacts');

// dbURL returns the admin URL, or null after telling why the tests skip.
// With CI=true a missing database is an error, not a skip.
export function dbURL() {
  const url = process.env.RADTRACK_TEST_DATABASE_URL;
  if (url) return url;
  if (process.env.CI === 'true') throw new Error('RADTRACK_TEST_DATABASE_URL is not set (required when CI=true)');
  return null;
}
export const SKIP_REASON = 'RADTRACK_TEST_DATABASE_URL is not set: end-to-end tests skipped (run scripts/services.sh and set it)';

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function withDatabase(adminURL, name) {
  const u = new URL(adminURL);
  u.pathname = '/' + name;
  return u.toString();
}

async function adminQuery(adminURL, sql) {
  const client = new pg.Client({ connectionString: adminURL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

// DBProxy forwards a loopback port to PostgreSQL; down() cuts every
// connection and refuses new ones, as an unreachable database would.
export class DBProxy {
  static async start(target) {
    const p = new DBProxy();
    p.target = target;
    p.isUp = true;
    p.sockets = new Set();
    p.srv = net.createServer((client) => {
      if (!p.isUp) { client.destroy(); return; }
      const upstream = net.connect(Number(target.port || 5432), target.hostname);
      for (const [a, b] of [[client, upstream], [upstream, client]]) {
        p.sockets.add(a);
        a.on('error', () => b.destroy());
        a.on('close', () => { p.sockets.delete(a); b.destroy(); });
        a.pipe(b);
      }
    });
    await new Promise((resolve) => p.srv.listen(0, '127.0.0.1', resolve));
    p.port = p.srv.address().port;
    return p;
  }

  down() {
    this.isUp = false;
    for (const sock of this.sockets) sock.destroy();
  }

  up() { this.isUp = true; }

  close() {
    this.down();
    return new Promise((resolve) => this.srv.close(resolve));
  }
}

export class Server {
  // start builds and starts a server on a fresh database; with
  // {dbProxy: true} it reaches the database through a DBProxy (server.dbProxy);
  // {args: [...]} are added to `radtrack serve`.
  static async start(adminURL, options = {}) {
    const s = new Server();
    s.options = options;
    try {
      await s.boot(adminURL);
    } catch (err) {
      await s.stop(); // leave no process, database or temporary files behind
      throw err;
    }
    return s;
  }

  async boot(adminURL) {
    const s = this;
    s.adminURL = adminURL;
    s.tmp = await mkdtemp(path.join(tmpdir(), 'radtrack-e2e-'));
    if (!existsSync(path.join(FRONTEND, 'dist', 'app', 'index.html'))) {
      throw new Error('frontend/dist/app is missing: run `npm run build` first (npm run test:e2e does)');
    }
    s.bin = path.join(s.tmp, 'radtrack');
    await run('go', ['build', '-o', s.bin, './cmd/radtrack'], { cwd: REPO, maxBuffer: 1 << 24 });
    s.dbName = 'radtrack_e2e_' + crypto.randomBytes(6).toString('hex');
    await adminQuery(adminURL, `CREATE DATABASE ${s.dbName}`);
    s.dbURL = withDatabase(adminURL, s.dbName);
    let serverDB = s.dbURL;
    if (s.options.dbProxy) {
      const u = new URL(s.dbURL);
      s.dbProxy = await DBProxy.start(new URL(s.dbURL));
      u.hostname = '127.0.0.1';
      u.port = String(s.dbProxy.port);
      serverDB = u.toString();
    }
    s.port = await freePort();
    s.base = `http://127.0.0.1:${s.port}`;
    s.stderr = '';
    s.proc = spawn(s.bin, ['serve', '-database-url', serverDB, '-addr', `127.0.0.1:${s.port}`, '-osmand-addr', '', '-bgeigie-addr', '',
      '-data', path.join(s.tmp, 'data'), ...(s.options.args || [])], {
      stdio: ['ignore', 'pipe', 'pipe'],
      // The tests log in and seed history faster than the abuse limits allow.
      env: { ...process.env, RADTRACK_LOG_LEVEL: 'warn', RADTRACK_IP_RATE: '0', RADTRACK_DEVICE_RATE: '0', RADTRACK_LOGIN_RATE: '0' },
    });
    s.proc.stdout.on('data', (d) => { s.stderr += d; });
    s.proc.stderr.on('data', (d) => { s.stderr += d; });
    s.exited = new Promise((resolve) => s.proc.on('exit', resolve));
    await s.waitReady();
    const m = /First start: created user "([^"]+)" with password (\S+)/.exec(s.stderr);
    if (!m) throw new Error('no first-admin password on stderr:\n' + s.stderr);
    s.adminUser = m[1];
    s.adminPassword = m[2];
  }

  async waitReady() {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (this.proc.exitCode !== null) throw new Error('radtrack exited:\n' + this.stderr);
      try {
        const r = await fetch(this.base + '/readyz');
        if (r.ok && /First start/.test(this.stderr)) return;
      } catch { /* not yet */ }
      await sleep(200);
    }
    throw new Error('radtrack did not become ready:\n' + this.stderr);
  }

  async stop() {
    if (this.proc && this.proc.exitCode === null) {
      this.proc.kill('SIGTERM');
      const timer = setTimeout(() => this.proc.kill('SIGKILL'), 10_000);
      await this.exited;
      clearTimeout(timer);
    }
    if (this.dbProxy) await this.dbProxy.close();
    if (this.dbName) {
      await adminQuery(this.adminURL, `DROP DATABASE IF EXISTS ${this.dbName} WITH (FORCE)`).catch((e) => console.error('drop database:', e.message));
    }
    if (this.tmp) await rm(this.tmp, { recursive: true, force: true });
  }
}

// Api is a small cookie-keeping client for test set-up through the API.
export class Api {
  constructor(base) {
    this.base = base;
    this.cookie = '';
  }

  async call(method, p, body, headers = {}) {
    const init = { method, headers: { ...headers } };
    if (this.cookie) init.headers.Cookie = this.cookie;
    if (body !== undefined) {
      init.headers['Content-Type'] = init.headers['Content-Type'] || 'application/json';
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
    }
    const r = await fetch(this.base + '/api/v1' + p, init);
    const set = r.headers.get('set-cookie');
    if (set) this.cookie = set.split(';')[0];
    const text = await r.text();
    const data = text ? JSON.parse(text) : null;
    if (!r.ok) throw new Error(`${method} ${p}: ${r.status} ${text}`);
    return data;
  }

  static async login(base, username, password) {
    const a = new Api(base);
    await a.call('POST', '/login', { username, password });
    return a;
  }
}

// ingest posts samples as a device.
export async function ingest(base, token, samples) {
  const r = await fetch(base + '/api/v1/measurements', {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(samples),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`ingest: ${r.status} ${text}`);
  return JSON.parse(text);
}

export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--enable-unsafe-swiftshader', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-gpu',
];

export class Browser {
  // options: e.g. {reducedMotion: 'reduce', viewport: {...}}.
  static async launch(options = {}) {
    const b = new Browser();
    b.userDataDir = await mkdtemp(path.join(tmpdir(), 'radtrack-chromium-'));
    b.context = await chromium.launchPersistentContext(b.userDataDir, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1440, height: 900 },
      ...options,
    });
    return b;
  }

  async close() {
    await this.context.close().catch(() => {});
    await rm(this.userDataDir, { recursive: true, force: true });
  }
}

// trackRequests records every request a page makes.
export function trackRequests(page) {
  const urls = [];
  page.on('request', (req) => urls.push(req.url()));
  return urls;
}

// offHost lists recorded requests that did not go to base (data: and
// blob: URLs stay in the page).
export function offHost(urls, base) {
  const origin = new URL(base).origin;
  const wsOrigin = origin.replace(/^http/, 'ws');
  return urls.filter((u) => !(u.startsWith(origin + '/') || u === origin || u.startsWith(wsOrigin + '/') || u.startsWith('data:') || u.startsWith('blob:')));
}

export async function login(page, base, username, password) {
  await page.goto(base + '/');
  await page.fill('#login-user', username);
  await page.fill('#login-pass', password);
  await page.click('button[type=submit]');
  await page.waitForFunction(() => window.radtrack && window.radtrack.vehicles, null, { timeout: 60_000, polling: 100 });
  await page.evaluate(() => window.radtrack.map.basemapReady);
}

export async function mapIdle(page) {
  await page.evaluate(() => new Promise((resolve) => {
    const map = window.radtrack.map;
    map.triggerRepaint();
    map.once('idle', resolve);
  }));
}

export async function screenshot(page, name) {
  await mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, name) });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// FLORENCE is the real OpenStreetMap vector archive of the shared test
// data; florencePath() returns it, or null after deciding to skip (and
// throws when CI=true, where the shared data must be there).
export const FLORENCE = path.resolve(REPO, '..', 'shared', 'data', 'maps', 'firenze_osm_protomaps.pmtiles');
export function florencePath() {
  if (existsSync(FLORENCE)) return FLORENCE;
  if (process.env.CI === 'true') throw new Error(`${FLORENCE} is missing (required when CI=true)`);
  return null;
}

// countPixels counts the map canvas's pixels in box {x, y, w, h} (CSS
// pixels; the whole canvas without one) for which test(r, g, b) holds.
export async function countPixels(page, test, box = null) {
  return page.evaluate(async ([testSrc, b]) => {
    const pred = new Function('r', 'g', 'b', `return (${testSrc})(r, g, b);`); // eslint-disable-line no-new-func
    const canvas = window.radtrack.map.getCanvas();
    const img = new Image();
    img.src = canvas.toDataURL('image/png');
    await img.decode();
    const c = document.createElement('canvas');
    c.width = img.width;
    c.height = img.height;
    const ctx = c.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const dpr = canvas.width / canvas.clientWidth;
    const x = b ? Math.max(0, Math.round(b.x * dpr)) : 0;
    const y = b ? Math.max(0, Math.round(b.y * dpr)) : 0;
    const w = b ? Math.min(c.width - x, Math.round(b.w * dpr)) : c.width;
    const h = b ? Math.min(c.height - y, Math.round(b.h * dpr)) : c.height;
    const d = ctx.getImageData(x, y, w, h).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (pred(d[i], d[i + 1], d[i + 2])) n++;
    return n;
  }, [test.toString(), box]);
}

// tilesLoaded waits until the basemap, atlas, site plans and fences have
// every tile of the view. Live vehicles are left out: their source reloads
// with every position, so on a busy machine it is rarely settled (and
// 'idle' may never come).
export async function tilesLoaded(page, timeout = 90_000) {
  await page.waitForFunction(() => {
    const m = window.radtrack.map;
    const bm = window.radtrack.basemaps && window.radtrack.basemaps.current;
    const ids = ['land', 'coast', 'borders', 'plans', 'fences'];
    if (bm && (bm.kind === 'pmtiles' || bm.kind === 'raster')) ids.push('bm-' + bm.id);
    return !m.isMoving() && ids.every((id) => !m.getSource(id) || m.isSourceLoaded(id));
  }, null, { timeout, polling: 250 });
  await page.evaluate(() => new Promise((r) => { const m = window.radtrack.map; m.triggerRepaint(); m.once('render', () => requestAnimationFrame(() => r())); }));
}
