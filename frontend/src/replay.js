// Replay: pick vehicles and a time window, draw their tracks coloured by
// dose, and move markers along them with play / pause / speed / slider.
import { query, errorText, getPatiently } from './api.js';
import { EMPTY } from './map.js';
import { boundsOf, positionAt } from './geo.js';
import { doseStep } from './dose.js';
import { h, replace, fmtTime, toInputUTC, fromInputUTC, utcInput } from './ui/dom.js';
import { exportLinks } from './ui/exportlinks.js';
import { TRACK_FORMATS } from './exports.js';

const SPEEDS = [1, 10, 60, 300, 1200];

// inTurn runs tasks n at a time and returns their results in order.
async function inTurn(tasks, n) {
  const out = new Array(tasks.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, tasks.length) }, async () => {
    while (next < tasks.length) {
      const i = next++;
      out[i] = await tasks[i]();
    }
  }));
  return out;
}

export class Replay {
  constructor({ map, vehicles, devices }) {
    this.map = map;
    this.vehicles = vehicles;
    this.devices = devices; // () → device list
    this.tracks = []; // [{id, name, pts:[{t, lon, lat, dose}]}]
    this.t = 0;
    this.from = 0;
    this.to = 0;
    this.playing = false;
    this.speed = 60;
    this.raf = 0;
    this.installLayers();
    this.buildPanel();
  }

  installLayers() {
    const map = this.map;
    map.addSource('replay-tracks', { type: 'geojson', data: EMPTY });
    map.addSource('replay-markers', { type: 'geojson', data: EMPTY });
    map.addLayer({ id: 'replay-tracks', type: 'line', source: 'replay-tracks',
      layout: { 'line-cap': 'round', 'line-join': 'round' },
      paint: { 'line-color': doseStep(['get', 'dose']), 'line-width': ['interpolate', ['linear'], ['zoom'], 8, 2, 16, 5] } }, 'vehicles-alarm');
    map.addLayer({ id: 'replay-markers', type: 'circle', source: 'replay-markers',
      paint: { 'circle-radius': 8, 'circle-color': doseStep(['get', 'dose']), 'circle-stroke-color': '#ffffff', 'circle-stroke-width': 2 } });
    // Names as canvas images (see vehicles.js: 'lbl:' images are made on demand).
    map.addLayer({ id: 'replay-labels', type: 'symbol', source: 'replay-markers',
      layout: { 'icon-image': ['concat', 'lbl:', ['get', 'name']], 'icon-anchor': 'left', 'icon-offset': [12, 0], 'icon-allow-overlap': true } });
  }

  buildPanel() {
    const now = Date.now();
    this.filter = h('input', { type: 'search', placeholder: 'Filter vehicles', 'aria-label': 'Filter vehicles', oninput: () => this.renderDevices() });
    this.deviceBox = h('div', { class: 'device-pick', role: 'group', 'aria-label': 'Vehicles to replay' });
    this.fromIn = utcInput({ name: 'from', value: toInputUTC(now - 3600_000), 'aria-label': 'From (UTC)' });
    this.toIn = utcInput({ name: 'to', value: toInputUTC(now), 'aria-label': 'To (UTC)' });
    this.msg = h('p', { class: 'muted', role: 'status' });
    this.exports = h('div', { class: 'replay-exports' });
    this.playBtn = h('button', { type: 'button', class: 'primary', disabled: true, onclick: () => this.toggle(), 'aria-label': 'Play' }, '▶ Play');
    this.speedSel = h('select', { 'aria-label': 'Replay speed', onchange: () => { this.speed = Number(this.speedSel.value); } },
      SPEEDS.map((s) => h('option', { value: String(s), selected: s === this.speed }, `${s}×`)));
    this.slider = h('input', { type: 'range', min: '0', max: '1000', value: '0', disabled: true, 'aria-label': 'Replay time',
      oninput: () => { this.t = this.from + (Number(this.slider.value) / 1000) * (this.to - this.from); this.draw(); } });
    this.clock = h('div', { class: 'replay-clock', 'aria-live': 'off' }, '—');
    this.el = h('section', { class: 'replay' },
      h('form', { class: 'stack', onsubmit: (e) => { e.preventDefault(); this.load(); } },
        this.filter, this.deviceBox,
        h('label', null, h('span', null, 'From (UTC)'), this.fromIn),
        h('label', null, h('span', null, 'To (UTC)'), this.toIn),
        h('div', { class: 'row' },
          h('button', { type: 'submit', class: 'primary' }, 'Load tracks'),
          h('button', { type: 'button', onclick: () => this.exit() }, 'Back to live'))),
      this.msg, this.exports,
      h('div', { class: 'replay-controls' }, h('div', { class: 'row' }, this.playBtn, this.speedSel), this.slider, this.clock));
    this.picked = new Set();
    for (const el of [this.fromIn, this.toIn]) el.addEventListener('change', () => { this.windowTouched = true; });
  }

  // When the tab opens and nothing is loaded, the window ends now.
  refreshWindow() {
    if (this.tracks.length || this.windowTouched) return;
    const now = Date.now();
    this.fromIn.value = toInputUTC(now - 3600_000);
    this.toIn.value = toInputUTC(now);
  }

