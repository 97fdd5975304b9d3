// Fences on the map by kind, and the Fences tab: list, and for operators
// draw / edit / delete through the REST API, with the server's validation
// errors shown next to the field they name.
import { get, post, put, del, errorText, ApiError } from './api.js';
import { EMPTY, maplibregl } from './map.js';
import { FONT_REGULAR } from './basemaps.js';
import { zoomWidthExpr, boundsOf } from './geo.js';
import { shapeOf, displayFeature } from './fenceshape.js';
import { h, replace } from './ui/dom.js';

export const FENCE_KINDS = {
  restricted: { color: '#ff4d4d', label: 'Restricted' },
  patrol: { color: '#3fa7ff', label: 'Patrol' },
  monitoring: { color: '#ffc857', label: 'Monitoring' },
};
const kindColor = ['match', ['get', 'kind'], 'restricted', FENCE_KINDS.restricted.color, 'patrol', FENCE_KINDS.patrol.color, FENCE_KINDS.monitoring.color];

export { shapeOf, displayFeature };

export class Fences {
  // The shape editor is attached after construction (its layers go on top
  // of the vehicles, the fence layers below them); main.js wires its events.
  constructor({ map, user, status }) {
    this.map = map;
    this.editor = { active: false };
    this.user = user;
    this.status = status;
    this.features = [];
    this.editing = null; // {id|null, shape}
    this.installLayers();
    this.list = h('ul', { class: 'fence-list', 'aria-label': 'Fences' });
    this.formBox = h('div', { class: 'fence-form-box' });
    const canEdit = this.canEdit;
    this.el = h('section', { class: 'fences' },
      canEdit ? h('div', { class: 'row wrap', role: 'group', 'aria-label': 'Draw a new fence' },
        h('button', { type: 'button', 'data-draw': 'polygon', onclick: () => this.beginNew('polygon') }, '+ Polygon'),
        h('button', { type: 'button', 'data-draw': 'circle', onclick: () => this.beginNew('circle') }, '+ Circle'),
        h('button', { type: 'button', 'data-draw': 'corridor', onclick: () => this.beginNew('corridor') }, '+ Corridor'))
        : h('p', { class: 'muted' }, 'Operators can draw and edit fences.'),
      this.formBox,
      this.list);
  }

  get canEdit() {
    return this.user.role === 'operator' || this.user.role === 'admin';
  }

  installLayers() {
    const map = this.map;
    map.addSource('fences', { type: 'geojson', data: EMPTY });
    const area = ['==', ['get', 'shape'], 'area'];
    const corridor = ['==', ['get', 'shape'], 'corridor'];
    map.addLayer({ id: 'fences-fill', type: 'fill', source: 'fences', filter: area, paint: { 'fill-color': kindColor, 'fill-opacity': 0.14 } });
    map.addLayer({ id: 'fences-outline', type: 'line', source: 'fences', filter: area,
      paint: { 'line-color': kindColor, 'line-width': 2, 'line-dasharray': ['match', ['get', 'kind'], 'restricted', ['literal', [1]], ['literal', [3, 2]]] } });
    map.addLayer({ id: 'fences-corridor', type: 'line', source: 'fences', filter: corridor,
      layout: { 'line-join': 'round', 'line-cap': 'round' },
      paint: { 'line-color': kindColor, 'line-opacity': 0.2, 'line-width': zoomWidthExpr('w0') } });
    map.addLayer({ id: 'fences-corridor-centre', type: 'line', source: 'fences', filter: corridor,
      paint: { 'line-color': kindColor, 'line-width': 1.5, 'line-dasharray': [4, 3] } });
    // Fence names on the map (CJK names are drawn with a local font).
    const labelPaint = { 'text-color': kindColor, 'text-halo-color': '#0b0f14', 'text-halo-width': 1.6 };
    map.addLayer({ id: 'fences-label', type: 'symbol', source: 'fences', filter: area, minzoom: 11,
      // Few fences, each name wanted: drawn even where vehicle labels are.
      layout: { 'text-field': ['get', 'name'], 'text-font': FONT_REGULAR, 'text-size': 12, 'text-max-width': 10, 'text-allow-overlap': true },
      paint: labelPaint });
    map.addLayer({ id: 'fences-corridor-label', type: 'symbol', source: 'fences', filter: corridor, minzoom: 11,
      layout: { 'text-field': ['get', 'name'], 'text-font': FONT_REGULAR, 'text-size': 12, 'symbol-placement': 'line', 'symbol-spacing': 350 },
      paint: labelPaint });
    const popup = new maplibregl.Popup({ closeButton: true, className: 'rt-popup' });
    const onClick = (e) => {
      if (this.editor.active) return;
      if (map.queryRenderedFeatures(e.point, { layers: ['vehicles'] }).length) return;
      const f = e.features[0];
      popup.setLngLat(e.lngLat).setDOMContent(h('div', null,
        h('strong', null, f.properties.name), h('br'),
        `${FENCE_KINDS[f.properties.kind]?.label || f.properties.kind} fence #${f.properties.fid}`)).addTo(map);
    };
    map.on('click', 'fences-fill', onClick);
    map.on('click', 'fences-corridor', onClick);
  }

