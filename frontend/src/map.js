// The map: MapLibre GL JS with an offline basemap (Natural Earth land,
// coastlines and borders from world-atlas, served by our own server).
// No glyphs URL, no tiles from anywhere: the page never leaves its host.
// world-atlas is drawn for the sphere: its rings cross the antimeridian,
// so the basemap is cut at ±180° once on load (antimeridian.js).
import * as maplibregl from 'maplibre-gl';
import 'maplibre-gl/dist/maplibre-gl.css';
// Vite 8 leaves MapLibre's worker out of the bundle: point at it ourselves.
import workerUrl from 'maplibre-gl/dist/maplibre-gl-worker.mjs?url';
import countriesUrl from 'world-atlas/countries-50m.json?url';
import { basemapData } from './antimeridian.js';

maplibregl.setWorkerUrl(workerUrl);

const EMPTY = { type: 'FeatureCollection', features: [] };

export const COLORS = {
  water: '#0b1520',
  land: '#1b232d',
  coast: '#3f5a73',
  border: '#5b6675',
};

function baseStyle() {
  return {
    version: 8,
    // glyphs deliberately unset: labels are drawn as canvas images (vehicles.js).
    sources: {
      land: { type: 'geojson', data: EMPTY, attribution: 'Natural Earth (world-atlas)' },
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
    ],
  };
}

// createMap builds the map; the basemap loads in the background.
export function createMap(container, { center = [4.05, 51.95], zoom = 9 } = {}) {
  const map = new maplibregl.Map({
    container,
    style: baseStyle(),
    center,
    zoom,
    maxZoom: 20,
    attributionControl: { compact: true },
    // Lets tests and screenshots read pixels back.
    canvasContextAttributes: { preserveDrawingBuffer: true, antialias: true },
    // Double-click zoom would fight the fence editor.
    doubleClickZoom: true,
    dragRotate: false,
    pitchWithRotate: false,
  });
  map.touchZoomRotate.disableRotation();
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-left');
  map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-right');
  map.basemapReady = new Promise((resolve) => {
    const go = () => loadBasemap(map).then(resolve, (err) => {
      console.error('basemap', err);
      resolve();
    });
    if (map.isStyleLoaded()) go();
    else map.once('load', go);
  });
  return map;
}

async function loadBasemap(map) {
  const res = await fetch(countriesUrl);
  const topo = await res.json();
  const { land, coast, borders } = basemapData(topo);
  map.getSource('land').setData(land);
  map.getSource('coast').setData(coast);
  map.getSource('borders').setData(borders);
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
