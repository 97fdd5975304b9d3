// Live vehicles: one GeoJSON source with numeric feature ids (the device
// id), changed with updateData at most once per animation frame, whatever
// the rate of incoming positions. Selection and alarm blink are
// feature-state, so they never rebuild data.
import { addCanvasImage, EMPTY, prefersReducedMotion } from './map.js';
import { doseStep, STALE } from './dose.js';

export const STALE_AFTER_MS = 60_000; // no fix for a minute: greyed
const SOURCE = 'vehicles';

export class Vehicles extends EventTarget {
  constructor(map) {
    super();
    this.map = map;
    this.byId = new Map(); // id → vehicle record
    this.meta = new Map(); // id → {uid, name, group} from the device list
    this.inSource = new Set();
    this.dirty = new Set();
    this.removed = new Set();
    this.resetAll = false;
    this.frame = 0;
    this.selected = null;
    this.alarmed = new Set(); // ids with an open alarm (ring)
    this.unacked = new Set(); // ids with a raised, unacknowledged alarm (blink)
    this.blinkOn = false;
    this.visible = true;
    this.installLayers();
    this.staleTimer = setInterval(() => this.checkStale(), 5000);
    this.blinkTimer = setInterval(() => this.blink(), 500);
  }

  installLayers() {
    const map = this.map;
    map.addSource(SOURCE, { type: 'geojson', data: EMPTY });
    addCanvasImage(map, 'rt-arrow', 32, 32, (ctx) => {
      ctx.fillStyle = '#e8eef5';
      ctx.strokeStyle = '#0b0f14';
      ctx.lineWidth = 1;
      ctx.beginPath();
      ctx.moveTo(16, 1);
      ctx.lineTo(22, 10);
      ctx.lineTo(10, 10);
      ctx.closePath();
      ctx.fill();
      ctx.stroke();
    });
    const stale = ['==', ['get', 'stale'], 1];
    map.addLayer({
      id: 'vehicles-alarm', type: 'circle', source: SOURCE,
      filter: ['==', ['get', 'alarm'], 1],
      paint: {
        'circle-radius': ['interpolate', ['linear'], ['zoom'], 4, 10, 14, 16],
        'circle-color': 'rgba(0,0,0,0)',
        'circle-stroke-color': '#ff2d2d',
        'circle-stroke-width': ['case', ['boolean', ['feature-state', 'blink'], false], 3, 1],
        'circle-stroke-opacity': ['case', ['boolean', ['feature-state', 'blink'], false], 1, 0.35],
      },
    });
    map.addLayer({
      id: 'vehicles-heading', type: 'symbol', source: SOURCE,
      filter: ['all', ['>=', ['get', 'hdg'], 0], ['!=', ['get', 'stale'], 1]],
      // Arrows only from street level: at fleet overview they are clutter,
      // and thousands of rotated icons cost more than the points.
      minzoom: 11,
      layout: {
        'icon-image': 'rt-arrow', 'icon-rotate': ['get', 'hdg'], 'icon-rotation-alignment': 'map',
        'icon-allow-overlap': true, 'icon-ignore-placement': true,
        'icon-size': ['interpolate', ['linear'], ['zoom'], 11, 0.85, 16, 1.1],
      },
    });
    map.addLayer({
      id: 'vehicles', type: 'circle', source: SOURCE,
      paint: {
        'circle-radius': ['interpolate', ['linear'], ['zoom'], 3, 4, 10, 6, 16, 8],
        'circle-color': ['case', stale, STALE, doseStep(['get', 'dose'])],
        'circle-opacity': ['case', stale, 0.7, 1],
        'circle-stroke-color': ['case', ['boolean', ['feature-state', 'selected'], false], '#ffffff', '#0b0f14'],
        'circle-stroke-width': ['case', ['boolean', ['feature-state', 'selected'], false], 3, 1],
      },
    });
    // Labels go under every vehicle layer, so no label ever hides a
    // vehicle; where labels collide, those of vehicles in alarm are placed
    // first (symbol-sort-key) and win.
    map.addLayer({
      id: 'vehicles-label', type: 'symbol', source: SOURCE, minzoom: 13,
      layout: {
        'icon-image': ['concat', 'lbl:', ['get', 'name']],
        'icon-anchor': 'left', 'icon-offset': [12, 0], 'icon-allow-overlap': false,
        'symbol-sort-key': ['-', 1, ['get', 'alarm']],
      },
    }, 'vehicles-alarm');
    // Vehicle labels are canvas images made on demand (any script the
    // browser's fonts draw, CJK included). MapLibre 6 asks the resolver
    // before laying a tile out; its styleimagemissing event comes too late
    // for that layout, which then had no label.
    map.setMissingStyleImageResolver(async (id) => {
      if (!id.startsWith('lbl:') || map.hasImage(id)) return;
      const text = id.slice(4);
      const ctxProbe = document.createElement('canvas').getContext('2d');
      ctxProbe.font = '600 12px system-ui, sans-serif';
      const w = Math.ceil(ctxProbe.measureText(text).width) + 10;
      addCanvasImage(map, id, w, 18, (ctx) => {
        ctx.fillStyle = 'rgba(11,15,20,0.85)';
        ctx.fillRect(0, 0, w, 18);
        ctx.font = '600 12px system-ui, sans-serif';
        ctx.fillStyle = '#e8eef5';
        ctx.textBaseline = 'middle';
        ctx.fillText(text, 5, 9.5);
      });
    });
    // A vehicle is selected by its point or by its label.
    for (const layer of ['vehicles', 'vehicles-label']) {
      map.on('click', layer, (e) => {
        if (this.canSelect && !this.canSelect()) return;
        // A point under the cursor wins over a label drawn beneath it.
        if (layer !== 'vehicles' && map.queryRenderedFeatures(e.point, { layers: ['vehicles'] }).length) return;
        const f = e.features && e.features[0];
        if (f) this.select(Number(f.id));
      });
      map.on('mouseenter', layer, () => { map.getCanvas().style.cursor = 'pointer'; });
      map.on('mouseleave', layer, () => { map.getCanvas().style.cursor = ''; });
    }
  }

