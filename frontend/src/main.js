// RadTrack control room: boot, login, and the wiring between the map,
// the live feed and the panels.
import './style.css';
import './report.css';
import { get, post, setUnauthorizedHandler, errorText } from './api.js';
import { h, replace, fmtTime } from './ui/dom.js';
import { loginView } from './ui/login.js';
import { createMap, maplibregl, Basemaps } from './map.js';
import { Vehicles } from './vehicles.js';
import { LiveClient, State } from './live.js';
import { AlarmStore, AlarmPanel } from './alarms.js';
import { IncidentStore, groupCards } from './incidents.js';
import { IncidentAnalysis } from './incidentsource.js';
import { Fences } from './fences.js';
import { Overlays } from './overlays.js';
import { VehicleList } from './ui/vehiclelist.js';
import { ShapeEditor } from './draw.js';
import { Replay } from './replay.js';
import { Heatmap } from './heatmap.js';
import { VehiclePanel } from './ui/vehiclepanel.js';
import { AlarmHistory } from './ui/history.js';
import { AdminPanel } from './ui/admin.js';
import { RulesPanel } from './ui/rules.js';
import { legend } from './ui/legend.js';
import { soundEnabled, setSoundEnabled, audioUnlocked, unlock, onSoundChange, soundControl } from './sound.js';
import { fmtDose } from './dose.js';
import { watchHealth } from './health.js';
import { registerServiceWorker, onServiceWorkerMessage, incidentFromHash } from './pwa.js';
import { PhoneView } from './phone.js';
import { Alerts } from './notifications.js';
import { reportFromHash, showReport } from './report.js';
import { DailyPanel } from './daily.js';

const root = document.getElementById('app');

async function boot() {
  setUnauthorizedHandler(() => {
    if (window.radtrack && window.radtrack.live) window.radtrack.live.stop();
    showLogin('Your session ended. Log in again.');
  });
  try {
    const { user } = await get('/me', { quiet401: true });
    // "#report=<incident id>": the printable incident report, without the map app.
    const report = reportFromHash(location.hash);
    if (report) showReport(root, report);
    else startApp(user);
    // Typing "#report=N" into an open app's address bar changes only the hash.
    window.addEventListener('hashchange', () => { if (reportFromHash(location.hash) !== report) location.reload(); });
  } catch (err) {
    if (err.status === 401) showLogin();
    else {
      // The installed app opens without the server from its cache: say
      // so, and try again by itself (network back, or every 15 s).
      const unreachable = err.status === 0;
      const offline = unreachable && navigator.onLine === false;
      if (offline) window.addEventListener('online', boot, { once: true });
      else if (unreachable) setTimeout(boot, 15_000);
      replace(root, h('main', { class: 'login' }, h('div', { class: 'login-card' },
        h('h1', null, 'RadTrack'), h('p', { class: 'error' }, offline
          ? 'Offline: no network. RadTrack reconnects by itself when the network is back.'
          : unreachable ? 'Cannot reach the server. RadTrack tries again every 15 s.'
            : `Server unavailable: ${errorText(err)}`),
        h('button', { type: 'button', onclick: boot }, 'Retry'))));
    }
  }
}

function showLogin(message) {
  document.body.className = 'is-login';
  const view = loginView(() => location.reload());
  if (message) view.querySelector('.error').textContent = message;
  replace(root, view);
}

const CONN_TEXT = {
  [State.CONNECTING]: 'Connecting…',
  [State.LIVE]: 'Live',
  [State.RECONNECTING]: 'Reconnecting…',
  [State.POLLING]: 'Polling (no live feed)',
  [State.OFFLINE]: 'Offline',
};

