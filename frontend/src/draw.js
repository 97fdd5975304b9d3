// A small shape editor on MapLibre events, for fences: polygons, circles
// (centre + radius) and corridors (line + half-width).
//
// Drawing: click to add vertices; double-click, Enter or a click on the
// first vertex finishes; Backspace removes the last vertex; Escape cancels.
// A circle is a click for the centre and a click for the radius.
// Editing: drag a vertex; drag a midpoint to insert one; right-click a
// vertex to delete it. Circles have a centre and a radius handle.
import { EMPTY } from './map.js';
import { circlePolygon, destination, distanceM, widthAtZoom0, zoomWidthExpr } from './geo.js';

const SRC = 'draw';
const MIN_VERTICES = { polygon: 3, corridor: 2 };

export class ShapeEditor extends EventTarget {
  constructor(map) {
    super();
    this.map = map;
    this.active = false;
    map.addSource(SRC, { type: 'geojson', data: EMPTY });
    const c = '#7df9ff';
    map.addLayer({ id: 'draw-fill', type: 'fill', source: SRC, filter: ['==', ['geometry-type'], 'Polygon'], paint: { 'fill-color': c, 'fill-opacity': 0.15 } });
    map.addLayer({ id: 'draw-band', type: 'line', source: SRC, filter: ['has', 'w0'],
      layout: { 'line-join': 'round', 'line-cap': 'round' }, paint: { 'line-color': c, 'line-opacity': 0.18, 'line-width': zoomWidthExpr('w0') } });
    map.addLayer({ id: 'draw-line', type: 'line', source: SRC, filter: ['!=', ['geometry-type'], 'Point'],
      paint: { 'line-color': c, 'line-width': 2, 'line-dasharray': [2, 1] } });
    map.addLayer({ id: 'draw-mid', type: 'circle', source: SRC, filter: ['has', 'after'],
      paint: { 'circle-radius': 4, 'circle-color': '#0b0f14', 'circle-stroke-color': c, 'circle-stroke-width': 1.5 } });
    map.addLayer({ id: 'draw-vertex', type: 'circle', source: SRC, filter: ['has', 'idx'],
      paint: { 'circle-radius': 6, 'circle-color': c, 'circle-stroke-color': '#0b0f14', 'circle-stroke-width': 2 } });
    this.handlers = {
      click: (e) => this.onClick(e),
      dblclick: (e) => this.onDblClick(e),
      mousemove: (e) => this.onMove(e),
      mouseup: () => this.onUp(),
      mousedown: (e) => this.onDown(e),
      contextmenu: (e) => this.onContext(e),
    };
    this.onKey = (e) => this.key(e);
  }

  // start: type polygon|circle|corridor; initial (optional) puts the
  // editor straight into edit mode with {coords} or {center, radius_m}.
  start(type, initial = null, opts = {}) {
    this.stop();
    this.type = type;
    this.coords = initial && initial.coords ? initial.coords.map((p) => [...p]) : [];
    this.center = initial && initial.center ? [...initial.center] : null;
    this.radius = (initial && initial.radius_m) || 0;
    this.halfWidth = (initial && initial.half_width_m) || opts.half_width_m || 25;
    this.phase = initial ? 'edit' : 'draw';
    this.cursor = null;
    this.drag = null;
    this.active = true;
    for (const [ev, fn] of Object.entries(this.handlers)) this.map.on(ev, fn);
    addEventListener('keydown', this.onKey);
    this.map.doubleClickZoom.disable();
    this.map.getCanvas().style.cursor = 'crosshair';
    this.render();
    this.emit('change');
  }

  stop() {
    if (!this.active) return;
    this.active = false;
    for (const [ev, fn] of Object.entries(this.handlers)) this.map.off(ev, fn);
    removeEventListener('keydown', this.onKey);
    this.map.doubleClickZoom.enable();
    this.map.dragPan.enable();
    this.map.getCanvas().style.cursor = '';
    this.map.getSource(SRC).setData(EMPTY);
  }

  emit(type) {
    this.dispatchEvent(new Event(type));
  }

  complete() {
    if (this.type === 'circle') return !!this.center && this.radius > 0;
    return this.coords.length >= MIN_VERTICES[this.type];
  }

  // geometry for the API (GeoJSON, [lon, lat]).
  geometry() {
    if (!this.complete()) return null;
    const r6 = (p) => [round6(p[0]), round6(p[1])];
    if (this.type === 'circle') return { type: 'Point', coordinates: r6(this.center) };
    if (this.type === 'corridor') return { type: 'LineString', coordinates: this.coords.map(r6) };
    const ring = this.coords.map(r6);
    ring.push([...ring[0]]);
    return { type: 'Polygon', coordinates: [ring] };
  }

  setRadius(m) {
    if (m > 0) { this.radius = m; this.render(); }
  }

  setHalfWidth(m) {
    if (m > 0) { this.halfWidth = m; this.render(); }
  }

  finish() {
    if (this.phase !== 'draw' || !this.complete()) return;
    this.phase = 'edit';
    this.cursor = null;
    this.map.getCanvas().style.cursor = '';
    this.render();
    this.emit('change');
    this.emit('complete');
  }

  cancel() {
    this.stop();
    this.emit('cancel');
  }