  setMeta(devices) {
    for (const d of devices) {
      this.meta.set(d.id, { uid: d.uid, name: d.name, group: d.group, site: d.site_id, lastSeen: d.last_seen ? Date.parse(d.last_seen) : null, online: !!d.online });
    }
    for (const v of this.byId.values()) {
      const m = this.meta.get(v.id);
      if (m && !v.name) { v.name = m.name; v.uid = m.uid; this.mark(v.id); }
    }
  }

  name(id) {
    const v = this.byId.get(id);
    return (v && v.name) || (this.meta.get(id) || {}).name || `device ${id}`;
  }

  // applyColumns takes a protocol positions object (columns). replace:
  // vehicles missing from it are removed (snapshot / full frame).
  applyColumns(cols, replace) {
    const n = cols.id ? cols.id.length : 0;
    const seen = replace ? new Set() : null;
    const unknown = [];
    for (let i = 0; i < n; i++) {
      const id = cols.id[i];
      const rec = {
        t: cols.t ? cols.t[i] : null,
        lon: cols.lon[i], lat: cols.lat[i],
        dose: cols.dose ? cols.dose[i] : null,
        spd: cols.spd ? cols.spd[i] : null,
        hdg: cols.hdg ? cols.hdg[i] : null,
        bat: cols.bat ? cols.bat[i] : null,
      };
      if (cols.name) rec.name = cols.name[i];
      if (cols.uid) rec.uid = cols.uid[i];
      if (!this.byId.has(id) && !cols.name && !this.meta.has(id)) unknown.push(id);
      this.upsert(id, rec);
      if (seen) seen.add(id);
    }
    if (seen) {
      for (const id of this.byId.keys()) if (!seen.has(id)) this.remove(id);
    }
    return unknown;
  }

  upsert(id, rec) {
    let v = this.byId.get(id);
    if (!v) {
      const m = this.meta.get(id) || {};
      v = { id, name: m.name || '', uid: m.uid || '', t: null, lon: 0, lat: 0, dose: null, spd: null, hdg: null, stale: false, bat: null };
      this.byId.set(id, v);
    }
    for (const [k, val] of Object.entries(rec)) if (val !== undefined) v[k] = val;
    if (v.t === null) v.t = Date.now();
    v.stale = Date.now() - v.t > STALE_AFTER_MS;
    this.mark(id);
    this.dispatchEvent(new CustomEvent('update', { detail: v }));
  }

  remove(id) {
    if (!this.byId.delete(id)) return;
    this.dirty.delete(id);
    this.removed.add(id);
    this.schedule();
  }

  clear() {
    this.byId.clear();
    this.dirty.clear();
    this.removed.clear();
    this.resetAll = true;
    this.schedule();
  }

  mark(id) {
    this.dirty.add(id);
    this.schedule();
  }

  schedule() {
    if (!this.frame) this.frame = requestAnimationFrame(() => this.flush());
  }

