// Rules: everyone sees them with their thresholds; operators enable or
// disable, edit and add rules with a form (a fence is picked from the
// list by name; parameters a form does not show are kept as they are).
import { get, post, put, del, errorText, ApiError } from '../api.js';
import { h, replace } from './dom.js';
import { RULE_KINDS, SEVERITIES, describeRule } from '../rulesummary.js';
import { FENCE_KINDS } from '../fences.js';

export class RulesPanel {
  constructor({ user, fences }) {
    this.user = user;
    this.fences = fences;
    this.list = h('div');
    this.editor = h('div');
    this.el = h('section', { class: 'rules' },
      this.canEdit ? h('div', { class: 'row wrap' },
        h('button', { type: 'button', 'data-new-rule': 'zone', onclick: () => this.edit(null, 'zone') }, '+ Zone rule'),
        h('button', { type: 'button', 'data-new-rule': 'level', onclick: () => this.edit(null, 'level') }, '+ Level rule'),
        h('button', { type: 'button', 'data-new-rule': 'fence', onclick: () => this.edit(null, 'fence') }, '+ Fence rule')) : null,
      this.editor, this.list);
  }

  get canEdit() {
    return this.user.role === 'operator' || this.user.role === 'admin';
  }

  async load() {
    try {
      const { rules } = await get('/rules');
      this.rules = rules;
      const fences = this.fences() || [];
      replace(this.list, h('ul', { class: 'rule-list' }, rules.map((r) => h('li', { dataset: { ruleId: String(r.id) } },
        h('span', { class: `sev-badge sev-${r.severity}` }, r.severity), ' ', h('strong', null, r.name),
        r.enabled ? null : h('span', { class: 'muted' }, ' · disabled'),
        h('div', { class: 'rule-summary muted' }, describeRule(r, fences)),
        this.canEdit ? h('span', { class: 'item-actions' },
          h('button', { type: 'button', class: 'btn-small', onclick: () => this.save({ ...r, enabled: !r.enabled }) }, r.enabled ? 'Disable' : 'Enable'),
          h('button', { type: 'button', class: 'btn-small', onclick: () => this.edit(r) }, 'Edit'),
          h('button', { type: 'button', class: 'btn-small danger', onclick: () => this.remove(r) }, 'Delete')) : null))));
    } catch (err) {
      replace(this.list, h('p', { class: 'error' }, errorText(err)));
    }
  }

