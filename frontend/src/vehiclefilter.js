// The vehicle list's states and filters (pure, unit-tested).
export const MOVING_MPS = 0.5; // below this a vehicle counts as stopped (GPS drift)

export const STATES = [
  ['', 'All'],
  ['alarm', 'In alarm'],
  ['moving', 'Moving'],
  ['stopped', 'Stopped'],
  ['stale', 'Stale'],
];

// vehicleState: "stale" (no fix for a minute, or never), "moving" or
// "stopped"; alarm is reported apart, as a vehicle in alarm also moves.
export function vehicleState(v) {
  if (!v || v.t === null || v.t === undefined || v.stale) return 'stale';
  return v.spd !== null && v.spd !== undefined && v.spd >= MOVING_MPS ? 'moving' : 'stopped';
}

// filterVehicles returns the rows matching the search text (name or uid,
// case-insensitive), the group, the state ("alarm" = has an open alarm)
// and the sites (a Set of site ids, e.g. a subtree; null: all), vehicles
// in alarm first, then by name.
export function filterVehicles(rows, { q = '', group = '', state = '', sites = null } = {}) {
  const needle = q.trim().toLowerCase();
  return rows
    .filter((r) => !sites || sites.has(r.site))
    .filter((r) => !needle || (r.name || '').toLowerCase().includes(needle) || (r.uid || '').toLowerCase().includes(needle))
    .filter((r) => !group || r.group === group)
    .filter((r) => !state || (state === 'alarm' ? r.alarm : r.state === state))
    .sort((a, b) => (b.alarm ? 1 : 0) - (a.alarm ? 1 : 0) || (a.name || '').localeCompare(b.name || '', undefined, { numeric: true }));
}
