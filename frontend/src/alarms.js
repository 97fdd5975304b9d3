// Open alarms: the list (from the live snapshot, alarm frames or REST
// polling), new-alarm cues, and the panel with acknowledge / resolve.
import { post, errorText } from './api.js';
import { h, replace, fmtTime, fmtAge } from './ui/dom.js';
import { doseColor, fmtDose } from './dose.js';
import { beep } from './sound.js';
import { groupCards, isHealth } from './incidents.js';

export const SEVERITY_RANK = { critical: 5, alarm: 4, warning: 3, notice: 2, info: 1 };
export const RESOLVE_CODES = [
  ['real', 'Real source'],
  ['innocent_medical', 'Innocent: medical'],
  ['innocent_norm', 'Innocent: NORM'],
  ['declared_shipment', 'Declared shipment'],
  ['false_alarm', 'False alarm'],
  ['test', 'Test'],
];

export function compareAlarms(a, b) {
  const r = (SEVERITY_RANK[b.severity] || 0) - (SEVERITY_RANK[a.severity] || 0);
  if (r) return r;
  const t = Date.parse(b.first_seen) - Date.parse(a.first_seen);
  return t || b.id - a.id;
}

export class AlarmStore extends EventTarget {
  constructor() {
    super();
    this.open = new Map(); // id → alarm (raised or acknowledged)
    this.fresh = new Set(); // ids raised during this session, not yet looked at
    this.loaded = false;
  }

  // replaceAll: a snapshot or a poll gives the complete open list.
  replaceAll(list) {
    const next = new Map(list.map((a) => [a.id, a]));
    for (const a of list) {
      if (this.loaded && !this.open.has(a.id) && a.state === 'raised' && !this.replacesProvisional(a)) this.noteNew(a);
      // Acknowledged before, raised now: a realarm (missed as a frame).
      else if (this.loaded && this.open.get(a.id)?.state === 'acknowledged' && a.state === 'raised') this.noteNew(a);
    }
    // Fresh means raised and unseen: someone else's acknowledgement counts.
    for (const id of this.fresh) if (!next.has(id) || next.get(id).state !== 'raised') this.fresh.delete(id);
    const changed = !sameList(this.open, next);
    this.open = next;
    this.loaded = true;
    if (changed) this.emit();
  }

  // applyEvent: one live alarm frame (idempotent by alarm id).
  applyEvent(frame) {
    const a = frame.alarm || {};
    const id = frame.alarm_id || a.id;
    if (!id) return;
    a.id = id;
    const replaced = this.replacesProvisional(a);
    const known = this.open.has(id) || replaced;
    if (a.state === 'resolved' || frame.event === 'resolved') {
      this.open.delete(id);
      this.fresh.delete(id);
    } else {
      // A realarm pages again like a raise, even for an alarm we know.
      if (frame.event === 'realarm' && a.state === 'raised') this.noteNew(a);
      else if (!known && frame.event === 'raised' && a.state === 'raised') this.noteNew(a);
      if (a.state !== 'raised') this.fresh.delete(id);
      this.open.set(id, a);
    }
    this.emit();
  }

  // replacesProvisional: an alarm raised while the database was
  // unreachable is shown under a negative provisional id until it is
  // stored; its stored version (which names the provisional id, or has the
  // same device, rule and fence) takes its place without paging anyone
  // again. Returns whether a provisional alarm was replaced.
  replacesProvisional(a) {
    if (!(a.id > 0)) return false;
    for (const [pid, p] of this.open) {
      if (pid >= 0) continue;
      if (a.provisional_id === pid || (p.device_id === a.device_id && p.rule_id === a.rule_id && (p.fence_id || 0) === (a.fence_id || 0))) {
        this.open.delete(pid);
        if (this.fresh.delete(pid) && a.state === 'raised') this.fresh.add(a.id);
        this.dispatchEvent(new CustomEvent('replaced', { detail: { from: pid, to: a.id } }));
        return true;
      }
    }
    return false;
  }

  // applyLocal: the REST answer of our own acknowledge / resolve.
  applyLocal(a) {
    if (a.state === 'resolved') this.open.delete(a.id);
    else this.open.set(a.id, a);
    this.fresh.delete(a.id);
    this.emit();
  }

