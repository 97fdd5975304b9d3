// fontFaces builds MapLibre's style "font-faces" for the label fonts from
// per-weight subset files and their unicode ranges ("U+0000-00FF,U+0131"
// as in @fontsource's unicode.json). Pure, unit-tested.
export function fontFaces(files, unicode, absolute = (u) => u) {
  const names = { 400: 'Noto Sans Regular', 700: 'Noto Sans Bold' };
  const out = {};
  for (const [weight, subsets] of Object.entries(files)) {
    out[names[weight]] = Object.entries(subsets).map(([subset, url]) => ({
      url: absolute(url),
      'unicode-range': unicode[subset].split(',').map((r) => r.trim()),
    }));
  }
  return out;
}