function startApp(user) {
  document.body.className = 'is-app';
  const conn = h('span', { class: 'conn conn-connecting', role: 'status', 'aria-live': 'polite' }, CONN_TEXT.connecting);
  const clock = h('span', { class: 'clock', 'aria-label': 'UTC time' });
  const count = h('span', { class: 'muted vehicle-count' });
  // Until the browser lets the page play sound, the button says so and
  // unlocks it; then it is the mute toggle.
  const soundBtn = h('button', { type: 'button', class: 'btn-small sound-btn', 'data-sound-control': '',
    onclick: () => {
      // Act on what the button showed: a click on "Enable sound" unlocks,
      // never mutes (sound.js leaves this button's gestures to it).
      if (soundBtn.dataset.mode === 'enable') unlock();
      else setSoundEnabled(!soundEnabled());
    } });
  const showSound = () => {
    const c = soundControl(soundEnabled(), audioUnlocked());
    soundBtn.textContent = c.text;
    soundBtn.title = c.title;
    soundBtn.dataset.mode = c.mode;
    soundBtn.dataset.short = c.mode === 'enable' ? '⚠ Sound' : c.pressed ? 'Sound' : 'Muted'; // phone top bar
    if (c.mode === 'toggle') soundBtn.setAttribute('aria-pressed', String(c.pressed));
    else soundBtn.removeAttribute('aria-pressed');
    soundBtn.classList.toggle('needs-unlock', c.mode === 'enable');
  };
  onSoundChange(showSound);
  showSound();
  const banner = h('button', { type: 'button', class: 'alarm-banner', hidden: true });
  const health = h('span', { class: 'server-health', role: 'status', 'aria-live': 'polite', hidden: true });
  const statusLine = h('span', { class: 'status-line', role: 'status' });
  const phone = new PhoneView();
  // Names of vehicles for notifications, once the map knows them.
  const alerts = new Alerts({ deviceName: (id) => (window.radtrack && window.radtrack.vehicles ? window.radtrack.vehicles.name(id) : `device ${id}`),
    status: (msg) => { statusLine.textContent = msg; } });
  const header = h('header', { class: 'topbar' },
    h('div', { class: 'brand' }, h('span', { class: 'logo-mark', 'aria-hidden': 'true' }, '☢'), h('span', { class: 'brand-name' }, ' RadTrack')),
    conn, health, count, banner, h('span', { class: 'spacer' }), statusLine, clock, phone.btn, alerts.btn, soundBtn,
    h('span', { class: 'user' }, `${user.username} · ${user.role}`),
    h('button', { type: 'button', class: 'btn-small', onclick: async () => {
      try { await post('/logout'); } catch { /* already gone */ }
      location.reload();
    } }, 'Log out'));
  const mapEl = h('div', { id: 'map', class: 'map', role: 'application', 'aria-label': 'Map of vehicles, alarms and fences' });
  const mapWrap = h('div', { class: 'map-wrap' }, mapEl, legend());
  const tabsBar = h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Panels' });
  const tabBody = h('div', { class: 'tab-body' });
  const side = h('aside', { class: 'sidebar', 'aria-label': 'Panels' }, tabsBar, tabBody);
  replace(root, header, h('div', { class: 'layout' }, mapWrap, side), alerts.dialog);
  setInterval(() => { clock.textContent = fmtTime(new Date()).slice(11); }, 1000);
  watchHealth(health);

  const status = (msg) => {
    statusLine.textContent = msg;
    clearTimeout(status.t);
    status.t = setTimeout(() => { statusLine.textContent = ''; }, 8000);
  };

  const map = createMap(mapEl);
  phone.map = map;
  window.radtrack = { map, user, phone, alerts };
  map.on('load', () => wire({ user, map, mapWrap, tabsBar, tabBody, conn, count, banner, status, phone, alerts }));
}

