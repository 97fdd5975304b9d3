// Basemap styles: what each kind of basemap adds to the map, as plain
// MapLibre source and layer objects (pure, unit-tested under node).
//
// Kinds (GET /api/v1/basemaps): "pmtiles" archives on our server, vector
// (drawn with the style below for the Protomaps basemap schema of January
// 2023: earth, natural, landuse, water, physical_line, buildings, places,
// roads, transit, pois, boundaries) or raster; "raster" tile templates and
// "style" URLs of an internal tile server. Natural Earth (world-atlas) is
// always drawn underneath as the fallback where a basemap has no tiles.
//
// Every source and layer id starts with "bm-", so a switch removes exactly
// the basemap and nothing of the app's own layers.

export const BASEMAP_PREFIX = 'bm-';
export const NATURAL_EARTH = { id: 'natural-earth', name: 'Natural Earth (atlas)', kind: 'builtin', attribution: 'Natural Earth' };

// Label fonts: Noto Sans (SIL OFL) from the npm font package, served by our
// own server and declared in the style's font-faces (map.js); MapLibre
// draws the glyphs itself, so no glyph server is needed. CJK names fall
// back to a local CJK font (fonts-noto-cjk / fonts-wqy-zenhei).
export const FONT_REGULAR = ['Noto Sans Regular'];
export const FONT_BOLD = ['Noto Sans Bold'];

// The dark control-room palette, matching the Natural Earth atlas.
export const PALETTE = {
  water: '#0b1520',
  earth: '#1b232d',
  park: '#1b2a24',
  forest: '#1a2822',
  farmland: '#1e2529',
  industrial: '#222630',
  landuse: '#1f2731',
  building: '#273140',
  buildingLine: '#324052',
  waterway: '#15324d',
  rail: '#4a5464',
  boundary: '#5b6675',
  highway: '#8a6a34',
  major: '#5d6b7c',
  medium: '#4b5767',
  minor: '#3a4553',
  other: '#2e3744',
  label: '#b9c6d4',
  labelMuted: '#8595a8',
  halo: '#0b0f14',
};

const kind = ['get', 'pmap:kind'];
const zoomWidth = (pairs) => ['interpolate', ['exponential', 1.6], ['zoom'], ...pairs];

// protomaps2023Layers draws a vector archive in the 2023 Protomaps schema.
export function protomaps2023Layers(source) {
  const P = PALETTE;
  const id = (s) => BASEMAP_PREFIX + source + '-' + s;
  const src = BASEMAP_PREFIX + source;
  const roadColor = ['match', kind, 'highway', P.highway, 'major_road', P.major, 'medium_road', P.medium, 'minor_road', P.minor, P.other];
  const roadWidth = zoomWidth([
    8, ['match', kind, 'highway', 1.2, 'major_road', 0.8, 0.3],
    12, ['match', kind, 'highway', 2.4, 'major_road', 1.8, 'medium_road', 1.2, 'minor_road', 0.7, 0.3],
    16, ['match', kind, 'highway', 9, 'major_road', 8, 'medium_road', 6, 'minor_road', 4.5, 1.5],
    19, ['match', kind, 'highway', 22, 'major_road', 20, 'medium_road', 16, 'minor_road', 12, 4],
  ]);
  const label = (size, color = P.label) => ({
    'text-color': color, 'text-halo-color': P.halo, 'text-halo-width': 1.4, 'text-halo-blur': 0.3,
  });
  return [
    { id: id('earth'), type: 'fill', source: src, 'source-layer': 'earth', paint: { 'fill-color': P.earth } },
    { id: id('natural'), type: 'fill', source: src, 'source-layer': 'natural',
      paint: { 'fill-color': ['match', ['get', 'natural'], ['wood', 'scrub', 'heath'], P.forest, ['match', ['get', 'landuse'], 'forest', P.forest, P.park]], 'fill-opacity': 0.9 } },
    { id: id('landuse'), type: 'fill', source: src, 'source-layer': 'landuse',
      paint: {
        'fill-color': ['match', kind, 'park', P.park, 'farmland', P.farmland, 'industrial', P.industrial, 'cemetery', P.park, P.landuse],
        'fill-opacity': ['interpolate', ['linear'], ['zoom'], 8, 0.5, 13, 1],
      } },
    { id: id('water'), type: 'fill', source: src, 'source-layer': 'water', paint: { 'fill-color': P.water } },
    { id: id('waterway'), type: 'line', source: src, 'source-layer': 'physical_line', filter: ['has', 'waterway'],
      paint: { 'line-color': P.waterway, 'line-width': zoomWidth([10, 0.5, 16, 3]) } },
    { id: id('buildings'), type: 'fill', source: src, 'source-layer': 'buildings', minzoom: 14,
      paint: { 'fill-color': P.building, 'fill-outline-color': P.buildingLine, 'fill-opacity': ['interpolate', ['linear'], ['zoom'], 14, 0.4, 16, 1] } },
    { id: id('rail'), type: 'line', source: src, 'source-layer': 'transit', filter: ['==', kind, 'railway'], minzoom: 11,
      paint: { 'line-color': P.rail, 'line-width': zoomWidth([11, 0.6, 18, 2.5]), 'line-dasharray': [3, 2] } },
    { id: id('roads-other'), type: 'line', source: src, 'source-layer': 'roads', minzoom: 14,
      filter: ['!', ['match', kind, ['highway', 'major_road', 'medium_road', 'minor_road'], true, false]],
      layout: { 'line-cap': 'round', 'line-join': 'round' },
      paint: { 'line-color': P.other, 'line-width': roadWidth } },
    { id: id('roads'), type: 'line', source: src, 'source-layer': 'roads',
      filter: ['match', kind, ['highway', 'major_road', 'medium_road', 'minor_road'], true, false],
      layout: { 'line-cap': 'round', 'line-join': 'round', 'line-sort-key': ['match', kind, 'highway', 4, 'major_road', 3, 'medium_road', 2, 1] },
      paint: { 'line-color': roadColor, 'line-width': roadWidth } },
    { id: id('boundaries'), type: 'line', source: src, 'source-layer': 'boundaries',
      paint: { 'line-color': P.boundary, 'line-width': 1, 'line-dasharray': [3, 2] } },
    { id: id('road-names'), type: 'symbol', source: src, 'source-layer': 'roads', minzoom: 13,
      filter: ['has', 'name'],
      layout: {
        'symbol-placement': 'line', 'text-field': ['get', 'name'], 'text-font': FONT_REGULAR,
        'text-size': ['interpolate', ['linear'], ['zoom'], 13, 10, 17, 13], 'text-max-angle': 30, 'symbol-spacing': 280,
      },
      paint: label(11, P.labelMuted) },
    { id: id('water-names'), type: 'symbol', source: src, 'source-layer': 'water', minzoom: 12,
      filter: ['has', 'name'],
      layout: { 'text-field': ['get', 'name'], 'text-font': FONT_REGULAR, 'text-size': 11 },
      paint: { ...label(11), 'text-color': '#5f87ad' } },
    { id: id('pois'), type: 'symbol', source: src, 'source-layer': 'pois', minzoom: 16,
      filter: ['has', 'name'],
      layout: { 'text-field': ['get', 'name'], 'text-font': FONT_REGULAR, 'text-size': 10, 'text-max-width': 8 },
      paint: label(10, P.labelMuted) },
    { id: id('places'), type: 'symbol', source: src, 'source-layer': 'places',
      filter: ['has', 'name'],
      layout: {
        'text-field': ['get', 'name'],
        'text-font': ['match', kind, ['city', 'town'], ['literal', FONT_BOLD], ['literal', FONT_REGULAR]],
        'text-size': ['match', kind, 'city', 16, 'town', 14, 12],
        'text-transform': ['match', kind, 'neighbourhood', 'uppercase', 'none'],
        'text-letter-spacing': ['match', kind, 'neighbourhood', 0.08, 0],
        'symbol-sort-key': ['match', kind, 'city', 0, 'town', 1, 2],
        'text-max-width': 8,
      },
      paint: label(12, '#d5dee8') },
  ];
}