  noteNew(a) {
    if (isHealth(a)) return; // lower priority: listed apart, no sound, no banner
    this.fresh.add(a.id);
    this.dispatchEvent(new CustomEvent('new', { detail: a }));
  }

  seen(id) {
    if (this.fresh.delete(id)) this.emit();
  }

  sorted() {
    return [...this.open.values()].sort(compareAlarms);
  }

  // deviceIds: vehicles with an open alarm (in state, if given); device
  // health alarms do not count (they do not ring a vehicle red).
  deviceIds(state) {
    const list = [...this.open.values()].filter((a) => !isHealth(a) && (!state || a.state === state));
    return [...new Set(list.map((a) => a.device_id))];
  }

  emit() {
    this.dispatchEvent(new Event('change'));
  }
}

function sameList(a, b) {
  if (a.size !== b.size) return false;
  for (const [id, x] of b) {
    const y = a.get(id);
    if (!y || y.state !== x.state || y.last_seen !== x.last_seen || y.peak_dose_usvh !== x.peak_dose_usvh ||
      y.condition_active !== x.condition_active) return false;
  }
  return true;
}

// AlarmPanel renders the open list: one card per incident (its rules as
// chips, one Acknowledge / Resolve for all its alarms), a card for an alarm
// not filed into an incident yet, and device-health alarms in a list of
// their own below. Cards are kept per key (incident or alarm id) so that a
// half-typed comment survives the updates that keep arriving.
export class AlarmPanel {
  constructor({ store, incidents, user, deviceName, onLocate, onDetails, onAnalyse }) {
    this.onAnalyse = onAnalyse;
    this.store = store;
    this.incidents = incidents;
    this.user = user;
    this.deviceName = deviceName;
    this.onLocate = onLocate;
    this.onDetails = onDetails;
    this.cards = new Map();
    this.list = h('ol', { class: 'alarm-list', 'aria-live': 'polite', 'aria-label': 'Open incidents and alarms' });
    this.healthList = h('ol', { class: 'alarm-list health-list', 'aria-label': 'Device health alarms' });
    this.healthHead = h('h3', { class: 'health-head' }, 'Device health');
    this.health = h('section', { class: 'health-alarms', hidden: true }, this.healthHead, this.healthList);
    this.empty = h('p', { class: 'empty' }, 'No open alarms.');
    this.el = h('section', { class: 'alarms' }, this.empty, this.list, this.health);
    store.addEventListener('change', () => this.render());
    if (incidents) incidents.addEventListener('change', () => this.render());
    store.addEventListener('replaced', (e) => this.rekey(e.detail.from, e.detail.to));
    store.addEventListener('new', (e) => beep(e.detail.severity));
    this.render();
  }

  get canAct() {
    return this.user.role === 'operator' || this.user.role === 'admin';
  }

  render() {
    const pinned = new Set();
    for (const card of this.cards.values()) if (card.type === 'alarm' && card.formOpen) pinned.add(card.id);
    const { main, health } = groupCards(this.store.open, this.incidents ? this.incidents.open : new Map(), pinned);
    this.empty.hidden = main.length + health.length > 0;
    this.health.hidden = health.length === 0;
    this.healthHead.textContent = `Device health (${health.length})`;
    const healthCards = health.map((a) => ({ type: 'alarm', key: `a${a.id}`, item: a }));
    const keep = new Set([...main, ...healthCards].map((c) => c.key));
    for (const [key, card] of this.cards) {
      if (!keep.has(key)) {
        card.el.remove();
        this.cards.delete(key);
      }
    }
    this.place(this.list, main);
    this.place(this.healthList, healthCards);
  }

  place(list, items) {
    let prev = null;
    for (const { type, key, item } of items) {
      let card = this.cards.get(key);
      if (card && card.type !== type) {
        card.el.remove();
        card = null;
      }
      if (!card) {
        card = type === 'incident' ? this.makeIncidentCard(item) : this.makeCard(item);
        card.type = type;
        this.cards.set(key, card);
      }
      if (type === 'incident') this.fillIncident(card, item);
      else this.fill(card, item);
      const want = prev ? prev.nextSibling : list.firstChild;
      if (want !== card.el) list.insertBefore(card.el, want);
      prev = card.el;
    }
  }

