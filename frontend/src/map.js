// The map: MapLibre GL JS with offline basemaps. Natural Earth land,
// coastlines and borders (world-atlas, bundled) are always drawn, as the
// fallback wherever the chosen basemap has no tiles; on top of it the
// basemap picked in the switcher (basemaps.js): a PMTiles archive served
// by our own server (read with HTTP Range by the npm pmtiles package), or
// an internal tile server. Labels use Noto Sans from our own server
// (font-faces, fonts.js); CJK falls back to a local font. Nothing is
// requested from any host but ours unless an operator configured an
// internal tile server.
// world-atlas is drawn for the sphere: its rings cross the antimeridian,
// so the atlas is cut at ±180° once on load (antimeridian.js).
import * as maplibregl from 'maplibre-gl';
import 'maplibre-gl/dist/maplibre-gl.css';
// Vite 8 leaves MapLibre's worker out of the bundle: point at it ourselves.
import workerUrl from 'maplibre-gl/dist/maplibre-gl-worker.mjs?url';
import countriesUrl from 'world-atlas/countries-50m.json?url';
import { Protocol } from 'pmtiles';
import { basemapData } from './antimeridian.js';
import { labelFontFaces } from './fonts.js';
import { BASEMAP_PREFIX, NATURAL_EARTH, basemapStyle, prefixStyle, chooseBasemap } from './basemaps.js';

maplibregl.setWorkerUrl(workerUrl);
const pmtiles = new Protocol();
maplibregl.addProtocol('pmtiles', pmtiles.tile);

const EMPTY = { type: 'FeatureCollection', features: [] };
const BASEMAP_KEY = 'radtrack.basemap';
// Basemap layers go below this (invisible) layer, the app's above it.
export const APP_BASE = 'app-base';

export const COLORS = {
  water: '#0b1520',
  land: '#1b232d',
  coast: '#3f5a73',
  border: '#5b6675',
};

function baseStyle() {
  return {
    version: 8,
    // No glyphs URL: MapLibre draws label glyphs from the declared fonts.
    'font-faces': labelFontFaces(),
    sources: {
      land: { type: 'geojson', data: EMPTY, attribution: 'Natural Earth' },
      // Coastlines apart from the land fills: a fill cut at ±180° has
      // edges along the antimeridian (and the South Pole) that are no coast.
      coast: { type: 'geojson', data: EMPTY },
      borders: { type: 'geojson', data: EMPTY },
    },
    layers: [
      { id: 'background', type: 'background', paint: { 'background-color': COLORS.water } },
      { id: 'land', type: 'fill', source: 'land', paint: { 'fill-color': COLORS.land } },
      {
        id: 'coastline', type: 'line', source: 'coast',
        paint: { 'line-color': COLORS.coast, 'line-width': ['interpolate', ['linear'], ['zoom'], 2, 0.5, 10, 1.5] },
      },
      {
        id: 'borders', type: 'line', source: 'borders',
        paint: { 'line-color': COLORS.border, 'line-width': 1, 'line-dasharray': [3, 2] },
      },
      { id: APP_BASE, type: 'background', paint: { 'background-opacity': 0 } },
    ],
  };
}

// prefersReducedMotion says whether the user asked for less motion (false
// where there is no matchMedia, as in the unit tests).
export function prefersReducedMotion() {
  return typeof matchMedia === 'function' && matchMedia('(prefers-reduced-motion: reduce)').matches;
}

