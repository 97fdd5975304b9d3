// One line per rule for the rule list: its threshold and where it applies
// (pure, unit-tested). fences: the fence Features of GET /api/v1/fences.
export const RULE_KINDS = [
  ['level', 'Dose level (anywhere)'],
  ['zone', 'Dose level inside a fence'],
  ['fence', 'Fence entered / left'],
  ['background', 'Above local background'],
  ['silence', 'Device silent'],
];
export const SEVERITIES = ['info', 'notice', 'warning', 'alarm', 'critical'];

export function fenceLabel(fences, id) {
  const f = (fences || []).find((x) => x.properties.id === id);
  return f ? `“${f.properties.name}” (#${id})` : `fence #${id} (deleted)`;
}

const num = (v) => (v === undefined || v === null ? '?' : String(v));

export function describeRule(r, fences) {
  switch (r.kind) {
    case 'level':
      return `≥ ${num(r.level && r.level.threshold_usvh)} µSv/h anywhere`;
    case 'zone':
      return `≥ ${num(r.zone && r.zone.threshold_usvh)} µSv/h inside ${fenceLabel(fences, r.zone && r.zone.fence_id)}`;
    case 'fence': {
      const p = r.fence || {};
      const what = p.fence_id ? fenceLabel(fences, p.fence_id) : p.fence_kind ? `any ${p.fence_kind} fence` : 'any fence';
      return `${p.event || '?'} ${what}`;
    }
    case 'background':
      return `counts above the local background, p < ${num(r.background && r.background.p_value)}`;
    case 'silence': {
      const s = r.silence && r.silence.after_s;
      return `no report for ${s >= 60 ? `${s / 60} min` : `${num(s)} s`}`;
    }
    default:
      return r.kind;
  }
}