  renderDevices() {
    const q = this.filter.value.toLowerCase();
    const list = (this.devices() || []).filter((d) => !q || `${d.name} ${d.uid} ${d.group}`.toLowerCase().includes(q));
    replace(this.deviceBox, list.length ? null : h('p', { class: 'muted' }, 'No vehicles.'),
      list.slice(0, 300).map((d) => h('label', { class: 'check' },
        h('input', { type: 'checkbox', value: String(d.id), checked: this.picked.has(d.id),
          onchange: (e) => { if (e.target.checked) this.picked.add(d.id); else this.picked.delete(d.id); } }),
        ` ${d.name}`, d.group ? h('span', { class: 'muted' }, ` · ${d.group}`) : null)));
  }

  async load() {
    const from = fromInputUTC(this.fromIn.value);
    const to = fromInputUTC(this.toIn.value);
    if (!from || !to || to <= from) {
      this.msg.textContent = 'Choose a valid time window.';
      return;
    }
    if (!this.picked.size) {
      this.msg.textContent = 'Pick at least one vehicle.';
      return;
    }
    this.pause();
    this.msg.textContent = 'Loading…';
    try {
      const ids = [...this.picked];
      // Two at a time: the server runs at most two large queries per user.
      const results = await inTurn(ids.map((id) => () =>
        getPatiently(`/devices/${id}/track` + query({ from: from.toISOString(), to: to.toISOString(), limit: 50000 }))), 2);
      this.tracks = results.map((r, i) => ({
        id: ids[i],
        name: this.vehicles.name(ids[i]),
        pts: r.samples.filter((s) => s.gps_valid && s.lon !== null && s.lat !== null)
          .map((s) => ({ t: Date.parse(s.time), lon: s.lon, lat: s.lat, dose: s.dose_rate ?? -1 })),
      }));
      this.from = from.getTime();
      this.to = to.getTime();
      this.t = this.from;
      const n = this.tracks.reduce((a, tr) => a + tr.pts.length, 0);
      this.msg.textContent = `${n} samples on ${this.tracks.filter((t) => t.pts.length).length} of ${ids.length} vehicles.`;
      // The loaded window as files, whole (exports have no row cap).
      const win = { from: from.toISOString(), to: to.toISOString() };
      replace(this.exports, this.tracks.map((tr) => exportLinks(tr.name, `/devices/${tr.id}/track`, win, TRACK_FORMATS)));
      this.showTracks();
    } catch (err) {
      this.msg.textContent = errorText(err);
    }
  }

  showTracks() {
    const segs = [];
    const all = [];
    for (const tr of this.tracks) {
      for (let i = 1; i < tr.pts.length; i++) {
        const a = tr.pts[i - 1], b = tr.pts[i];
        segs.push({ type: 'Feature', geometry: { type: 'LineString', coordinates: [[a.lon, a.lat], [b.lon, b.lat]] },
          properties: { id: tr.id, dose: Math.max(a.dose, b.dose) } });
      }
      for (const p of tr.pts) all.push([p.lon, p.lat]);
    }
    this.map.getSource('replay-tracks').setData({ type: 'FeatureCollection', features: segs });
    this.vehicles.setVisible(false);
    this.active = true;
    this.playBtn.disabled = false;
    this.slider.disabled = false;
    if (all.length) this.map.fitBounds(boundsOf(all), { padding: 80, maxZoom: 16, duration: 500 });
    this.draw();
  }

  toggle() {
    if (this.playing) this.pause();
    else this.play();
  }

  play() {
    if (!this.tracks.length) return;
    if (this.t >= this.to) this.t = this.from;
    this.playing = true;
    this.playBtn.textContent = '❚❚ Pause';
    this.playBtn.setAttribute('aria-label', 'Pause');
    let last = performance.now();
    const step = (now) => {
      if (!this.playing) return;
      this.t = Math.min(this.to, this.t + (now - last) * this.speed);
      last = now;
      this.draw();
      if (this.t >= this.to) this.pause();
      else this.raf = requestAnimationFrame(step);
    };
    this.raf = requestAnimationFrame(step);
  }

  pause() {
    this.playing = false;
    cancelAnimationFrame(this.raf);
    this.playBtn.textContent = '▶ Play';
    this.playBtn.setAttribute('aria-label', 'Play');
  }

  draw() {
    const fs = [];
    for (const tr of this.tracks) {
      const p = positionAt(tr.pts, this.t);
      if (p) fs.push({ type: 'Feature', id: tr.id, geometry: { type: 'Point', coordinates: [p.lon, p.lat] }, properties: { id: tr.id, name: tr.name, dose: p.dose } });
    }
    this.map.getSource('replay-markers').setData({ type: 'FeatureCollection', features: fs });
    this.slider.value = String(Math.round(((this.t - this.from) / Math.max(1, this.to - this.from)) * 1000));
    this.clock.textContent = fmtTime(this.t);
  }

  exit() {
    this.pause();
    this.tracks = [];
    this.active = false;
    this.map.getSource('replay-tracks').setData(EMPTY);
    this.map.getSource('replay-markers').setData(EMPTY);
    this.playBtn.disabled = true;
    this.slider.disabled = true;
    this.clock.textContent = '—';
    this.msg.textContent = '';
    replace(this.exports);
    this.vehicles.setVisible(true);
  }
}