  key(e) {
    if (e.target && /^(INPUT|SELECT|TEXTAREA)$/.test(e.target.tagName)) return;
    if (e.key === 'Escape') {
      e.preventDefault();
      this.cancel();
    } else if (e.key === 'Enter' && this.phase === 'draw') {
      e.preventDefault();
      this.finish();
    } else if (e.key === 'Backspace' && this.phase === 'draw' && this.type !== 'circle') {
      e.preventDefault();
      this.coords.pop();
      this.render();
      this.emit('change');
    }
  }

  hitHandle(e, layers = ['draw-vertex', 'draw-mid']) {
    const box = [[e.point.x - 6, e.point.y - 6], [e.point.x + 6, e.point.y + 6]];
    const hits = this.map.queryRenderedFeatures(box, { layers });
    return hits[0] || null;
  }

  onClick(e) {
    if (this.phase !== 'draw') return;
    const p = [e.lngLat.lng, e.lngLat.lat];
    if (this.type === 'circle') {
      if (!this.center) {
        this.center = p;
      } else {
        this.radius = Math.max(1, Math.round(distanceM(this.center, p)));
        this.finish();
        return;
      }
    } else {
      const hit = this.hitHandle(e, ['draw-vertex']);
      if (hit && this.type === 'polygon' && hit.properties.idx === 0 && this.coords.length >= 3) {
        this.finish();
        return;
      }
      this.coords.push(p);
    }
    this.render();
    this.emit('change');
  }

  onDblClick(e) {
    e.preventDefault();
    if (this.phase !== 'draw' || this.type === 'circle') return;
    // The two clicks of a double-click each added a vertex: keep one.
    const n = this.coords.length;
    if (n >= 2) {
      const a = this.map.project(this.coords[n - 1]);
      const b = this.map.project(this.coords[n - 2]);
      if (Math.hypot(a.x - b.x, a.y - b.y) < 4) this.coords.pop();
    }
    this.finish();
  }

  onDown(e) {
    if (this.phase !== 'edit' || e.originalEvent.button !== 0) return;
    const hit = this.hitHandle(e);
    if (!hit) return;
    e.preventDefault(); // keeps the map from panning
    this.map.dragPan.disable();
    const pr = hit.properties;
    if (pr.after !== undefined) {
      const i = pr.after + 1;
      this.coords.splice(i, 0, [e.lngLat.lng, e.lngLat.lat]);
      this.drag = i;
    } else {
      this.drag = pr.idx;
    }
  }

  onMove(e) {
    const p = [e.lngLat.lng, e.lngLat.lat];
    if (this.phase === 'draw') {
      this.cursor = p;
      if (this.type === 'circle' && this.center) this.radius = Math.max(1, Math.round(distanceM(this.center, p)));
      this.render();
      if (this.type === 'circle' && this.center) this.emit('change');
      return;
    }
    if (this.drag === null || this.drag === undefined) return;
    if (this.type === 'circle') {
      if (this.drag === 'c') this.center = p;
      else this.radius = Math.max(1, Math.round(distanceM(this.center, p)));
    } else {
      this.coords[this.drag] = p;
    }
    this.render();
    this.emit('change');
  }

  onUp() {
    if (this.drag !== null && this.drag !== undefined) {
      this.drag = null;
      this.map.dragPan.enable();
    }
  }

  onContext(e) {
    if (this.phase !== 'edit' || this.type === 'circle') return;
    const hit = this.hitHandle(e, ['draw-vertex']);
    if (!hit) return;
    e.preventDefault();
    if (this.coords.length > MIN_VERTICES[this.type]) {
      this.coords.splice(hit.properties.idx, 1);
      this.render();
      this.emit('change');
    }
  }

  render() {
    const fs = [];
    const pt = (c, props) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: c }, properties: props });
    if (this.type === 'circle') {
      if (this.center && this.radius > 0) {
        fs.push({ type: 'Feature', geometry: circlePolygon(this.center, this.radius), properties: {} });
      }
      if (this.center) {
        fs.push(pt(this.center, { idx: 'c' }));
        if (this.phase === 'edit') fs.push(pt(destination(this.center, 90, this.radius), { idx: 'r' }));
      }
    } else {
      const line = this.phase === 'draw' && this.cursor ? [...this.coords, this.cursor] : this.coords;
      if (this.type === 'polygon') {
        if (line.length >= 3) {
          fs.push({ type: 'Feature', geometry: { type: 'Polygon', coordinates: [[...line, line[0]]] }, properties: {} });
        } else if (line.length === 2) {
          fs.push({ type: 'Feature', geometry: { type: 'LineString', coordinates: line }, properties: {} });
        }
      } else if (line.length >= 2) {
        const lat = line[0][1];
        fs.push({ type: 'Feature', geometry: { type: 'LineString', coordinates: line }, properties: { w0: widthAtZoom0(this.halfWidth, lat) } });
      }
      this.coords.forEach((c, i) => fs.push(pt(c, { idx: i })));
      if (this.phase === 'edit') {
        const n = this.coords.length;
        const segs = this.type === 'polygon' ? n : n - 1;
        for (let i = 0; i < segs; i++) {
          const a = this.coords[i], b = this.coords[(i + 1) % n];
          fs.push(pt([(a[0] + b[0]) / 2, (a[1] + b[1]) / 2], { after: i }));
        }
      }
    }
    this.map.getSource(SRC).setData({ type: 'FeatureCollection', features: fs });
  }
}

const round6 = (v) => Math.round(v * 1e6) / 1e6;