function wire({ user, map, mapWrap, tabsBar, tabBody, conn, count, banner, status, phone, alerts }) {
  let devices = [];
  // Layer order: heatmap < fences < replay tracks < vehicles < replay markers < editor.
  const overlays = new Overlays({ map, user, status });
  const fences = new Fences({ map, user, status });
  const heatmap = new Heatmap({ map });
  const vehicles = new Vehicles(map);
  const replay = new Replay({ map, vehicles, devices: () => devices });
  const editor = new ShapeEditor(map);
  fences.editor = editor;
  vehicles.canSelect = () => !editor.active;
  editor.addEventListener('change', () => fences.syncForm());
  editor.addEventListener('cancel', () => fences.closeForm());
  const vpanel = new VehiclePanel(vehicles);
  mapWrap.append(vpanel.el);

  const alarms = new AlarmStore();
  // A partial incident frame for an incident this page did not hold (its
  // peak moved to a vehicle it sees) is completed from REST.
  const incidents = new IncidentStore({ fetchIncident: (id) => get(`/incidents/${id}`).then((b) => b && b.incident) });
  const deviceName = (id) => vehicles.name(id);
  let peakMarker = null;
  const locate = (a) => {
    const valid = a.peak_gps_valid !== false && (a.peak_lon || a.peak_lat);
    const v = vehicles.byId.get(a.device_id);
    const at = valid ? [a.peak_lon, a.peak_lat] : v ? [v.lon, v.lat] : null;
    if (!at) {
      status('This alarm has no position.');
      return;
    }
    phone.located();
    map.flyTo({ center: at, zoom: Math.max(map.getZoom(), 15), duration: 1200 });
    if (peakMarker) peakMarker.remove();
    // MapLibre positions the marker's element with a CSS transform: the
    // pulsing ring is an inner element, so its animation cannot undo that.
    const el = h('div', { class: 'peak-marker', title: `Peak ${fmtDose(a.peak_dose_usvh)} µSv/h` }, h('div', { class: 'peak-marker-ring' }));
    peakMarker = new maplibregl.Marker({ element: el }).setLngLat(at).addTo(map);
    window.radtrack.peakMarker = peakMarker;
    setTimeout(() => { if (peakMarker) peakMarker.remove(); peakMarker = null; }, 15000);
  };
  const history = new AlarmHistory({ deviceName, onLocate: locate, devices: () => devices });
  const analysis = new IncidentAnalysis({ map, incidents });
  const panel = new AlarmPanel({ store: alarms, incidents, user, deviceName, onLocate: locate, onDetails: (id) => { select('history'); history.show(id); },
    onAnalyse: (inc, el) => analysis.show(inc, el) });
  const rules = new RulesPanel({ user, fences: () => fences.features });
  const vlist = new VehicleList({ vehicles, map });
  const daily = new DailyPanel({ devices: () => devices });
  const admin = user.role === 'admin' ? new AdminPanel({ me: user, onDevicesChanged: (list) => setDevices(list) }) : null;

  const tabs = [
    { id: 'alarms', label: 'Alarms', el: panel.el },
    { id: 'vehicles', label: 'Vehicles', el: vlist.el, onShow: () => vlist.show(), onHide: () => vlist.hide() },
    { id: 'history', label: 'History', el: history.el, onShow: () => { history.refreshDevices(); history.load(); } },
    { id: 'fences', label: 'Fences', el: fences.el },
    { id: 'plans', label: 'Plans', el: overlays.el },
    { id: 'replay', label: 'Replay', el: replay.el, onShow: () => { replay.refreshWindow(); replay.renderDevices(); } },
    { id: 'heatmap', label: 'Heatmap', el: heatmap.el, onShow: () => heatmap.refreshWindow() },
    { id: 'daily', label: 'Daily', el: daily.el, onShow: () => daily.refreshGroups() },
    { id: 'rules', label: 'Rules', el: rules.el, onShow: () => rules.load() },
  ];
  if (admin) tabs.push({ id: 'admin', label: 'Admin', el: admin.el, onShow: () => admin.load() });
  const badge = h('span', { class: 'tab-badge', hidden: true });
  for (const t of tabs) {
    t.btn = h('button', { type: 'button', role: 'tab', id: `tab-${t.id}`, 'aria-controls': `panel-${t.id}`, 'aria-selected': 'false',
      onclick: () => select(t.id) }, t.label, t.id === 'alarms' ? badge : null);
    t.panel = h('div', { role: 'tabpanel', id: `panel-${t.id}`, 'aria-labelledby': `tab-${t.id}`, hidden: true }, t.el);
    tabsBar.append(t.btn);
    tabBody.append(t.panel);
  }
  tabsBar.addEventListener('keydown', (e) => {
    const i = tabs.findIndex((t) => t.btn === document.activeElement);
    if (i < 0 || (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft')) return;
    const next = tabs[(i + (e.key === 'ArrowRight' ? 1 : tabs.length - 1)) % tabs.length];
    select(next.id);
    next.btn.focus();
  });
  function select(id) {
    for (const t of tabs) {
      const on = t.id === id;
      t.btn.setAttribute('aria-selected', String(on));
      t.btn.tabIndex = on ? 0 : -1;
      t.panel.hidden = !on;
      if (on && t.onShow) t.onShow();
      if (!on && t.onHide) t.onHide();
    }
  }
  select('alarms');

  function setDevices(list) {
    devices = list;
    vehicles.setMeta(list);
    daily.refreshGroups();
  }
  const loadDevices = async () => {
    try {
      const { devices: list } = await get('/devices');
      setDevices(list);
    } catch (err) {
      status(`Devices: ${errorText(err)}`);
    }
  };

  // The top-bar banner names the most severe alarm nobody has looked at yet.
  const updateBanner = () => {
    const fresh = alarms.sorted().filter((a) => alarms.fresh.has(a.id));
    if (!fresh.length) {
      banner.hidden = true;
      return;
    }
    const a = fresh[0];
    banner.hidden = false;
    banner.className = `alarm-banner sev-${a.severity}`;
    banner.textContent = `NEW ${a.severity.toUpperCase()}: ${a.rule_name} — ${deviceName(a.device_id)}` + (fresh.length > 1 ? ` (+${fresh.length - 1})` : '');
    banner.onclick = () => { select('alarms'); alarms.seen(a.id); locate(a); };
  };
  const updateBadge = () => {
    // One count per card: incidents, alarms not in one yet, health alarms.
    const { main, health } = groupCards(alarms.open, incidents.open);
    const n = main.length + health.length;
    const raised = main.filter((c) => c.item.state === 'raised').length;
    badge.hidden = n === 0;
    badge.textContent = String(n);
    badge.className = 'tab-badge' + (raised ? ' hot' : '');
    document.title = raised ? `(${raised}) RadTrack` : 'RadTrack control room';
    vehicles.setAlarmed(alarms.deviceIds(), alarms.deviceIds('raised'));
  };
  alarms.addEventListener('change', () => { updateBadge(); updateBanner(); });
  incidents.addEventListener('change', updateBadge);
  alarms.addEventListener('new', updateBanner);
  incidents.addEventListener('frame', (e) => alerts.onIncidentFrame(e.detail));

  // A notification opened the app (#incident=N) or was clicked while it
  // was open: show the incidents with that one in view.
  const openIncident = (id) => {
    if (!id) return;
    phone.showMap(false);
    select('alarms');
    const el = document.querySelector(`.incident-card[data-incident-id="${id}"]`);
    if (el) {
      el.scrollIntoView({ block: 'center' });
      el.focus();
    }
  };
  onServiceWorkerMessage((m) => { if (m.type === 'radtrack-open-incident') openIncident(m.incident); });
  const fromHash = incidentFromHash(location.hash);
  if (fromHash) incidents.addEventListener('change', function once() {
    incidents.removeEventListener('change', once);
    setTimeout(() => openIncident(fromHash), 0);
  });

  // The first time vehicles arrive, show the main fleet: the vehicles
  // within about 100 km of the median position. A few far away (a replayed
  // drive, a vehicle on transfer) must not turn the map into a world view.
  let framed = false;
  const frameFleet = () => {
    const pts = [...vehicles.byId.values()].filter((v) => Number.isFinite(v.lon) && Number.isFinite(v.lat));
    if (framed || !pts.length) return;
    framed = true;
    const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const mlon = median(pts.map((v) => v.lon));
    const mlat = median(pts.map((v) => v.lat));
    const near = pts.filter((v) => Math.abs(v.lat - mlat) < 1 && Math.abs(v.lon - mlon) < 1.5);
    let w = 180, s = 90, e = -180, n = -90;
    for (const v of near.length ? near : pts) {
      w = Math.min(w, v.lon); e = Math.max(e, v.lon); s = Math.min(s, v.lat); n = Math.max(n, v.lat);
    }
    map.fitBounds([[w, s], [e, n]], { padding: 80, maxZoom: 13, duration: 0 });
  };
  const live = new LiveClient({
    onSnapshot: ({ positions, alarms: list, incidents: incList, sources }) => {
      if (positions) vehicles.applyColumns(positions, true);
      frameFleet();
      if (sources) analysis.replaceSources(sources);
      if (incList) incidents.replaceAll(incList);
      if (list) alarms.replaceAll(list);
    },
    onPositions: (cols, full) => {
      const unknown = vehicles.applyColumns(cols, full);
      frameFleet();
      return unknown;
    },
    onAlarm: (frame) => alarms.applyEvent(frame),
    onIncident: (frame) => incidents.applyEvent(frame),
    onSource: (frame) => analysis.applySource(frame.source),
    onPolledAlarms: (list) => alarms.replaceAll(list),
    onPolledIncidents: (list) => incidents.replaceAll(list),
    devices: () => devices,
  });
  live.addEventListener('state', (e) => {
    const { state, retryAt, reason } = e.detail;
    if (state === State.OFFLINE && (reason === 'logged out' || reason === 'credential ended')) {
      // The session ended, or the user changed (role, password): load again
      // with what the server says now (the login form, or the new role).
      location.reload();
      return;
    }
    conn.className = `conn conn-${state}`;
    let text = CONN_TEXT[state] || state;
    if (state === State.RECONNECTING && retryAt) text += ` (retry in ${Math.max(0, Math.round((retryAt - Date.now()) / 1000))} s)`;
    conn.textContent = text;
  });
  setInterval(() => { count.textContent = `${vehicles.byId.size} vehicles`; }, 1000);

  loadDevices().then(() => live.start());
  setInterval(loadDevices, 60_000);
  fences.load();
  overlays.load();
  // Basemaps: the server's list, a switcher, the remembered choice.
  get('/basemaps').then(({ basemaps: list }) => {
    const bm = new Basemaps(map, list);
    bm.addEventListener('error', (e) => status(`Basemap ${e.detail}`));
    if (list.length) map.addControl(bm.control(), 'top-left'); // the atlas alone needs no switcher
    window.radtrack.basemaps = bm;
    return bm.use(bm.initial.id);
  }).catch((err) => status(`Basemaps: ${errorText(err)}`)).finally(() => { window.radtrack.basemapsReady = true; });
  Object.assign(window.radtrack, { analysis, vehicles, alarms, incidents, live, fences, overlays, editor, replay, heatmap, vehicleList: vlist, selectTab: select });
}

registerServiceWorker();
boot();
