// Daily summary of a group: per vehicle and UTC day, distance, hours
// reporting, maximum dose rate, accumulated dose, time above each level and
// alarms, from GET /api/v1/groups/{group}/daily; the same as CSV.
import { get, query, errorText } from './api.js';
import { h, replace, fmtNum, toInputUTC, fromInputUTC, utcInput } from './ui/dom.js';
import { exportLinks } from './ui/exportlinks.js';

const DAY = 24 * 3600_000;

// dailyRows flattens the route's answer into table rows, vehicle by
// vehicle, oldest day first.
export function dailyRows(res) {
  const rows = [];
  for (const d of res.devices || []) {
    for (const day of d.days || []) {
      rows.push({
        vehicle: d.name || d.uid, date: day.date,
        km: day.distance_m / 1000, hours: day.reporting_seconds / 3600,
        max: day.max_dose_rate_usvh, dose: day.dose_usv,
        above: (day.above || []).map((a) => `≥ ${a.level_usvh}: ${a.seconds < 60 ? `${Math.round(a.seconds)} s` : `${Math.round(a.seconds / 60)} min`}`).join(', '),
        alarms: day.alarms,
      });
    }
  }
  return rows;
}

export class DailyPanel {
  constructor({ devices }) {
    this.devices = devices; // () => the device list
    const today = Math.floor(Date.now() / DAY) * DAY;
    this.groupIn = h('select', { 'aria-label': 'Group', name: 'group' });
    this.fromIn = utcInput({ value: toInputUTC(today - 6 * DAY), 'aria-label': 'From (UTC)' });
    this.toIn = utcInput({ value: toInputUTC(today + DAY), 'aria-label': 'To (UTC)' });
    this.msg = h('p', { class: 'muted', role: 'status' });
    this.out = h('div', { class: 'daily-out' });
    this.el = h('section', { class: 'daily' },
      h('form', { class: 'stack', onsubmit: (e) => { e.preventDefault(); this.load(); } },
        h('label', null, h('span', null, 'Group'), this.groupIn),
        h('label', null, h('span', null, 'From (UTC)'), this.fromIn),
        h('label', null, h('span', null, 'To (UTC)'), this.toIn),
        h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary' }, 'Show summary'))),
      this.msg, this.out);
  }

  // refreshGroups lists the groups of the current devices.
  refreshGroups() {
    const groups = [...new Set((this.devices() || []).map((d) => d.group).filter(Boolean))].sort();
    const current = this.groupIn.value;
    replace(this.groupIn, ...groups.map((g) => h('option', { value: g, selected: g === current }, g)));
    this.msg.textContent = groups.length ? '' : 'No vehicle belongs to a group yet.';
  }

  async load() {
    const group = this.groupIn.value;
    const from = fromInputUTC(this.fromIn.value);
    const to = fromInputUTC(this.toIn.value);
    if (!group || !from || !to || to <= from) {
      this.msg.textContent = 'Pick a group and a time range.';
      return;
    }
    const params = { from: from.toISOString(), to: to.toISOString() };
    const path = `/groups/${encodeURIComponent(group)}/daily`;
    this.msg.textContent = 'Loading…';
    try {
      const res = await get(path + query(params));
      const rows = dailyRows(res);
      this.msg.textContent = `${rows.length} vehicle-days in ${group}.`;
      replace(this.out,
        exportLinks('Export', path, params, [['csv', 'CSV']]),
        h('table', { class: 'daily-table' },
          h('thead', null, h('tr', null, ...['Vehicle', 'Day', 'km', 'Hours', 'Max µSv/h', 'Dose µSv', 'Time above', 'Alarms'].map((t) => h('th', null, t)))),
          h('tbody', null, ...rows.map((r) => h('tr', null,
            h('td', null, r.vehicle), h('td', null, r.date), h('td', null, fmtNum(r.km, 1)), h('td', null, fmtNum(r.hours, 1)),
            h('td', null, fmtNum(r.max, 3)), h('td', null, fmtNum(r.dose, 3)), h('td', null, r.above || '—'), h('td', null, String(r.alarms)))))));
    } catch (err) {
      this.msg.textContent = errorText(err);
      replace(this.out);
    }
  }
}
