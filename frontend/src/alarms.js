// Open alarms: the list (from the live snapshot, alarm frames or REST
// polling), new-alarm cues, and the panel with acknowledge / resolve.
import { post, errorText } from './api.js';
import { h, replace, fmtTime, fmtAge } from './ui/dom.js';
import { doseColor, fmtDose } from './dose.js';
import { beep } from './sound.js';

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
    this.fresh.add(a.id);
    this.dispatchEvent(new CustomEvent('new', { detail: a }));
  }

  seen(id) {
    if (this.fresh.delete(id)) this.emit();
  }

  sorted() {
    return [...this.open.values()].sort(compareAlarms);
  }

  deviceIds(state) {
    const list = [...this.open.values()].filter((a) => !state || a.state === state);
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

// AlarmPanel renders the open list. Cards are kept per alarm id so that a
// half-typed comment survives the updates that keep arriving.
export class AlarmPanel {
  constructor({ store, user, deviceName, onLocate, onDetails }) {
    this.store = store;
    this.user = user;
    this.deviceName = deviceName;
    this.onLocate = onLocate;
    this.onDetails = onDetails;
    this.cards = new Map();
    this.list = h('ol', { class: 'alarm-list', 'aria-live': 'polite', 'aria-label': 'Open alarms' });
    this.empty = h('p', { class: 'empty' }, 'No open alarms.');
    this.el = h('section', { class: 'alarms' }, this.empty, this.list);
    store.addEventListener('change', () => this.render());
    store.addEventListener('replaced', (e) => this.rekey(e.detail.from, e.detail.to));
    store.addEventListener('new', (e) => beep(e.detail.severity));
    this.render();
  }

  get canAct() {
    return this.user.role === 'operator' || this.user.role === 'admin';
  }

  render() {
    const alarms = this.store.sorted();
    this.empty.hidden = alarms.length > 0;
    const keep = new Set(alarms.map((a) => a.id));
    for (const [id, card] of this.cards) {
      if (!keep.has(id)) {
        card.el.remove();
        this.cards.delete(id);
      }
    }
    let prev = null;
    for (const a of alarms) {
      let card = this.cards.get(a.id);
      if (!card) {
        card = this.makeCard(a);
        this.cards.set(a.id, card);
      }
      this.fill(card, a);
      const want = prev ? prev.nextSibling : this.list.firstChild;
      if (want !== card.el) this.list.insertBefore(card.el, want);
      prev = card.el;
    }
  }

  // rekey keeps a provisional alarm's card (and a half-typed comment) for
  // its stored version.
  rekey(from, to) {
    const card = this.cards.get(from);
    if (!card || this.cards.has(to)) return;
    this.cards.delete(from);
    card.id = to;
    card.el.dataset.alarmId = String(to);
    card.actionsKey = null;
    this.cards.set(to, card);
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
    card.el.className = `alarm-card sev-${a.severity} state-${a.state}` + (fresh ? ' fresh' : '');
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
    this.fill(card, card.alarm);
  }

  openAck(card) {
    this.store.seen(card.id);
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
          const { alarm } = await post(`/alarms/${card.id}/acknowledge`, { comment: comment.value });
          card.formOpen = false;
          card.actionsKey = null;
          replace(card.form);
          this.store.applyLocal(alarm);
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
    this.store.seen(card.id);
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
          const { alarm } = await post(`/alarms/${card.id}/resolve`, { code: code.value, comment: comment.value });
          card.formOpen = false;
          card.actionsKey = null;
          replace(card.form);
          this.store.applyLocal(alarm);
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