  async load() {
    try {
      const fc = await get('/fences');
      this.features = fc.features || [];
      this.map.getSource('fences').setData({ type: 'FeatureCollection', features: this.features.map(displayFeature) });
      this.renderList();
    } catch (err) {
      this.status(`Fences: ${errorText(err)}`);
    }
  }

  renderList() {
    replace(this.list, this.features.length ? null : h('li', { class: 'empty' }, 'No fences.'),
      this.features.map((f) => {
        const p = f.properties;
        const k = FENCE_KINDS[p.kind] || { color: '#999', label: p.kind };
        const extra = p.radius_m ? ` · r ${p.radius_m} m` : p.half_width_m ? ` · ±${p.half_width_m} m` : '';
        return h('li', { class: 'fence-item', dataset: { fenceId: String(p.id) } },
          h('button', { type: 'button', class: 'link', onclick: () => this.zoomTo(f), title: 'Show on map' },
            h('span', { class: 'swatch', style: { background: k.color } }), p.name),
          h('span', { class: 'muted' }, ` ${k.label} · ${shapeOf(f)}${extra}`),
          this.canEdit ? h('span', { class: 'item-actions' },
            h('button', { type: 'button', class: 'btn-small', onclick: () => this.beginEdit(f) }, 'Edit'),
            h('button', { type: 'button', class: 'btn-small danger', onclick: () => this.remove(f) }, 'Delete')) : null);
      }));
  }

  zoomTo(f) {
    const g = displayFeature(f).geometry;
    this.map.fitBounds(boundsOf(g.coordinates), { padding: 80, maxZoom: 16, duration: 600 });
  }

  beginNew(shape) {
    this.editing = { id: null, shape, name: '', kind: 'restricted' };
    this.editor.start(shape);
    this.openForm();
  }

  beginEdit(f) {
    const shape = shapeOf(f);
    const p = f.properties;
    this.editing = { id: p.id, shape, name: p.name, kind: p.kind, geometry: f.geometry };
    if (shape === 'circle') this.editor.start('circle', { center: f.geometry.coordinates, radius_m: p.radius_m });
    else if (shape === 'corridor') this.editor.start('corridor', { coords: f.geometry.coordinates, half_width_m: p.half_width_m });
    else if (shape === 'polygon') this.editor.start('polygon', { coords: f.geometry.coordinates[0].slice(0, -1) });
    else this.editor.stop(); // multipolygons: properties only
    this.zoomTo(f);
    this.openForm();
  }

