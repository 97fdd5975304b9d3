// An incident's analysis: the source estimate with its 95 % ellipse on the
// map (GET /api/v1/incidents/{id}/source) and the summed spectrum with
// nuclide hints in the incident's card (…/spectrum). The estimate is
// recomputed by the server from the stored passes; it is fetched again
// when the incident changes (new alarms, a later last-seen), at most once
// every REFRESH_MS.
import { get } from './api.js';
import { EMPTY } from './map.js';
import { h, replace } from './ui/dom.js';
import { spectrumChart } from './spectrumchart.js';
import { sourceFeatures, sourceText, hintText } from './analysis.js';

const REFRESH_MS = 5000;

export class IncidentAnalysis {
  constructor({ map, incidents }) {
    this.map = map;
    this.current = null; // { id, el }
    map.addSource('incident-source', { type: 'geojson', data: EMPTY });
    map.addLayer({ id: 'incident-source-passes', type: 'line', source: 'incident-source', filter: ['==', ['geometry-type'], 'LineString'],
      paint: { 'line-color': '#5ab0ff', 'line-width': 3, 'line-opacity': 0.8 } });
    map.addLayer({ id: 'incident-source-fill', type: 'fill', source: 'incident-source', filter: ['all', ['==', ['geometry-type'], 'Polygon'], ['==', ['get', 'role'], 'best']],
      paint: { 'fill-color': '#ff36e0', 'fill-opacity': 0.15 } });
    map.addLayer({ id: 'incident-source-line', type: 'line', source: 'incident-source', filter: ['==', ['geometry-type'], 'Polygon'],
      paint: { 'line-color': '#ff36e0', 'line-width': 2, 'line-dasharray': ['case', ['==', ['get', 'role'], 'best'], ['literal', [1, 0]], ['literal', [2, 2]]] } });
    map.addLayer({ id: 'incident-source-point', type: 'circle', source: 'incident-source', filter: ['==', ['geometry-type'], 'Point'],
      paint: { 'circle-radius': ['case', ['==', ['get', 'role'], 'best'], 6, 4], 'circle-color': '#ff36e0', 'circle-stroke-color': '#fff', 'circle-stroke-width': 2 } });
    this.last = 0;
    this.timer = 0;
    this.shown = EMPTY; // the GeoJSON on the map
    if (incidents) {
      incidents.addEventListener('change', () => {
        if (!this.current) return;
        const inc = incidents.open && incidents.open.get ? incidents.open.get(this.current.id) : null;
        if (!inc || inc.last_seen === this.current.lastSeen) return;
        this.current.lastSeen = inc.last_seen;
        this.refreshSoon();
      });
    }
  }

  refreshSoon() {
    clearTimeout(this.timer);
    const wait = Math.max(0, this.last + REFRESH_MS - Date.now());
    this.timer = setTimeout(() => this.load(), wait);
  }

  // show analyses inc into el (a container in its card) and on the map.
  show(inc, el) {
    if (this.current && this.current.el !== el) replace(this.current.el);
    this.current = { id: inc.id, el, lastSeen: inc.last_seen };
    replace(el, h('p', { class: 'muted' }, 'Locating the source…'));
    return this.load();
  }

  hide() {
    this.current = null;
    this.shown = EMPTY;
    this.map.getSource('incident-source').setData(EMPTY);
  }

  async load() {
    const cur = this.current;
    if (!cur) return;
    this.last = Date.now();
    const [src, spec] = await Promise.allSettled([get(`/incidents/${cur.id}/source`), get(`/incidents/${cur.id}/spectrum`)]);
    if (this.current !== cur) return;
    const parts = [];
    if (src.status === 'fulfilled') {
      const s = src.value.source;
      this.shown = s.significant ? sourceFeatures(s) : EMPTY;
      this.map.getSource('incident-source').setData(this.shown);
      parts.push(h('p', { class: 'source-text' }, sourceText(s)));
    } else {
      this.shown = EMPTY;
      this.map.getSource('incident-source').setData(EMPTY);
      parts.push(h('p', { class: 'muted' }, `No source estimate: ${src.reason?.data?.error || src.reason?.message || 'failed'}.`));
    }
    if (spec.status === 'fulfilled') {
      const d = spec.value;
      parts.push(spectrumChart(d));
      parts.push(h('p', { class: 'spectrum-hints' }, (d.hints || []).length
        ? ['Hints (suggestions only): ', (d.hints || []).map(hintText).join(' · ')]
        : 'No nuclide lines above the background.'));
      if ((d.instrument_nuclides || []).length) {
        parts.push(h('p', { class: 'muted' }, 'Instrument: ', [...new Set(d.instrument_nuclides.map((n) => n.name))].join(', ')));
      }
    } else if (spec.reason?.status !== 404) {
      parts.push(h('p', { class: 'muted' }, `No spectrum: ${spec.reason?.data?.error || 'failed'}.`));
    }
    replace(cur.el, ...parts);
    cur.el.dispatchEvent(new CustomEvent('analysis', { bubbles: true }));
  }
}
