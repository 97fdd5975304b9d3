// Vehicles tab: find a vehicle in seconds. Search by name or uid, filter
// by group and state (in alarm, moving, stopped, stale), see when each
// was last seen; a click flies the map to it and selects it.
import { h, replace, fmtAge } from './dom.js';
import { doseColor, fmtDose } from '../dose.js';
import { STATES, filterVehicles, vehicleState } from '../vehiclefilter.js';
import { siteOptions, subtreeIds } from '../sites.js';
import { request } from '../api.js';

const MAX_ROWS = 300; // the list is for finding; the map shows the fleet

export class VehicleList {
  constructor({ vehicles, map }) {
    this.vehicles = vehicles;
    this.map = map;
    this.q = h('input', { type: 'search', name: 'vehicle-search', placeholder: 'Search name or id', 'aria-label': 'Search vehicles by name or id', autocomplete: 'off',
      oninput: () => this.render(),
      onkeydown: (e) => {
        if (e.key !== 'Enter') return;
        e.preventDefault();
        const first = this.rows[0];
        if (first) this.pick(first.id);
      } });
    this.group = h('select', { name: 'vehicle-group', 'aria-label': 'Group', onchange: () => this.render() }, h('option', { value: '' }, 'All groups'));
    // Site filter for centre users: a site and its subtree. Hidden while
    // the user's subtree is one site.
    this.sites = [];
    this.site = h('select', { name: 'vehicle-site', 'aria-label': 'Site', hidden: true, onchange: () => this.render() }, h('option', { value: '' }, 'All sites'));
    this.state = '';
    this.stateBtns = STATES.map(([value, label]) => h('button', { type: 'button', class: 'chip', 'aria-pressed': String(value === ''), dataset: { state: value },
      onclick: () => {
        this.state = value;
        for (const b of this.stateBtns) b.setAttribute('aria-pressed', String(b.dataset.state === value));
        this.render();
      } }, label));
    this.count = h('p', { class: 'muted vehicle-list-count', role: 'status' });
    this.list = h('ul', { class: 'vehicle-list', 'aria-label': 'Vehicles' });
    this.el = h('section', { class: 'vehicles-tab' },
      h('div', { class: 'row wrap' }, this.q, this.group, this.site),
      h('div', { class: 'row wrap chips', role: 'group', 'aria-label': 'Vehicle state' }, this.stateBtns),
      this.count, this.list);
    this.rows = [];
    this.visible = false;
    vehicles.addEventListener('select', () => { if (this.visible) this.render(); });
    setInterval(() => { if (this.visible) this.render(); }, 2000);
  }

  show() {
    this.visible = true;
    this.refreshGroups();
    this.refreshSites();
    this.render();
  }

  async refreshSites() {
    try {
      const { sites } = await request('GET', '/sites');
      this.sites = sites || [];
    } catch {
      return; // the filter stays as it was
    }
    const cur = this.site.value;
    replace(this.site, h('option', { value: '' }, 'All sites'),
      siteOptions(this.sites).map((o) => h('option', { value: String(o.id), selected: String(o.id) === cur }, o.label)));
    this.site.hidden = this.sites.length < 2;
    this.render();
  }

  hide() {
    this.visible = false;
  }

  refreshGroups() {
    const groups = [...new Set([...this.vehicles.meta.values()].map((m) => m.group).filter(Boolean))].sort();
    const cur = this.group.value;
    replace(this.group, h('option', { value: '' }, 'All groups'), groups.map((g) => h('option', { value: g, selected: g === cur }, g)));
  }

  // rowsNow joins the live vehicles with the device list (devices that
  // never reported are listed as stale, with no position).
  rowsNow() {
    const v = this.vehicles;
    const ids = new Set([...v.byId.keys(), ...v.meta.keys()]);
    const rows = [];
    for (const id of ids) {
      const live = v.byId.get(id);
      const meta = v.meta.get(id) || {};
      rows.push({
        id, name: v.name(id), uid: meta.uid || (live && live.uid) || '', group: meta.group || '', site: meta.site,
        state: vehicleState(live), alarm: v.alarmed.has(id), dose: live ? live.dose : null,
        t: live ? live.t : meta.lastSeen || null, hasFix: !!live,
      });
    }
    return rows;
  }

  render() {
    const all = this.rowsNow();
    const sites = this.site.value ? subtreeIds(this.sites, Number(this.site.value)) : null;
    this.rows = filterVehicles(all, { q: this.q.value, group: this.group.value, state: this.state, sites });
    this.count.textContent = `${this.rows.length} of ${all.length} vehicles`;
    const now = Date.now();
    replace(this.list, this.rows.length ? null : h('li', { class: 'empty' }, 'No vehicle matches.'),
      this.rows.slice(0, MAX_ROWS).map((r) => h('li', null, h('button', {
        type: 'button', class: 'vehicle-row' + (r.id === this.vehicles.selected ? ' selected' : '') + (r.alarm ? ' in-alarm' : ''),
        dataset: { vehicleId: String(r.id) }, disabled: !r.hasFix, title: r.hasFix ? 'Show on the map' : 'No position yet',
        onclick: () => this.pick(r.id),
      },
      h('span', { class: 'dot', style: { background: r.state === 'stale' ? '#4a5361' : doseColor(r.dose) }, 'aria-hidden': 'true' }),
      h('span', { class: 'vr-name' }, r.name, h('span', { class: 'muted' }, ` ${r.uid !== r.name ? r.uid : ''}${r.group ? ' · ' + r.group : ''}`)),
      h('span', { class: `vr-state st-${r.alarm ? 'alarm' : r.state}` }, r.alarm ? 'ALARM' : r.state),
      h('span', { class: 'vr-dose' }, r.dose === null || r.dose === undefined || r.dose < 0 ? '' : fmtDose(r.dose)),
      h('span', { class: 'vr-seen muted' }, r.t ? fmtAge(now - r.t) : 'never')))));
  }

  // pick flies to the vehicle and selects it (its panel opens).
  pick(id) {
    const v = this.vehicles.byId.get(id);
    if (!v) return;
    this.map.flyTo({ center: [v.lon, v.lat], zoom: Math.max(this.map.getZoom(), 15), duration: 800 });
    this.vehicles.select(id);
  }
}