  openForm() {
    const e = this.editing;
    const f = {};
    f.name = h('input', { type: 'text', name: 'name', required: true, maxlength: '200', value: e.name, 'aria-label': 'Fence name' });
    f.kind = h('select', { name: 'kind', 'aria-label': 'Fence kind' },
      Object.entries(FENCE_KINDS).map(([k, v]) => h('option', { value: k, selected: k === e.kind }, v.label)));
    if (e.shape === 'circle') {
      f.radius = h('input', { type: 'number', name: 'radius_m', min: '1', step: '1', 'aria-label': 'Radius in metres',
        oninput: () => this.editor.setRadius(Number(f.radius.value)) });
    }
    if (e.shape === 'corridor') {
      f.halfWidth = h('input', { type: 'number', name: 'half_width_m', min: '1', step: '1', value: String(this.editor.halfWidth), 'aria-label': 'Half width in metres',
        oninput: () => this.editor.setHalfWidth(Number(f.halfWidth.value)) });
    }
    f.hint = h('p', { class: 'hint' });
    f.error = h('p', { class: 'error', role: 'alert' });
    f.save = h('button', { type: 'submit', class: 'primary' }, e.id ? 'Save changes' : 'Save fence');
    const label = (text, input) => h('label', null, h('span', null, text), input);
    this.form = f;
    replace(this.formBox, h('form', { class: 'fence-form', 'aria-label': e.id ? 'Edit fence' : 'New fence', onsubmit: (ev) => { ev.preventDefault(); this.save(); } },
      h('h3', null, e.id ? `Edit fence #${e.id}` : `New ${e.shape}`),
      f.hint,
      label('Name', f.name),
      label('Kind', f.kind),
      f.radius ? label('Radius (m)', f.radius) : null,
      f.halfWidth ? label('Half width (m)', f.halfWidth) : null,
      f.error,
      h('div', { class: 'row' }, f.save, h('button', { type: 'button', onclick: () => this.closeForm() }, 'Cancel'))));
    this.syncForm();
    f.name.focus();
  }

  syncForm() {
    const f = this.form;
    if (!f || !this.editing) return;
    const ed = this.editor;
    const shape = this.editing.shape;
    if (shape === 'multipolygon') {
      f.hint.textContent = 'Multipolygon: only name and kind can be changed here.';
      f.save.disabled = false;
      return;
    }
    if (f.radius && document.activeElement !== f.radius) f.radius.value = ed.radius ? String(ed.radius) : '';
    const drawing = ed.phase === 'draw';
    f.hint.textContent = drawing
      ? shape === 'circle'
        ? (ed.center ? 'Click to set the radius.' : 'Click the centre on the map.')
        : `Click on the map to add points (${ed.coords.length} so far); double-click or Enter to finish, Backspace undoes, Esc cancels.`
      : shape === 'circle'
        ? 'Drag the centre or the radius handle to adjust.'
        : 'Drag vertices to adjust; drag a midpoint to add one; right-click a vertex to delete it.';
    f.save.disabled = !ed.complete();
  }

  closeForm() {
    this.editing = null;
    this.form = null;
    this.editor.stop();
    replace(this.formBox);
  }

  async save() {
    const e = this.editing;
    const f = this.form;
    for (const el of this.formBox.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
    f.error.textContent = '';
    const properties = { name: f.name.value.trim(), kind: f.kind.value };
    let geometry;
    if (e.shape === 'multipolygon') {
      geometry = e.geometry;
    } else {
      geometry = this.editor.geometry();
      if (!geometry) {
        f.error.textContent = 'Finish the shape on the map first.';
        return;
      }
      if (e.shape === 'circle') properties.radius_m = Number(f.radius.value) || this.editor.radius;
      if (e.shape === 'corridor') properties.half_width_m = Number(f.halfWidth.value);
    }
    const body = { type: 'Feature', geometry, properties };
    try {
      if (e.id) await put(`/fences/${e.id}`, body);
      else await post('/fences', body);
      this.closeForm();
      await this.load();
    } catch (err) {
      f.error.textContent = errorText(err);
      const field = err instanceof ApiError ? err.field : '';
      const target = /radius/.test(field) ? f.radius : /half_width/.test(field) ? f.halfWidth : /name/.test(field) ? f.name : /kind/.test(field) ? f.kind : null;
      if (target) {
        target.setAttribute('aria-invalid', 'true');
        target.focus();
      }
    }
  }

  async remove(f) {
    if (!confirm(`Delete fence “${f.properties.name}”?`)) return;
    try {
      await del(`/fences/${f.properties.id}`);
      await this.load();
    } catch (err) {
      this.status(`Cannot delete: ${errorText(err)}`);
      alert(`Cannot delete fence: ${errorText(err)}`);
    }
  }
}
