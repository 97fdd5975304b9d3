/* RadTrack service worker (classic script; scope /).
 *
 * - App shell offline: every file of the build is cached on install (the
 *   build fills in PRECACHE: scripts/swbuild.mjs), so the app
 *   opens without the network and without anything off the host.
 * - Push: shows the incident (severity, vehicles, peak dose, place) with an
 *   Acknowledge action; the payload is notify's Web Push payload version 1
 *   (notify/webpush.go pushPayload).
 * - Notification click: Acknowledge POSTs /api/v1/incidents/{id}/acknowledge
 *   with the session cookie; any other click opens the incident.
 * The API is never cached: an alarm list from a cache would be a lie.
 */
const PRECACHE = __RADTRACK_PRECACHE__;
const VERSION = '__RADTRACK_VERSION__';
const CACHE = 'radtrack-shell-' + VERSION;
const SHELL = '/';

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches.open(CACHE)
      .then((c) => c.addAll(PRECACHE.map((u) => new Request(u, { cache: 'reload' }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith('radtrack-shell-') && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

// Paths that are live data or server endpoints, never the shell.
function isLive(path) {
  return path.startsWith('/api/') || path === '/readyz' || path === '/healthz' || path === '/metrics';
}

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin || isLive(url.pathname)) return;
  if (req.mode === 'navigate') {
    // Network first (a new build shows at once), the cached shell offline.
    event.respondWith(fetch(req).catch(() => caches.match(SHELL, { cacheName: CACHE })
      .then((r) => r || Response.error())));
    return;
  }
  // Built assets are fingerprinted: the cache is always right for them.
  event.respondWith(caches.match(req, { cacheName: CACHE, ignoreSearch: url.pathname.startsWith('/assets/') })
    .then((hit) => hit || fetch(req)));
});

const SEVERITY_TEXT = { critical: 'CRITICAL', alarm: 'ALARM', warning: 'WARNING', notice: 'NOTICE', info: 'INFO' };

function fmtDose(v) {
  if (typeof v !== 'number' || !Number.isFinite(v)) return 'no dose reading';
  const digits = v >= 100 ? 0 : v >= 10 ? 1 : 2;
  return `${v.toFixed(digits)} µSv/h`;
}

// notificationFor turns a push payload into showNotification's (title,
// options). Pure: the unit tests call it.
function notificationFor(p) {
  const sev = SEVERITY_TEXT[p.severity] || String(p.severity || '').toUpperCase() || 'INCIDENT';
  const vehicles = Array.isArray(p.vehicles) && p.vehicles.length ? p.vehicles.join(', ') : 'unknown vehicle';
  // A digest (several pages in one push) lists its pages in body.
  const lines = p.digest && p.body ? [p.body] : [
    `${sev} · ${vehicles}`,
    `Peak ${fmtDose(p.peak_usvh)}`,
    p.place ? `at ${p.place}` : '',
  ].filter(Boolean);
  const paging = !!p.pages && p.state === 'raised';
  const actions = (Array.isArray(p.actions) ? p.actions : [])
    .filter((a) => a && a.action === 'acknowledge')
    .map((a) => ({ action: a.action, title: a.title || 'Acknowledge' }));
  const title = (p.test ? '[TEST] ' : '') + (p.title || `${sev} incident ${p.incident || ''}`.trim());
  return {
    title,
    options: {
      body: lines.join('\n'),
      tag: p.incident ? `incident-${p.incident}` : (p.key || 'radtrack'),
      // A re-alarm replaces the incident's notification and rings again.
      renotify: paging && !!p.incident,
      requireInteraction: paging && (p.severity === 'alarm' || p.severity === 'critical'),
      silent: !paging,
      vibrate: paging ? [300, 120, 300, 120, 600] : undefined,
      icon: '/icons/icon-192.png',
      badge: '/icons/badge-96.png',
      timestamp: p.time ? Date.parse(p.time) || Date.now() : Date.now(),
      actions,
      data: {
        incident: p.incident || 0, url: p.url || '', key: p.key || '', severity: p.severity || '',
        incidents: Array.isArray(p.incidents) ? p.incidents.filter((id) => Number.isInteger(id) && id > 0) : [],
      },
    },
  };
}

// shown records the last notifications for the end-to-end test (headless
// Chromium has no notification centre to look at).
const shown = [];
self.radtrackShown = shown;

async function show(title, options) {
  let error = '';
  try {
    await self.registration.showNotification(title, options);
  } catch (err) {
    error = String(err && err.message);
    throw err;
  } finally {
    // Recorded once shown (or failed): the tray has it by then.
    shown.push({ title, options, error });
    if (shown.length > 20) shown.shift();
  }
}

async function onPush(data) {
  let p;
  try {
    p = data ? data.json() : null;
  } catch {
    p = null;
  }
  if (!p || p.v !== 1) {
    // Something we cannot read still must not vanish silently.
    await show('RadTrack alert', { body: 'Open RadTrack to see the incident.', tag: 'radtrack-unreadable', icon: '/icons/icon-192.png' });
    return;
  }
  const n = notificationFor(p);
  await show(n.title, n.options);
  // An open app hears about it too (it also has the live feed).
  const wins = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  for (const w of wins) w.postMessage({ type: 'radtrack-push', payload: p });
}

self.addEventListener('push', (event) => {
  event.waitUntil(onPush(event.data));
});

function incidentURL(data) {
  if (data && data.url) {
    try {
      const u = new URL(data.url, self.location.origin);
      if (u.origin === self.location.origin) return u.href;
    } catch { /* fall through */ }
  }
  return new URL(data && data.incident ? `/#incident=${data.incident}` : '/', self.location.origin).href;
}

async function openIncident(data) {
  const wins = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  for (const w of wins) {
    if (new URL(w.url).origin !== self.location.origin) continue;
    w.postMessage({ type: 'radtrack-open-incident', incident: data && data.incident });
    if ('focus' in w) await w.focus();
    return { opened: 'focused' };
  }
  await self.clients.openWindow(incidentURL(data));
  return { opened: 'window' };
}

// handleClick is the notificationclick logic: acknowledge from the
// notification, or open the incident. It resolves to what happened (the
// end-to-end test calls it through self.radtrackHandleClick).
async function acknowledge(id) {
  try {
    const res = await fetch(`/api/v1/incidents/${encodeURIComponent(id)}/acknowledge`, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ comment: 'acknowledged from the phone notification' }),
    });
    return res.status;
  } catch { return 0; /* offline */ }
}

