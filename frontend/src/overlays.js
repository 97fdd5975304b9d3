// Site plans (GET/POST/DELETE /api/v1/overlays): roads, lanes, quays,
// buildings, container stacks, the customs yard and its inspection bays,
// drawn over the basemap and under fences and vehicles, styled by
// properties.kind and labelled with properties.name. The Plans tab lists
// them; operators import GeoJSON or KML files and delete plans.
import { get, post, del, errorText, ApiError } from './api.js';
import { EMPTY } from './map.js';
import { FONT_REGULAR } from './basemaps.js';
import { h, replace } from './ui/dom.js';

import { PLAN_KINDS, planFeatures, formatOf } from './plans.js';

const OTHER = '#44505e';

const kindMatch = (prop) => {
  const m = ['match', ['get', 'kind']];
  for (const [k, v] of Object.entries(PLAN_KINDS)) m.push(k, v[prop]);
  m.push(prop === 'color' ? OTHER : '');
  return m;
};

export class Overlays {
  constructor({ map, user, status }) {
    this.map = map;
    this.user = user;
    this.status = status;
    this.overlays = [];
    this.installLayers();
    this.list = h('ul', { class: 'plan-list', 'aria-label': 'Site plans' });
    this.el = h('section', { class: 'plans' },
      h('p', { class: 'hint' }, 'Site plans are drawn under fences and vehicles: roads, lanes, quays, buildings, stacks, yards, inspection bays (by properties.kind).'),
      this.canEdit ? this.importForm() : h('p', { class: 'muted' }, 'Operators can import site plans.'),
      this.list);
  }

  get canEdit() {
    return this.user.role === 'operator' || this.user.role === 'admin';
  }

  installLayers() {
    const map = this.map;
    map.addSource('plans', { type: 'geojson', data: EMPTY });
    const polygon = ['==', ['geometry-type'], 'Polygon'];
    const line = ['==', ['geometry-type'], 'LineString'];
    // Width on the ground at mid latitudes (13.5 m per pixel at zoom 12),
    // at least a pixel.
    const metres = (m) => ['interpolate', ['exponential', 2], ['zoom'], 12, ['max', 1, ['/', m, 13.5]], 22, ['*', m, 1024 / 13.5]];
    map.addLayer({ id: 'plans-fill', type: 'fill', source: 'plans', filter: polygon,
      paint: { 'fill-color': kindMatch('color'), 'fill-opacity': 0.85 } });
    map.addLayer({ id: 'plans-outline', type: 'line', source: 'plans', filter: polygon,
      paint: { 'line-color': '#6f7f92', 'line-opacity': ['match', ['get', 'kind'], ['water', 'yard'], 0.5, 0.8], 'line-width': 0.8 } });
    map.addLayer({ id: 'plans-line', type: 'line', source: 'plans', filter: line,
      layout: { 'line-cap': 'round', 'line-join': 'round' },
      paint: {
        'line-color': kindMatch('color'),
        // Roads about 12 m wide on the ground, lanes 6 m, never thinner than a hairline.
        'line-width': metres(['match', ['get', 'kind'], 'road', 12, 'lane', 6, 3]),
        'line-dasharray': ['match', ['get', 'kind'], 'rail', ['literal', [2, 1]], ['literal', [1]]],
      } });
    map.addLayer({ id: 'plans-point', type: 'circle', source: 'plans', filter: ['==', ['geometry-type'], 'Point'],
      paint: { 'circle-radius': 4, 'circle-color': kindMatch('color'), 'circle-stroke-color': '#9aa8b8', 'circle-stroke-width': 1 } });
    const label = {
      'text-field': ['get', 'name'], 'text-font': FONT_REGULAR,
      'text-size': ['interpolate', ['linear'], ['zoom'], 14, 10, 18, 13],
      'text-max-width': 9,
    };
    const labelPaint = { 'text-color': '#aebccb', 'text-halo-color': '#0b0f14', 'text-halo-width': 1.3 };
    map.addLayer({ id: 'plans-label-line', type: 'symbol', source: 'plans', minzoom: 13.5,
      filter: ['all', line, ['!=', ['get', 'name'], '']],
      layout: { ...label, 'symbol-placement': 'line', 'symbol-spacing': 400 }, paint: labelPaint });
    map.addLayer({ id: 'plans-label', type: 'symbol', source: 'plans', minzoom: 14,
      filter: ['all', ['!', line], ['!=', ['get', 'name'], '']],
      layout: label, paint: labelPaint });
  }

  async load() {
    try {
      const { overlays } = await get('/overlays');
      this.overlays = overlays;
      this.map.getSource('plans').setData(planFeatures(overlays));
      this.renderList();
    } catch (err) {
      this.status(`Site plans: ${errorText(err)}`);
    }
  }

  renderList() {
    replace(this.list, this.overlays.length ? null : h('li', { class: 'empty' }, 'No site plans.'),
      this.overlays.map((o) => h('li', { class: 'plan-item', dataset: { overlayId: String(o.id) } },
        h('strong', null, o.name),
        h('span', { class: 'muted' }, ` · ${o.feature_count} features${o.created_by ? ' · by ' + o.created_by : ''}`),
        this.canEdit ? h('span', { class: 'item-actions' },
          h('button', { type: 'button', class: 'btn-small danger', onclick: () => this.remove(o) }, 'Delete')) : null)));
  }

  importForm() {
    const name = h('input', { type: 'text', name: 'plan-name', maxlength: '200', required: true, 'aria-label': 'Site plan name', placeholder: 'Name, e.g. Terminal 2 roads' });
    const file = h('input', { type: 'file', name: 'plan-file', accept: '.geojson,.json,.kml,application/geo+json,application/vnd.google-earth.kml+xml', required: true, 'aria-label': 'GeoJSON or KML file' });
    const err = h('p', { class: 'error', role: 'alert' });
    const done = h('p', { class: 'muted', role: 'status' });
    file.addEventListener('change', () => {
      if (!name.value && file.files[0]) name.value = file.files[0].name.replace(/\.(geo)?json$|\.kml$/i, '');
    });
    return h('form', { class: 'stack plan-form', 'aria-label': 'Import a site plan', onsubmit: async (e) => {
      e.preventDefault();
      err.textContent = done.textContent = '';
      const f = file.files[0];
      if (!f) { err.textContent = 'Choose a GeoJSON or KML file.'; return; }
      const text = await f.text();
      const format = formatOf(f.name, text);
      let data = text;
      if (format === 'geojson') {
        try { data = JSON.parse(text); } catch (ex) { err.textContent = `Not JSON: ${ex.message}`; return; }
      }
      try {
        const res = await post('/overlays', { name: name.value.trim(), format, data });
        done.textContent = `Imported ${res.overlay.feature_count} features` + (res.skipped ? ` (${res.skipped} placemarks without a drawable geometry skipped)` : '') + '.';
        name.value = '';
        file.value = '';
        await this.load();
      } catch (ex) {
        err.textContent = errorText(ex);
        if (ex instanceof ApiError && ex.field === 'name') name.setAttribute('aria-invalid', 'true');
      }
    } },
    h('h3', null, 'Import a site plan'),
    h('label', null, h('span', null, 'Name'), name),
    h('label', null, h('span', null, 'GeoJSON or KML file'), file),
    err, done,
    h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary' }, 'Import')));
  }

  async remove(o) {
    if (!confirm(`Delete site plan “${o.name}”?`)) return;
    try {
      await del(`/overlays/${o.id}`);
    } catch (err) {
      this.status(`Cannot delete: ${errorText(err)}`);
    }
    await this.load();
  }
}