  edit(rule, kind) {
    const fences = this.fences() || [];
    const first = fences[0];
    const base = rule ? structuredClone(rule) : {
      name: { zone: 'Dose in zone', level: 'Dose level', fence: 'Restricted zone entered' }[kind] || 'Rule',
      kind, severity: kind === 'level' ? 'notice' : 'alarm', enabled: true,
    };
    const k = base.kind;
    const f = {};
    f.name = h('input', { type: 'text', name: 'rule-name', required: true, maxlength: '200', value: base.name, 'aria-label': 'Rule name' });
    f.severity = h('select', { name: 'severity', 'aria-label': 'Severity' }, SEVERITIES.map((s) => h('option', { value: s, selected: s === base.severity }, s)));
    f.enabled = h('input', { type: 'checkbox', name: 'enabled', checked: base.enabled !== false });
    const fenceOptions = (selected) => fences.map((x) => h('option', { value: String(x.properties.id), selected: x.properties.id === selected },
      `${x.properties.name} · ${FENCE_KINDS[x.properties.kind]?.label || x.properties.kind} · #${x.properties.id}`));
    const fields = [];
    const label = (text, input) => h('label', null, h('span', null, text), input);
    if (k === 'level' || k === 'zone') {
      const p = base[k] || {};
      f.threshold = h('input', { type: 'number', name: 'threshold_usvh', min: '0', step: 'any', required: true, value: String(p.threshold_usvh ?? (k === 'zone' ? 0.5 : 1)), 'aria-label': 'Threshold in µSv/h' });
      if (k === 'zone') {
        f.fence = h('select', { name: 'fence_id', required: true, 'aria-label': 'Fence' }, fenceOptions(p.fence_id ?? (first && first.properties.id)));
        fields.push(label('Fence', f.fence));
      }
      fields.push(label('Threshold (µSv/h)', f.threshold));
    } else if (k === 'fence') {
      const p = base.fence || {};
      const events = ['enter', 'exit'].concat(p.event && !['enter', 'exit'].includes(p.event) ? [p.event] : []);
      f.event = h('select', { name: 'event', 'aria-label': 'Event' }, events.map((e) => h('option', { value: e, selected: e === (p.event || 'enter') }, e === 'enter' ? 'entered' : e === 'exit' ? 'left' : e)));
      f.fence = h('select', { name: 'fence_target', 'aria-label': 'Fence' },
        Object.entries(FENCE_KINDS).map(([kk, v]) => h('option', { value: 'kind:' + kk, selected: !p.fence_id && p.fence_kind === kk }, `every ${v.label.toLowerCase()} fence`)),
        fenceOptions(p.fence_id));
      fields.push(label('When a vehicle has', f.event), label('Fence', f.fence));
    } else if (k === 'background') {
      const p = base.background || {};
      f.pvalue = h('input', { type: 'number', name: 'p_value', min: '0', max: '1', step: 'any', value: String(p.p_value ?? 1e-5), 'aria-label': 'p-value' });
      fields.push(label('Alarm when the counts’ tail probability is below (p)', f.pvalue));
    } else if (k === 'silence') {
      const p = base.silence || {};
      f.after = h('input', { type: 'number', name: 'after_min', min: '0.1', step: 'any', value: String((p.after_s ?? 600) / 60), 'aria-label': 'Minutes without a report' });
      fields.push(label('Minutes without a report', f.after));
    }
    const err = h('p', { class: 'error', role: 'alert' });
    const kindLabel = (RULE_KINDS.find(([v]) => v === k) || [k, k])[1];
    replace(this.editor, h('form', { class: 'stack rule-form', 'aria-label': rule ? `Edit rule ${rule.id}` : 'New rule', onsubmit: async (e) => {
      e.preventDefault();
      for (const el of this.editor.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
      const body = { ...base, name: f.name.value.trim(), severity: f.severity.value, enabled: f.enabled.checked };
      if (k === 'level') body.level = { ...base.level, threshold_usvh: Number(f.threshold.value) };
      if (k === 'zone') body.zone = { ...base.zone, fence_id: Number(f.fence.value), threshold_usvh: Number(f.threshold.value) };
      if (k === 'fence') {
        const target = f.fence.value;
        const p = { ...base.fence, event: f.event.value };
        delete p.fence_id;
        delete p.fence_kind;
        if (target.startsWith('kind:')) p.fence_kind = target.slice(5);
        else p.fence_id = Number(target);
        body.fence = p;
      }
      if (k === 'background') body.background = { ...base.background, p_value: Number(f.pvalue.value) };
      if (k === 'silence') body.silence = { ...base.silence, after_s: Math.round(Number(f.after.value) * 60) };
      const msg = await this.save(body);
      if (!msg) {
        replace(this.editor);
        return;
      }
      err.textContent = msg.text;
      const target = /threshold/.test(msg.field) ? f.threshold : /fence/.test(msg.field) ? f.fence : /name/.test(msg.field) ? f.name : /severity/.test(msg.field) ? f.severity : null;
      if (target) target.setAttribute('aria-invalid', 'true');
    } },
    h('h3', null, rule ? `Edit rule #${rule.id}` : 'New rule', h('span', { class: 'muted' }, ` · ${kindLabel}`)),
    label('Name', f.name), label('Severity', f.severity), ...fields,
    h('label', { class: 'check' }, f.enabled, ' Enabled'),
    k === 'zone' && !fences.length ? h('p', { class: 'hint' }, 'Draw a fence first (Fences tab).') : null,
    err, h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary' }, 'Save rule'), h('button', { type: 'button', onclick: () => replace(this.editor) }, 'Cancel'))));
    f.name.focus();
  }

  // save returns '' on success, else {text, field} for the form.
  async save(rule) {
    const { id, ...body } = rule;
    try {
      if (id) await put(`/rules/${id}`, body);
      else await post('/rules', body);
      await this.load();
      return '';
    } catch (err) {
      return { text: errorText(err), field: err instanceof ApiError ? err.field : '' };
    }
  }

  async remove(r) {
    if (!confirm(`Delete rule “${r.name}”? Its alarms stay.`)) return;
    try { await del(`/rules/${r.id}`); } catch (err) { alert(errorText(err)); }
    this.load();
  }
}