  // rekey keeps a provisional alarm's card (and a half-typed comment) for
  // its stored version.
  rekey(from, to) {
    const card = this.cards.get(`a${from}`);
    if (!card || this.cards.has(`a${to}`)) return;
    this.cards.delete(`a${from}`);
    card.id = to;
    card.el.dataset.alarmId = String(to);
    card.actionsKey = null;
    this.cards.set(`a${to}`, card);
  }

  makeIncidentCard(inc) {
    const card = { id: inc.id, incident: true };
    card.head = h('div', { class: 'alarm-head' });
    card.chips = h('div', { class: 'rule-chips', 'aria-label': 'Rules' });
    card.body = h('div', { class: 'alarm-body' });
    card.actions = h('div', { class: 'alarm-actions' });
    card.form = h('div', { class: 'alarm-form' });
    // The source estimate and spectrum (incidentsource.js), shown when the
    // incident is looked at.
    card.analysis = h('div', { class: 'incident-analysis' });
    const look = () => {
      for (const a of card.inc.alarms) this.store.seen(a.id);
      this.onLocate({ ...card.inc, device_id: card.inc.peak_device_id });
      if (this.onAnalyse) this.onAnalyse(card.inc, card.analysis);
    };
    card.el = h('li', {
      class: 'alarm-card incident-card', tabindex: '0', dataset: { incidentId: String(inc.id) },
      onclick: (e) => {
        if (e.target.closest('button, input, select, textarea, label, form, .incident-analysis')) return;
        look();
      },
      onkeydown: (e) => { if (e.key === 'Enter' && e.target === card.el) look(); },
    }, card.head, card.chips, card.body, card.analysis, card.actions, card.form);
    card.look = look;
    return card;
  }

  fillIncident(card, inc) {
    card.inc = inc;
    const open = inc.alarms.filter((a) => a.state !== 'resolved');
    const fresh = open.some((a) => this.store.fresh.has(a.id));
    const vehicles = [...new Set(open.map((a) => a.device_id))];
    card.el.className = `alarm-card incident-card sev-${inc.severity} state-${inc.state}` + (fresh ? ' fresh' : '');
    card.el.setAttribute('aria-label', `${inc.severity} incident: ${open.map((a) => a.rule_name).join(', ')}; ${vehicles.map(this.deviceName).join(', ')}; ${inc.state}`);
    replace(card.head,
      h('span', { class: `sev-badge sev-${inc.severity}` }, inc.severity.toUpperCase()),
      fresh ? h('span', { class: 'new-badge' }, 'NEW') : null,
      h('span', { class: 'alarm-rule incident-title' }, `Incident · ${vehicles.map(this.deviceName).join(', ')}`),
    );
    // One chip per rule: several vehicles passing one source raise the
    // same rules; the chip counts them and is raised while any is.
    const byRule = new Map();
    for (const a of open) {
      const k = a.rule_name || a.kind;
      if (!byRule.has(k)) byRule.set(k, []);
      byRule.get(k).push(a);
    }
    replace(card.chips, ...[...byRule].map(([rule, as]) => {
      const state = as.some((a) => a.state === 'raised') ? 'raised' : 'acknowledged';
      const sev = as.reduce((s, a) => ((SEVERITY_RANK[a.severity] || 0) > (SEVERITY_RANK[s] || 0) ? a.severity : s), as[0].severity);
      return h('span', {
        class: `rule-chip sev-${sev} state-${state}`,
        dataset: { alarmId: String(as[0].id), alarmIds: as.map((a) => a.id).join(' ') },
        title: as.map((a) => `${this.deviceName(a.device_id)}: ${a.state}${a.condition_active ? ', condition active' : ''}`).join('\n'),
      }, as.length > 1 ? `${rule} ×${as.length}` : rule);
    }));
    const peak = inc.peak_dose_usvh;
    replace(card.body,
      h('div', null, h('span', { class: 'state' }, inc.state), ` · ${open.length} alarm${open.length === 1 ? '' : 's'}`,
        open.some((a) => a.condition_active) ? h('span', { class: 'active-dot', title: 'a condition is still active' }, ' ● active') : h('span', { class: 'muted' }, ' conditions ended')),
      h('div', { class: 'muted' }, 'first ', fmtTime(inc.first_seen), ' · last seen ', fmtAge(Date.now() - Date.parse(inc.last_seen))),
      peak !== undefined && peak !== null && peak > 0
        ? h('div', null, 'peak ', h('span', { class: 'dose-chip', style: { background: doseColor(peak) } }, fmtDose(peak)), ' µSv/h at ', fmtTime(inc.peak_time))
        : null,
      inc.state === 'acknowledged' && inc.acked_by ? h('div', { class: 'muted' }, `acknowledged by ${inc.acked_by}`) : null,
    );
    if (card.formOpen) return;
    const key = `${inc.state}/${open.length}`;
    if (card.actionsKey === key) return;
    card.actionsKey = key;
    replace(card.actions,
      h('button', { type: 'button', class: 'btn-small', onclick: () => card.look() }, 'Locate'),
      h('button', { type: 'button', class: 'btn-small', onclick: () => this.onDetails(open[0].id) }, 'Details'),
      h('a', { class: 'btn-small report-link', href: `/#report=${inc.id}`, target: '_blank', rel: 'noopener', 'data-action': 'report' }, 'Report'),
      this.canAct && inc.state === 'raised'
        ? h('button', { type: 'button', class: 'btn-small primary', 'data-action': 'ack', onclick: () => this.openAck(card) }, 'Acknowledge')
        : null,
      this.canAct && (inc.state === 'acknowledged' || this.user.role === 'admin')
        ? h('button', { type: 'button', class: 'btn-small', 'data-action': 'resolve', onclick: () => this.openResolve(card) }, 'Resolve')
        : null,
    );
  }

