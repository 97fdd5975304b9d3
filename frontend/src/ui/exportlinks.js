import { h } from './dom.js';
import { exportURL } from '../exports.js';

// exportLinks renders "label: CSV · GeoJSON …" as download links.
export function exportLinks(label, path, params, formats) {
  const links = [];
  formats.forEach(([f, name], i) => {
    if (i) links.push(' · ');
    links.push(h('a', { href: exportURL(path, params, f), download: '', class: 'export-link', dataset: { format: f } }, name));
  });
  return h('p', { class: 'exports' }, h('span', { class: 'muted' }, `${label}: `), links);
}
