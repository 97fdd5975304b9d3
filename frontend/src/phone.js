// Phone layout (≤ 600 px, see style.css): the incidents come first and
// the map is shown on demand, by the top bar's Map toggle or when an alarm
// is located. The map stays laid out while hidden (visibility), so it never
// renders at size zero.
import { h } from './ui/dom.js';

export const PHONE_QUERY = '(max-width: 600px)';
export const isPhone = () => typeof matchMedia === 'function' && matchMedia(PHONE_QUERY).matches;

export class PhoneView {
  constructor() {
    this.mapShown = false;
    this.map = null;
    this.btn = h('button', { type: 'button', class: 'btn-small map-toggle', 'aria-pressed': 'false', 'aria-controls': 'map',
      onclick: () => this.showMap(!this.mapShown) }, 'Map');
  }

  showMap(on) {
    this.mapShown = on;
    document.body.classList.toggle('show-map', on);
    this.btn.setAttribute('aria-pressed', String(on));
    this.btn.textContent = on ? 'List' : 'Map';
    this.btn.title = on ? 'Back to the incidents and panels' : 'Show the map';
    if (on && this.map) requestAnimationFrame(() => this.map.resize());
  }

  // located: an alarm was located on the map; on a phone, show the map.
  located() {
    if (isPhone()) this.showMap(true);
  }
}