  // settled applies the REST answer of an acknowledge / resolve.
  settled(card, body) {
    card.formOpen = false;
    card.actionsKey = null;
    replace(card.form);
    if (body.incident) {
      this.incidents.applyLocal(body.incident);
      for (const a of body.incident.alarms || []) this.store.applyLocal(a);
    } else {
      this.store.applyLocal(body.alarm);
    }
  }

  seenCard(card) {
    if (card.incident) for (const a of card.inc.alarms) this.store.seen(a.id);
    else this.store.seen(card.id);
  }

  actionPath(card, action) {
    return card.incident ? `/incidents/${card.id}/${action}` : `/alarms/${card.id}/${action}`;
  }

  makeCard(a) {
    const card = { id: a.id };
    card.head = h('div', { class: 'alarm-head' });
    card.body = h('div', { class: 'alarm-body' });
    card.actions = h('div', { class: 'alarm-actions' });
    card.form = h('div', { class: 'alarm-form' });
    card.el = h('li', {
      class: 'alarm-card', tabindex: '0', dataset: { alarmId: String(a.id) },
      onclick: (e) => {
        if (e.target.closest('button, input, select, textarea, label, form')) return;
        this.store.seen(card.id);
        this.onLocate(card.alarm);
      },
      onkeydown: (e) => {
        if (e.key === 'Enter' && e.target === card.el) {
          this.store.seen(card.id);
          this.onLocate(card.alarm);
        }
      },
    }, card.head, card.body, card.actions, card.form);
    return card;
  }

