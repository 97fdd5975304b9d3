// What the map draws for a fence (pure, unit-tested under node).
import { circlePolygon, widthAtZoom0 } from './geo.js';
import { splitGeometry } from './antimeridian.js';

export function shapeOf(f) {
  const g = f.geometry;
  if (g.type === 'Point') return 'circle';
  if (g.type === 'LineString') return 'corridor';
  return g.type === 'MultiPolygon' ? 'multipolygon' : 'polygon';
}

// displayFeature turns a fence into what the map draws. Shapes that cross
// the antimeridian are cut there (the server evaluates them on the sphere;
// MapLibre draws in the plane and would draw a band round the world).
export function displayFeature(f) {
  const p = f.properties;
  const props = { fid: p.id, name: p.name, kind: p.kind };
  const g = f.geometry;
  if (g.type === 'Point') {
    return { type: 'Feature', id: p.id, geometry: splitGeometry(circlePolygon(g.coordinates, p.radius_m)), properties: { ...props, shape: 'area' } };
  }
  if (g.type === 'LineString') {
    return { type: 'Feature', id: p.id, geometry: splitGeometry(g), properties: { ...props, shape: 'corridor', w0: widthAtZoom0(p.half_width_m, g.coordinates[0][1]) } };
  }
  return { type: 'Feature', id: p.id, geometry: splitGeometry(g), properties: { ...props, shape: 'area' } };
}

