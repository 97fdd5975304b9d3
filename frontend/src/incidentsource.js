// An incident's analysis: the source estimate with its 95 % ellipse on the
// map and the summed spectrum with nuclide hints in the incident's card
// (…/spectrum). The server refits an incident's source as its alarms
// progress and pushes each estimate as a live "source" frame (snapshots
// carry the stored ones): the card draws those as they come. On opening a
// card without a live estimate fitted through the incident's last alarm,
// it asks GET /api/v1/incidents/{id}/source (the stored estimate, or a fit
// for this viewer). The spectrum is fetched again when the incident
// changes, at most once every REFRESH_MS.
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
    this.estimates = new Map(); // incident id → latest live estimate
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

  // replaceSources takes a snapshot's estimates (the live list restarts).
  replaceSources(list) {
    this.estimates = new Map((list || []).filter((s) => s && s.incident_id).map((s) => [s.incident_id, s]));
    if (this.current && this.estimates.has(this.current.id)) this.applySource(this.estimates.get(this.current.id));
  }

  // applySource takes a live estimate; the open card redraws with it
  // when it was fitted for the incident as the card knows it, or before.
  applySource(src) {
    if (!src || !src.incident_id) return;
    this.estimates.set(src.incident_id, src);
    const cur = this.current;
    if (cur && cur.id === src.incident_id && cur.spec && usable(src, cur, false)) {
      cur.src = { status: 'fulfilled', value: { source: src } };
      this.render(cur);
    }
  }

  refreshSoon() {
    clearTimeout(this.timer);
    const wait = Math.max(0, this.last + REFRESH_MS - Date.now());
    this.timer = setTimeout(() => this.load(false), wait);
  }

  // show analyses inc into el (a container in its card) and on the map.
  show(inc, el) {
    if (this.current && this.current.el !== el) replace(this.current.el);
    this.current = { id: inc.id, el, lastSeen: inc.last_seen };
    replace(el, h('p', { class: 'muted' }, 'Locating the source…'));
    return this.load(true);
  }

  hide() {
    this.current = null;
    this.shown = EMPTY;
    this.map.getSource('incident-source').setData(EMPTY);
  }

  // load fetches the spectrum, and the source unless a live estimate
  // serves: on opening, one fitted through the incident's last alarm; on
  // a change of an open card, any (the next frame brings the refit).
  async load(opening) {
    const cur = this.current;
    if (!cur) return;
    this.last = Date.now();
    const live = this.estimates.get(cur.id);
    const fresh = usable(live, cur, opening);
    const [src, spec] = await Promise.allSettled([
      fresh ? Promise.resolve({ source: live }) : get(`/incidents/${cur.id}/source`),
      get(`/incidents/${cur.id}/spectrum`)]);
    if (this.current !== cur) return;
    // A frame that came meanwhile is newer than what was asked.
    const newer = this.estimates.get(cur.id);
    cur.src = newer && newer !== live && usable(newer, cur, false) ? { status: 'fulfilled', value: { source: newer } } : src;
    cur.spec = spec;
    this.render(cur);
  }

  render(cur) {
    const { src, spec } = cur;
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

// usable: a live estimate serves the open card when it was fitted for the
// incident's last alarm as the card knows it (opening), or for no later
// one (afterwards: an incident's progress frame may trail its estimate).
function usable(src, cur, opening) {
  if (!src) return false;
  const through = Date.parse(src.through), last = Date.parse(cur.lastSeen);
  return opening ? through === last : through <= last;
}
