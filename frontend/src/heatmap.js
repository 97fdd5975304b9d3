// Dose heatmap: grid cells from GET /api/v1/heatmap for a time window and
// the current view, drawn as squares coloured by max (or mean) dose.
import { get, query, errorText } from './api.js';
import { EMPTY } from './map.js';
import { doseStep } from './dose.js';
import { h, toInputUTC, fromInputUTC, utcInput } from './ui/dom.js';
import { cellPolygon, cellRect } from './geo.js';


export class Heatmap {
  constructor({ map }) {
    this.map = map;
    this.visible = false;
    map.addSource('heatmap', { type: 'geojson', data: EMPTY });
    map.addLayer({ id: 'heatmap-cells', type: 'fill', source: 'heatmap',
      paint: { 'fill-color': doseStep(['get', 'v']), 'fill-opacity': 0.6, 'fill-outline-color': 'rgba(0,0,0,0.25)' } }, 'fences-fill');
    const now = Date.now();
    this.fromIn = utcInput({ value: toInputUTC(now - 24 * 3600_000), 'aria-label': 'From (UTC)' });
    this.toIn = utcInput({ value: toInputUTC(now), 'aria-label': 'To (UTC)' });
    this.cellIn = h('select', { 'aria-label': 'Cell size' }, [50, 100, 200, 500, 1000, 5000].map((m) => h('option', { value: String(m), selected: m === 200 }, `${m} m`)));
    this.metric = h('select', { 'aria-label': 'Value shown', onchange: () => this.render() },
      h('option', { value: 'max' }, 'maximum'), h('option', { value: 'avg' }, 'mean'));
    this.msg = h('p', { class: 'muted', role: 'status' });
    this.toggleBtn = h('button', { type: 'submit', class: 'primary' }, 'Show heatmap');
    this.el = h('section', { class: 'heatmap' },
      h('form', { class: 'stack', onsubmit: (e) => { e.preventDefault(); this.show(); } },
        h('label', null, h('span', null, 'From (UTC)'), this.fromIn),
        h('label', null, h('span', null, 'To (UTC)'), this.toIn),
        h('label', null, h('span', null, 'Cell size'), this.cellIn),
        h('label', null, h('span', null, 'Colour by'), this.metric),
        h('div', { class: 'row' }, this.toggleBtn, h('button', { type: 'button', onclick: () => this.hide() }, 'Hide'))),
      this.msg,
      h('p', { class: 'hint' }, 'Cells cover the current view and refresh when the map moves.'));
    this.cells = [];
    this.cellM = 200;
    for (const el of [this.fromIn, this.toIn]) el.addEventListener('change', () => { this.windowTouched = true; });
    let t = 0;
    map.on('moveend', () => {
      if (!this.visible) return;
      clearTimeout(t);
      t = setTimeout(() => this.fetch(), 400);
    });
  }

  // When the tab opens, an untouched window ends now.
  refreshWindow() {
    if (this.windowTouched) return;
    const now = Date.now();
    this.fromIn.value = toInputUTC(now - 24 * 3600_000);
    this.toIn.value = toInputUTC(now);
  }

  show() {
    this.visible = true;
    this.fetch();
  }

  hide() {
    this.visible = false;
    this.cells = [];
    this.map.getSource('heatmap').setData(EMPTY);
    this.msg.textContent = '';
  }

  async fetch() {
    const from = fromInputUTC(this.fromIn.value);
    const to = fromInputUTC(this.toIn.value);
    if (!from || !to || to <= from) {
      this.msg.textContent = 'Choose a valid time window.';
      return;
    }
    const b = this.map.getBounds();
    const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
    const bbox = [clamp(b.getWest(), -180, 180), clamp(b.getSouth(), -90, 90), clamp(b.getEast(), -180, 180), clamp(b.getNorth(), -90, 90)]
      .map((v) => v.toFixed(5)).join(',');
    this.msg.textContent = 'Loading…';
    const seq = (this.seq = (this.seq || 0) + 1);
    try {
      const res = await get('/heatmap' + query({ from: from.toISOString(), to: to.toISOString(), bbox, cell_m: this.cellIn.value }));
      if (seq !== this.seq || !this.visible) return;
      this.cells = res.cells || [];
      this.cellM = res.cell_m || Number(this.cellIn.value);
      this.cellDeg = res.cell_lon && res.cell_lat ? [res.cell_lon, res.cell_lat] : null;
      this.render();
      this.msg.textContent = `${this.cells.length} cells of ${this.cellM} m.`;
    } catch (err) {
      if (seq !== this.seq) return;
      this.msg.textContent = err.status === 404 ? 'The server has no heatmap endpoint yet.' : errorText(err);
    }
  }

  render() {
    const key = this.metric.value;
    const features = this.cells.map((c, i) => ({
      type: 'Feature', id: i, geometry: this.cellDeg ? cellRect(c.lon, c.lat, ...this.cellDeg) : cellPolygon(c.lon, c.lat, this.cellM),
      properties: { v: c[key] ?? -1, max: c.max, avg: c.avg, samples: c.samples },
    }));
    this.map.getSource('heatmap').setData({ type: 'FeatureCollection', features });
  }
}