// basemapStyle returns {sources, layers} for a basemap from the listing;
// absolute turns a server path into a URL (pmtiles needs one).
export function basemapStyle(b, absolute = (u) => u) {
  const src = BASEMAP_PREFIX + b.id;
  const attribution = b.attribution || '';
  switch (b.kind) {
    case 'builtin':
      return { sources: {}, layers: [] };
    case 'pmtiles':
      if (b.format === 'vector') {
        return {
          sources: { [src]: { type: 'vector', url: 'pmtiles://' + absolute(b.url), attribution } },
          layers: protomaps2023Layers(b.id),
        };
      }
      return {
        sources: { [src]: { type: 'raster', url: 'pmtiles://' + absolute(b.url), tileSize: 256, attribution } },
        layers: [{ id: src + '-raster', type: 'raster', source: src }],
      };
    case 'raster':
      return {
        sources: { [src]: { type: 'raster', tiles: [b.url], scheme: b.scheme || 'xyz', tileSize: b.tile_size || 256, maxzoom: b.max_zoom ?? 19, attribution } },
        layers: [{ id: src + '-raster', type: 'raster', source: src }],
      };
    default:
      return { sources: {}, layers: [] }; // "style": loaded by styleFromURL
  }
}

// prefixStyle takes an external MapLibre style (an internal tile
// server's) and renames its sources and layers into the basemap's
// namespace so they can sit under the app's layers. Icons of its sprite
// and its glyph server are not used: labels are drawn with our fonts.
export function prefixStyle(b, style) {
  const p = BASEMAP_PREFIX + b.id + '-';
  const sources = {};
  for (const [k, v] of Object.entries(style.sources || {})) {
    sources[p + k] = { ...v, attribution: v.attribution || b.attribution || '' };
  }
  const layers = (style.layers || []).map((l) => {
    const out = { ...l, id: p + l.id };
    if (l.source) out.source = p + l.source;
    if (l.layout) {
      out.layout = { ...l.layout };
      delete out.layout['icon-image'];
      if (out.layout['text-font']) out.layout['text-font'] = FONT_REGULAR;
    }
    return out;
  });
  return { sources, layers };
}

// chooseBasemap picks the remembered basemap if it still exists, else the
// first configured one, else Natural Earth.
export function chooseBasemap(list, remembered) {
  const all = [...list, NATURAL_EARTH];
  return all.find((b) => b.id === remembered) || list[0] || NATURAL_EARTH;
}
