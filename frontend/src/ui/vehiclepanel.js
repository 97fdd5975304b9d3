// Side panel for the selected vehicle: live values from the feed (battery
// included; the row is left out when the device reports none) and the
// 30-minute dose chart from the track API.
import { get, query, errorText } from '../api.js';
import { h, replace, fmtTime, fmtAge, fmtNum } from './dom.js';
import { doseColor, fmtDose } from '../dose.js';
import { doseChart } from '../chart.js';

const WINDOW_MS = 30 * 60_000;

export class VehiclePanel {
  constructor(vehicles) {
    this.vehicles = vehicles;
    this.id = null;
    this.samples = [];
    this.values = h('dl', { class: 'kv' });
    this.chart = h('div', { class: 'chart-box' });
    this.title = h('h2', { id: 'vehicle-title' });
    this.el = h('aside', { class: 'vehicle-panel', hidden: true, 'aria-labelledby': 'vehicle-title' },
      h('div', { class: 'panel-head' }, this.title,
        h('button', { type: 'button', class: 'icon-btn', 'aria-label': 'Close vehicle panel', onclick: () => vehicles.select(null) }, '×')),
      this.values,
      h('h3', null, 'Dose rate (µSv/h), last 30 minutes'),
      this.chart);
    vehicles.addEventListener('select', (e) => this.show(e.detail));
    vehicles.addEventListener('update', (e) => { if (e.detail.id === this.id) this.renderValues(); });
    setInterval(() => { if (this.id !== null) this.loadTrack(); }, 15_000);
    setInterval(() => { if (this.id !== null) this.renderValues(); }, 1000);
  }

  show(id) {
    this.id = id;
    this.el.hidden = id === null;
    if (id === null) return;
    this.samples = [];
    this.renderValues();
    replace(this.chart, h('p', { class: 'muted' }, 'Loading…'));
    this.loadTrack();
  }

  async loadTrack() {
    const id = this.id;
    const to = Date.now();
    try {
      const { samples } = await get(`/devices/${id}/track` + query({
        from: new Date(to - WINDOW_MS).toISOString(), to: new Date(to + 60_000).toISOString(), limit: 10000,
      }));
      if (id !== this.id) return;
      this.samples = samples;
      replace(this.chart, doseChart(samples, { from: to - WINDOW_MS, to, width: 300, height: 130 }));
      this.renderValues();
    } catch (err) {
      if (id === this.id) replace(this.chart, h('p', { class: 'error' }, errorText(err)));
    }
  }

  renderValues() {
    const v = this.vehicles.byId.get(this.id);
    const name = this.vehicles.name(this.id);
    this.title.textContent = name;
    const last = this.samples.length ? this.samples[this.samples.length - 1] : null;
    const dose = v ? v.dose : last ? last.dose_rate : null;
    const t = v ? v.t : last ? Date.parse(last.time) : null;
    const speed = v ? v.spd : last ? last.speed : null;
    const battery = v ? v.bat : last ? last.battery : null;
    const meta = this.vehicles.meta.get(this.id) || {};
    const row = (k, val) => [h('dt', null, k), h('dd', null, val)];
    replace(this.values,
      row('Device', `${meta.uid || (v && v.uid) || '—'}${meta.group ? ' · ' + meta.group : ''}`),
      row('Last fix', h('span', { class: v && v.stale ? 'stale-text' : '' }, `${fmtTime(t)} (${fmtAge(t ? Date.now() - t : null)})`)),
      row('Dose rate', h('span', null, h('span', { class: 'dose-chip', style: { background: doseColor(dose) } }, fmtDose(dose)), ' µSv/h')),
      row('Speed', speed === null || speed === undefined ? '—' : `${fmtNum(speed * 3.6, 0)} km/h`),
      row('Heading', v && v.hdg !== null && v.hdg !== undefined ? `${fmtNum(v.hdg, 0)}°` : '—'),
      battery === null || battery === undefined ? null : row('Battery', `${fmtNum(battery, 0)} %`),
      row('Position', v ? `${v.lat.toFixed(5)}, ${v.lon.toFixed(5)}` : '—'),
    );
  }
}
