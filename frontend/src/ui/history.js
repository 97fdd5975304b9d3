// Alarm history: any state, filtered, with each alarm's audit trail,
// samples chart and a way to see it on the map.
import { get, query, errorText } from '../api.js';
import { h, replace, fmtTime, toInputUTC, fromInputUTC, utcInput } from './dom.js';
import { doseColor, fmtDose } from '../dose.js';
import { doseChart } from '../chart.js';
import { RESOLVE_CODES } from '../alarms.js';
import { exportLinks } from './exportlinks.js';
import { ALARM_FORMATS, TRACK_FORMATS } from '../exports.js';

const CODE_LABEL = Object.fromEntries(RESOLVE_CODES);

export class AlarmHistory {
  constructor({ deviceName, onLocate, devices }) {
    this.deviceName = deviceName;
    this.onLocate = onLocate;
    this.devices = devices;
    const now = Date.now();
    this.state = h('select', { 'aria-label': 'State' },
      [['', 'any state'], ['open', 'open'], ['raised', 'raised'], ['acknowledged', 'acknowledged'], ['resolved', 'resolved']]
        .map(([v, l]) => h('option', { value: v }, l)));
    this.severity = h('select', { 'aria-label': 'Severity' },
      [['', 'any severity'], ['critical', 'critical'], ['alarm', 'alarm'], ['warning', 'warning'], ['notice', 'notice'], ['info', 'info']]
        .map(([v, l]) => h('option', { value: v }, l)));
    this.device = h('select', { 'aria-label': 'Vehicle' }, h('option', { value: '' }, 'any vehicle'));
    this.from = utcInput({ value: toInputUTC(now - 7 * 86400_000), 'aria-label': 'From (UTC)' });
    this.to = utcInput({ value: '', 'aria-label': 'To (UTC)' });
    this.table = h('div', { class: 'history-table' });
    this.exports = h('div', { class: 'history-exports' });
    this.detail = h('div', { class: 'history-detail' });
    this.el = h('section', { class: 'history' },
      h('form', { class: 'filters', onsubmit: (e) => { e.preventDefault(); this.load(); } },
        this.state, this.severity, this.device,
        h('label', null, h('span', null, 'From (UTC)'), this.from),
        h('label', null, h('span', null, 'To (UTC)'), this.to),
        h('button', { type: 'submit', class: 'primary' }, 'Search')),
      this.exports, this.detail, this.table);
  }

  refreshDevices() {
    const cur = this.device.value;
    replace(this.device, h('option', { value: '' }, 'any vehicle'),
      (this.devices() || []).map((d) => h('option', { value: String(d.id), selected: String(d.id) === cur }, d.name)));
  }