  props(v) {
    return {
      id: v.id,
      name: v.name || v.uid || String(v.id),
      dose: v.dose === null || v.dose === undefined ? -1 : v.dose,
      hdg: v.hdg === null || v.hdg === undefined ? -1 : v.hdg,
      stale: v.stale ? 1 : 0,
      // The ring follows the alarm list, which every acknowledgement and
      // resolution updates at once; the frames' `alarm` column is only as
      // fresh as the vehicle's last position.
      alarm: this.alarmed.has(v.id) ? 1 : 0,
    };
  }

  feature(v) {
    return { type: 'Feature', id: v.id, geometry: { type: 'Point', coordinates: [v.lon, v.lat] }, properties: this.props(v) };
  }

  // flush sends everything changed since the last frame to the map in
  // one call: setData after a reset or when most vehicles changed,
  // otherwise a diff.
  flush() {
    this.frame = 0;
    const src = this.map.getSource(SOURCE);
    if (!src) return;
    const bulk = this.resetAll || this.dirty.size > this.byId.size / 2;
    if (bulk) {
      const features = [];
      for (const v of this.byId.values()) features.push(this.feature(v));
      src.setData({ type: 'FeatureCollection', features });
      this.inSource = new Set(this.byId.keys());
    } else {
      const add = [];
      const update = [];
      const remove = [...this.removed].filter((id) => this.inSource.has(id));
      for (const id of remove) this.inSource.delete(id);
      for (const id of this.dirty) {
        const v = this.byId.get(id);
        if (!v) continue;
        if (this.inSource.has(id)) {
          update.push({ id, newGeometry: { type: 'Point', coordinates: [v.lon, v.lat] }, addOrUpdateProperties: objEntries(this.props(v)) });
        } else {
          add.push(this.feature(v));
          this.inSource.add(id);
        }
      }
      if (add.length || update.length || remove.length) src.updateData({ add, update, remove });
    }
    this.resetAll = false;
    this.dirty.clear();
    this.removed.clear();
    this.flushes = (this.flushes || 0) + 1;
  }

  checkStale() {
    const now = Date.now();
    for (const v of this.byId.values()) {
      const stale = now - v.t > STALE_AFTER_MS;
      if (stale !== v.stale) {
        v.stale = stale;
        this.mark(v.id);
      }
    }
  }

  // setAlarmed: ids with open alarms get a ring; those with raised
  // (unacknowledged) alarms blink until someone acknowledges.
  setAlarmed(ids, unacked = ids) {
    const calm = [...this.unacked].filter((id) => !unacked.includes(id));
    const added = unacked.filter((id) => !this.unacked.has(id));
    this.unacked = new Set(unacked);
    for (const id of calm) if (this.inSource.has(id)) this.map.setFeatureState({ source: SOURCE, id }, { blink: false });
    const next = new Set(ids);
    const changed = [...next].filter((id) => !this.alarmed.has(id)).concat([...this.alarmed].filter((id) => !next.has(id)));
    this.alarmed = next;
    if (added.length) this.blinkOn = false; // the next tick sets their state
    for (const id of changed) {
      if (!next.has(id)) this.map.setFeatureState({ source: SOURCE, id }, { blink: false });
      if (this.byId.has(id)) this.mark(id);
    }
  }

  blink() {
    // Under prefers-reduced-motion the ring stays thick instead of blinking
    // (and a software-rendered map is not repainted twice a second).
    const still = prefersReducedMotion();
    if (still && this.blinkOn) return;
    this.blinkOn = still ? true : !this.blinkOn;
    for (const id of this.unacked) {
      if (this.inSource.has(id)) this.map.setFeatureState({ source: SOURCE, id }, { blink: this.blinkOn });
    }
  }

  select(id) {
    if (this.selected !== null && this.inSource.has(this.selected)) {
      this.map.setFeatureState({ source: SOURCE, id: this.selected }, { selected: false });
    }
    this.selected = id;
    if (id !== null) {
      const apply = () => this.map.setFeatureState({ source: SOURCE, id }, { selected: true });
      if (this.inSource.has(id)) apply();
      else requestAnimationFrame(apply);
    }
    this.dispatchEvent(new CustomEvent('select', { detail: id }));
  }

  setVisible(on) {
    this.visible = on;
    for (const l of ['vehicles', 'vehicles-alarm', 'vehicles-heading', 'vehicles-label']) {
      this.map.setLayoutProperty(l, 'visibility', on ? 'visible' : 'none');
    }
  }
}

function objEntries(o) {
  // updateData's addOrUpdateProperties takes [{key, value}].
  return Object.entries(o).map(([key, value]) => ({ key, value }));
}
