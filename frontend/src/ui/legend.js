// Map legend: the dose scale in µSv/h, stale and no-reading markers, and
// fence kinds.
import { h } from './dom.js';
import { DOSE_CLASSES, NO_READING, STALE } from '../dose.js';
import { FENCE_KINDS } from '../fences.js';

export function legend() {
  const row = (color, label, meaning, cls = 'dot') => h('li', null,
    h('span', { class: cls, style: { background: color } }), h('span', { class: 'lg-label' }, label), meaning ? h('span', { class: 'lg-meaning' }, meaning) : null);
  const body = h('div', { class: 'legend-body', id: 'legend-body' },
    h('div', { class: 'lg-title' }, 'Dose rate, µSv/h'),
    h('ul', null,
      DOSE_CLASSES.map((c) => row(c.color, c.label, c.meaning)),
      row(NO_READING, 'no reading', ''),
      row(STALE, 'stale', 'no fix > 60 s')),
    h('div', { class: 'lg-title' }, 'Fences'),
    h('ul', null, Object.values(FENCE_KINDS).map((k) => row(k.color, k.label, '', 'sq'))));
  const btn = h('button', { type: 'button', class: 'legend-toggle', 'aria-expanded': 'true', 'aria-controls': 'legend-body',
    onclick: () => {
      body.hidden = !body.hidden;
      btn.setAttribute('aria-expanded', String(!body.hidden));
    } }, 'Legend');
  // On a phone the legend starts collapsed: it would cover half the map.
  if (typeof matchMedia === 'function' && matchMedia('(max-width: 600px)').matches) {
    body.hidden = true;
    btn.setAttribute('aria-expanded', 'false');
  }
  return h('div', { class: 'legend', role: 'region', 'aria-label': 'Map legend' }, btn, body);
}