  async load() {
    const from = fromInputUTC(this.from.value);
    const to = fromInputUTC(this.to.value);
    if ((this.from.value.trim() && !from) || (this.to.value.trim() && !to)) {
      replace(this.table, h('p', { class: 'error', role: 'alert' }, 'Times are UTC, 24-hour: YYYY-MM-DD HH:MM[:SS]Z'));
      return;
    }
    replace(this.table, h('p', { class: 'muted' }, 'Loading…'));
    try {
      const filter = {
        state: this.state.value, severity: this.severity.value, device: this.device.value,
        from: from && from.toISOString(), to: to && to.toISOString(),
      };
      const { alarms } = await get('/alarms' + query({ ...filter, limit: 500 }));
      replace(this.exports, alarms.length ? exportLinks('Export these alarms', '/alarms', { ...filter, limit: 1000 }, ALARM_FORMATS) : null);
      replace(this.table, alarms.length ? h('table', null,
        h('thead', null, h('tr', null, ['Severity', 'Rule', 'Vehicle', 'First seen', 'Peak µSv/h', 'State'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', null, alarms.map((a) => h('tr', { tabindex: '0', class: 'clickable', dataset: { alarmId: String(a.id) },
          onclick: () => this.show(a.id), onkeydown: (e) => { if (e.key === 'Enter') this.show(a.id); } },
        h('td', null, h('span', { class: `sev-badge sev-${a.severity}` }, a.severity)),
        h('td', null, a.rule_name),
        h('td', null, this.deviceName(a.device_id)),
        h('td', null, fmtTime(a.first_seen)),
        h('td', null, a.peak_dose_usvh ? h('span', { class: 'dose-chip', style: { background: doseColor(a.peak_dose_usvh) } }, fmtDose(a.peak_dose_usvh)) : '—'),
        h('td', null, a.state, a.code ? ` (${CODE_LABEL[a.code] || a.code})` : ''))))) : h('p', { class: 'muted' }, 'No alarms match.'));
    } catch (err) {
      replace(this.table, h('p', { class: 'error' }, errorText(err)));
    }
  }

  async show(id) {
    replace(this.detail, h('p', { class: 'muted' }, 'Loading alarm…'));
    try {
      const { alarm: a, events } = await get(`/alarms/${id}`);
      // The dose around the episode, five minutes either side, episode shaded.
      const t0 = Date.parse(a.first_seen), t1 = Date.parse(a.last_seen);
      const from = t0 - 5 * 60_000;
      const to = t1 + 5 * 60_000;
      const { samples } = await get(`/devices/${a.device_id}/track` + query({ from: new Date(from).toISOString(), to: new Date(to).toISOString(), limit: 10000 }));
      replace(this.detail, h('article', { class: 'alarm-detail', 'aria-label': `Alarm ${a.id}` },
        h('div', { class: 'panel-head' },
          h('h3', null, h('span', { class: `sev-badge sev-${a.severity}` }, a.severity), ` #${a.id} ${a.rule_name}`),
          h('button', { type: 'button', class: 'icon-btn', 'aria-label': 'Close alarm detail', onclick: () => replace(this.detail) }, '×')),
        h('dl', { class: 'kv' },
          h('dt', null, 'Vehicle'), h('dd', null, this.deviceName(a.device_id)),
          h('dt', null, 'State'), h('dd', null, a.state, a.code ? ` — ${CODE_LABEL[a.code] || a.code}` : ''),
          h('dt', null, 'First / last'), h('dd', null, `${fmtTime(a.first_seen)} → ${fmtTime(a.last_seen)}`),
          h('dt', null, 'Peak'), h('dd', null, `${fmtDose(a.peak_dose_usvh)} µSv/h at ${fmtTime(a.peak_time)}`),
          h('dt', null, 'Samples'), h('dd', null, String(a.samples))),
        h('button', { type: 'button', class: 'btn-small', onclick: () => this.onLocate(a) }, 'Show on map'),
        exportLinks('Readings', `/alarms/${a.id}/n42`, {}, [['n42', 'N42.42']]),
        exportLinks('Track', `/devices/${a.device_id}/track`, { from: new Date(from).toISOString(), to: new Date(to).toISOString() }, TRACK_FORMATS),
        h('h4', null, 'Audit trail'),
        h('ol', { class: 'timeline' }, events.map((ev) => h('li', null,
          h('span', { class: 'muted' }, fmtTime(ev.time)), ' ', h('strong', null, ev.type.replaceAll('_', ' ')),
          ev.user ? ` by ${ev.user}` : '', ev.code ? ` — ${CODE_LABEL[ev.code] || ev.code}` : '',
          ev.comment ? h('div', { class: 'comment' }, `“${ev.comment}”`) : null))),
        h('h4', null, 'Dose rate (µSv/h), episode shaded'),
        doseChart(samples, { from, to, width: 330, height: 120, band: [t0, t1 + 1000] })));
      this.detail.scrollIntoView({ block: 'nearest' });
    } catch (err) {
      replace(this.detail, h('p', { class: 'error' }, errorText(err)));
    }
  }
}