  fill(card, a) {
    card.alarm = a;
    const fresh = this.store.fresh.has(a.id);
    card.el.className = `alarm-card sev-${a.severity} state-${a.state}` + (fresh ? ' fresh' : '') + (isHealth(a) ? ' health' : '');
    card.el.setAttribute('aria-label', `${a.severity} alarm: ${a.rule_name}, ${this.deviceName(a.device_id)}, ${a.state}`);
    replace(card.head,
      h('span', { class: `sev-badge sev-${a.severity}` }, a.severity.toUpperCase()),
      fresh ? h('span', { class: 'new-badge' }, 'NEW') : null,
      h('span', { class: 'alarm-rule' }, a.rule_name || a.kind),
    );
    const peak = a.peak_dose_usvh;
    replace(card.body,
      h('div', null, h('strong', null, this.deviceName(a.device_id)), ' · ', h('span', { class: 'state' }, a.state),
        a.condition_active ? h('span', { class: 'active-dot', title: 'condition still active' }, ' ● active') : h('span', { class: 'muted' }, ' condition ended')),
      h('div', { class: 'muted' }, 'first ', fmtTime(a.first_seen), ' · last seen ', fmtAge(Date.now() - Date.parse(a.last_seen))),
      peak !== undefined && peak !== null && peak > 0
        ? h('div', null, 'peak ', h('span', { class: 'dose-chip', style: { background: doseColor(peak) } }, fmtDose(peak)), ' µSv/h at ', fmtTime(a.peak_time))
        : null,
      a.acked_by ? h('div', { class: 'muted' }, `acknowledged by ${a.acked_by}${a.ack_comment ? ': “' + a.ack_comment + '”' : ''}`) : null,
      a.id < 0 ? h('div', { class: 'provisional', title: 'Raised while the database is unreachable: shown live, stored when it returns' }, 'not stored yet: database unreachable') : null,
    );
    if (card.formOpen) return; // leave the buttons while a form is open
    // Rebuild the buttons only when they change: a button replaced under
    // the pointer between mousedown and mouseup would lose the click.
    const key = `${a.state}/${a.id < 0}`;
    if (card.actionsKey === key) return;
    card.actionsKey = key;
    replace(card.actions,
      h('button', { type: 'button', class: 'btn-small', onclick: () => { this.store.seen(card.id); this.onLocate(card.alarm); } }, 'Locate'),
      a.id > 0 ? h('button', { type: 'button', class: 'btn-small', onclick: () => this.onDetails(card.id) }, 'Details') : null,
      this.canAct && a.state === 'raised'
        ? h('button', { type: 'button', class: 'btn-small primary', 'data-action': 'ack', onclick: () => this.openAck(card) }, 'Acknowledge')
        : null,
      this.canAct && (a.state === 'acknowledged' || this.user.role === 'admin')
        ? h('button', { type: 'button', class: 'btn-small', 'data-action': 'resolve', onclick: () => this.openResolve(card) }, 'Resolve')
        : null,
    );
  }

  closeForm(card) {
    card.formOpen = false;
    card.actionsKey = null;
    replace(card.form);
    if (card.incident) this.fillIncident(card, card.inc);
    else this.fill(card, card.alarm);
  }

  openAck(card) {
    this.seenCard(card);
    card.formOpen = true;
    card.actionsKey = null;
    replace(card.actions);
    const comment = h('input', { type: 'text', name: 'comment', maxlength: '2000', placeholder: 'Comment (optional)', 'aria-label': 'Acknowledge comment' });
    const err = h('p', { class: 'error', role: 'alert' });
    const form = h('form', {
      class: 'inline-form',
      onsubmit: async (e) => {
        e.preventDefault();
        try {
          this.settled(card, await post(this.actionPath(card, 'acknowledge'), { comment: comment.value }));
        } catch (ex) {
          err.textContent = errorText(ex);
        }
      },
    }, comment,
    h('div', { class: 'row' },
      h('button', { type: 'submit', class: 'btn-small primary' }, 'Confirm acknowledge'),
      h('button', { type: 'button', class: 'btn-small', onclick: () => this.closeForm(card) }, 'Cancel')),
    err);
    replace(card.form, form);
    comment.focus();
  }

  openResolve(card) {
    this.seenCard(card);
    card.formOpen = true;
    card.actionsKey = null;
    replace(card.actions);
    const code = h('select', { name: 'code', 'aria-label': 'Adjudication code', required: true },
      h('option', { value: '' }, 'Adjudication…'),
      RESOLVE_CODES.map(([v, label]) => h('option', { value: v }, label)));
    const comment = h('input', { type: 'text', name: 'comment', maxlength: '2000', placeholder: 'Comment', 'aria-label': 'Resolve comment' });
    const err = h('p', { class: 'error', role: 'alert' });
    const form = h('form', {
      class: 'inline-form',
      onsubmit: async (e) => {
        e.preventDefault();
        if (!code.value) {
          err.textContent = 'Choose an adjudication code.';
          return;
        }
        try {
          this.settled(card, await post(this.actionPath(card, 'resolve'), { code: code.value, comment: comment.value }));
        } catch (ex) {
          err.textContent = errorText(ex);
        }
      },
    }, code, comment,
    h('div', { class: 'row' },
      h('button', { type: 'submit', class: 'btn-small primary' }, 'Confirm resolve'),
      h('button', { type: 'button', class: 'btn-small', onclick: () => this.closeForm(card) }, 'Cancel')),
    err);
    replace(card.form, form);
    code.focus();
  }
}
