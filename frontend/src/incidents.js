// Incidents: the alarms one radiological event causes, handled as one card
// (live/PROTOCOL.md "incident"). The server groups; this keeps the open
// incidents (snapshot, incident frames, REST polling) and sorts what the
// alarm panel shows: incident cards, alarms not filed into an incident yet,
// and device-health alarms apart.
import { SEVERITY_RANK } from './alarms.js';

// Device-health alarms (silence) are listed apart, at lower priority, and
// do not ring vehicles red.
export const isHealth = (a) => a.kind === 'silence';

// mergeAlarms completes a partial incident frame (PROTOCOL.md revision
// 2026-12d: such a frame has no "alarms", only the "changed_alarms" its
// event changed) with the alarms the incident already had here, newly
// filed ones first as the server lists them. Returns whether the result
// holds all of the incident's "alarm_count" alarms.
export function mergeAlarms(inc, prev) {
  const changed = new Map(inc.changed_alarms.map((a) => [a.id, a]));
  const had = (prev && prev.alarms) || [];
  const known = new Set(had.map((a) => a.id));
  inc.alarms = [...inc.changed_alarms.filter((a) => !known.has(a.id)), ...had.map((a) => changed.get(a.id) || a)];
  delete inc.changed_alarms;
  return inc.alarms.length >= (inc.alarm_count || 0);
}

export class IncidentStore extends EventTarget {
  // fetchIncident(id), if given, resolves to the whole incident (REST);
  // it is asked, once at a time per incident, when a partial frame cannot
  // be completed here (an incident this store did not hold).
  constructor({ fetchIncident } = {}) {
    super();
    this.open = new Map(); // id → incident (raised or acknowledged)
    this.fetchIncident = fetchIncident;
    this.fetching = new Set(); // incident ids being fetched
  }

  refetch(id) {
    if (!this.fetchIncident || this.fetching.has(id)) return;
    this.fetching.add(id);
    this.fetchIncident(id)
      .then((inc) => { if (inc) this.applyLocal(inc); })
      .catch(() => {}) // the next frame or snapshot brings it
      .finally(() => this.fetching.delete(id));
  }

  replaceAll(list) {
    this.open = new Map(list.filter((i) => i.state !== 'resolved').map((i) => [i.id, i]));
    this.emit();
  }

  // applyEvent: one incident frame (idempotent by incident id).
  applyEvent(frame) {
    const inc = frame.incident || {};
    const id = frame.incident_id || inc.id;
    if (!id) return;
    inc.id = id;
    if (inc.changed_alarms && !mergeAlarms(inc, this.open.get(id))) this.refetch(id);
    if (inc.state === 'resolved' || frame.event === 'resolved') this.open.delete(id);
    else this.open.set(id, inc);
    this.emit();
    // Live frames (with an event) also go out as they are: notifications.
    if (frame.event) this.dispatchEvent(new CustomEvent('frame', { detail: frame }));
  }

  // applyLocal: the REST answer of our own acknowledge / resolve.
  applyLocal(inc) {
    this.applyEvent({ incident: inc, incident_id: inc.id });
  }

  emit() {
    this.dispatchEvent(new Event('change'));
  }
}

// stateOf: an incident is raised while any of its open alarms is, by the
// freshest alarm states we have.
function summarize(inc, openAlarms) {
  const alarms = (inc.alarms || []).map((a) => openAlarms.get(a.id) || a);
  const open = alarms.filter((a) => a.state !== 'resolved');
  let state = inc.state;
  if (open.some((a) => a.state === 'raised')) state = 'raised';
  else if (open.length) state = 'acknowledged';
  else state = 'resolved';
  let severity = inc.severity;
  for (const a of open) if ((SEVERITY_RANK[a.severity] || 0) > (SEVERITY_RANK[severity] || 0)) severity = a.severity;
  return { ...inc, state, severity, alarms };
}

const STATE_RANK = { raised: 0, acknowledged: 1, resolved: 2 };

function compareCards(a, b) {
  const x = a.item, y = b.item;
  const s = (STATE_RANK[x.state] ?? 3) - (STATE_RANK[y.state] ?? 3);
  if (s) return s;
  const r = (SEVERITY_RANK[y.severity] || 0) - (SEVERITY_RANK[x.severity] || 0);
  if (r) return r;
  return Date.parse(y.last_seen) - Date.parse(x.last_seen) || b.key.localeCompare(a.key);
}

// groupCards turns the open alarms and incidents into the panel's cards:
// {main: [{type:'incident'|'alarm', key, item}], health: [alarm…]}.
// Unacknowledged first, then most severe, then newest. An open alarm that
// no open incident holds (not filed yet, or the database is away) gets its
// own card, so no alarm is ever hidden. Alarms in pinned (ids) keep their
// own card too: someone is typing in its form, the card must not move.
export function groupCards(openAlarms, openIncidents, pinned = new Set()) {
  const filed = new Set();
  const main = [];
  for (const inc of openIncidents.values()) {
    const s = summarize({ ...inc, alarms: (inc.alarms || []).filter((a) => !pinned.has(a.id)) }, openAlarms);
    if (!s.alarms.length) continue;
    if (s.state === 'resolved') continue;
    for (const a of s.alarms) filed.add(a.id);
    main.push({ type: 'incident', key: `i${inc.id}`, item: s });
  }
  const health = [];
  for (const a of openAlarms.values()) {
    if (isHealth(a)) health.push(a);
    else if (!filed.has(a.id)) main.push({ type: 'alarm', key: `a${a.id}`, item: a });
  }
  main.sort(compareCards);
  health.sort((a, b) => compareCards({ item: a, key: `a${a.id}` }, { item: b, key: `a${b.id}` }));
  return { main, health };
}