// createMap builds the map; the atlas loads in the background.
export function createMap(container, { center = [4.05, 51.95], zoom = 9 } = {}) {
  const map = new maplibregl.Map({
    container,
    style: baseStyle(),
    center,
    zoom,
    maxZoom: 20,
    attributionControl: { compact: container.clientWidth < 700 },
    // preserveDrawingBuffer lets tests read pixels back (it costs little).
    // No multisampling: MapLibre smooths lines and circles in its shaders,
    // and 4× MSAA more than doubled the cost of every frame where the GPU is
    // weak or emulated (software WebGL: 0.75 against 0.33 CPU-s per frame).
    canvasContextAttributes: { preserveDrawingBuffer: true, antialias: false },
    // Under reduced motion labels appear at once instead of fading in
    // (which also spares a run of frames after every position update).
    fadeDuration: prefersReducedMotion() ? 0 : 300,
    doubleClickZoom: true,
    dragRotate: false,
    pitchWithRotate: false,
  });
  map.touchZoomRotate.disableRotation();
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-left');
  map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-right');
  map.basemapReady = new Promise((resolve) => {
    const go = () => loadAtlas(map).then(resolve, (err) => {
      console.error('basemap', err);
      resolve();
    });
    if (map.isStyleLoaded()) go();
    else map.once('load', go);
  });
  return map;
}

async function loadAtlas(map) {
  const res = await fetch(countriesUrl);
  const topo = await res.json();
  const { land, coast, borders } = basemapData(topo);
  map.getSource('land').setData(land);
  map.getSource('coast').setData(coast);
  map.getSource('borders').setData(borders);
}

// Basemaps switches between the server's basemaps (GET /api/v1/basemaps)
// and the atlas alone; the choice is remembered per browser.
export class Basemaps extends EventTarget {
  constructor(map, list) {
    super();
    this.map = map;
    this.list = list;
    this.current = null;
    let remembered = null;
    try { remembered = localStorage.getItem(BASEMAP_KEY); } catch { /* private mode */ }
    this.initial = chooseBasemap(list, remembered);
  }

  get all() {
    return [...this.list, NATURAL_EARTH];
  }

  // use shows basemap id (loading a style URL first when needed).
  async use(id) {
    const b = this.all.find((x) => x.id === id) || NATURAL_EARTH;
    let style = basemapStyle(b, (u) => new URL(u, location.href).href);
    if (b.kind === 'style') {
      try {
        const res = await fetch(b.url);
        style = prefixStyle(b, await res.json());
      } catch (err) {
        this.dispatchEvent(new CustomEvent('error', { detail: `${b.name}: ${err.message}` }));
        return;
      }
    }
    this.clear();
    for (const [sid, src] of Object.entries(style.sources)) this.map.addSource(sid, src);
    for (const layer of style.layers) this.map.addLayer(layer, APP_BASE);
    this.current = b;
    try { localStorage.setItem(BASEMAP_KEY, b.id); } catch { /* private mode */ }
    this.dispatchEvent(new CustomEvent('change', { detail: b }));
  }

  clear() {
    const style = this.map.getStyle();
    for (const l of style.layers) if (l.id.startsWith(BASEMAP_PREFIX)) this.map.removeLayer(l.id);
    for (const sid of Object.keys(style.sources)) if (sid.startsWith(BASEMAP_PREFIX)) this.map.removeSource(sid);
  }

  // control is the switcher for the map's top-left corner.
  control() {
    const self = this;
    return {
      onAdd() {
        const el = document.createElement('div');
        el.className = 'maplibregl-ctrl maplibregl-ctrl-group basemap-switcher';
        const select = document.createElement('select');
        select.setAttribute('aria-label', 'Basemap');
        select.title = 'Basemap';
        for (const b of self.all) {
          const o = document.createElement('option');
          o.value = b.id;
          o.textContent = b.name;
          select.append(o);
        }
        select.value = (self.current || self.initial).id;
        select.addEventListener('change', () => self.use(select.value));
        self.addEventListener('change', (e) => { select.value = e.detail.id; });
        el.append(select);
        return el;
      },
      onRemove() {},
    };
  }
}

export { maplibregl, EMPTY };

// addCanvasImage draws a small image for symbol layers with a 2D canvas.
export function addCanvasImage(map, id, width, height, draw, pixelRatio = 2) {
  const c = document.createElement('canvas');
  c.width = width * pixelRatio;
  c.height = height * pixelRatio;
  const ctx = c.getContext('2d');
  ctx.scale(pixelRatio, pixelRatio);
  draw(ctx);
  map.addImage(id, ctx.getImageData(0, 0, c.width, c.height), { pixelRatio });
}