async function handleClick(action, data) {
  if (action === 'acknowledge' && data && data.incident) {
    // A digest's Acknowledge acknowledges every incident it lists; the
    // first refusal (or every one) is what the phone reports.
    const ids = Array.isArray(data.incidents) && data.incidents.length ? data.incidents : [data.incident];
    let status = null;
    for (const id of ids) {
      const s = await acknowledge(id);
      if (status === null || (status >= 200 && status < 300)) status = s;
    }
    const tag = `incident-${data.incident}`;
    if (status >= 200 && status < 300) {
      const what = ids.length > 1 ? `${ids.length} incidents (${ids.join(', ')})` : `incident ${data.incident}`;
      await show(`Acknowledged ${what}`, { body: 'Escalation stopped. Open RadTrack to resolve it.', tag, silent: true, icon: '/icons/icon-192.png', data });
      return { acknowledged: true, status };
    }
    // Not logged in (401), not an operator (403), offline: say so and open
    // the app, where the reason can be dealt with.
    const why = status === 401 ? 'log in first' : status === 403 ? 'your role cannot acknowledge' : status === 0 ? 'server unreachable' : `server answered ${status}`;
    await show(`Not acknowledged: ${why}`, { body: 'The incident is still open.', tag, requireInteraction: true, icon: '/icons/icon-192.png', data });
    await openIncident(data);
    return { acknowledged: false, status };
  }
  return openIncident(data);
}
self.radtrackHandleClick = handleClick;

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  event.waitUntil(handleClick(event.action, event.notification.data || {}));
});
