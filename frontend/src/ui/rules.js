// Rules: everyone sees them; operators enable/disable, edit (as JSON, so
// every rule kind and parameter is reachable) and add zone/level rules.
import { get, post, put, del, errorText } from '../api.js';
import { h, replace } from './dom.js';

export class RulesPanel {
  constructor({ user, fences }) {
    this.user = user;
    this.fences = fences;
    this.list = h('div');
    this.editor = h('div');
    this.el = h('section', { class: 'rules' },
      this.canEdit ? h('div', { class: 'row wrap' },
        h('button', { type: 'button', onclick: () => this.edit(null, 'zone') }, '+ Zone rule'),
        h('button', { type: 'button', onclick: () => this.edit(null, 'level') }, '+ Level rule')) : null,
      this.editor, this.list);
  }

  get canEdit() {
    return this.user.role === 'operator' || this.user.role === 'admin';
  }

  async load() {
    try {
      const { rules } = await get('/rules');
      this.rules = rules;
      replace(this.list, h('ul', { class: 'rule-list' }, rules.map((r) => h('li', null,
        h('span', { class: `sev-badge sev-${r.severity}` }, r.severity), ' ', h('strong', null, r.name),
        h('span', { class: 'muted' }, ` · ${r.kind}${r.enabled ? '' : ' · disabled'}`),
        this.canEdit ? h('span', { class: 'item-actions' },
          h('button', { type: 'button', class: 'btn-small', onclick: () => this.save({ ...r, enabled: !r.enabled }) }, r.enabled ? 'Disable' : 'Enable'),
          h('button', { type: 'button', class: 'btn-small', onclick: () => this.edit(r) }, 'Edit'),
          h('button', { type: 'button', class: 'btn-small danger', onclick: () => this.remove(r) }, 'Delete')) : null))));
    } catch (err) {
      replace(this.list, h('p', { class: 'error' }, errorText(err)));
    }
  }

  edit(rule, kind) {
    const fence = (this.fences() || [])[0];
    const tmpl = rule ? { ...rule } : kind === 'zone'
      ? { name: 'Dose in zone', kind: 'zone', severity: 'alarm', enabled: true, zone: { fence_id: fence ? fence.properties.id : 0, threshold_usvh: 0.5 } }
      : { name: 'Dose level', kind: 'level', severity: 'notice', enabled: true, level: { threshold_usvh: 0.5 } };
    const id = tmpl.id;
    delete tmpl.id;
    const text = h('textarea', { rows: '9', 'aria-label': 'Rule JSON', spellcheck: 'false' }, JSON.stringify(tmpl, null, 2));
    const err = h('p', { class: 'error', role: 'alert' });
    replace(this.editor, h('form', { class: 'stack', onsubmit: async (e) => {
      e.preventDefault();
      let body;
      try { body = JSON.parse(text.value); } catch (ex) { err.textContent = 'Invalid JSON: ' + ex.message; return; }
      const msg = await this.save(id ? { ...body, id } : body);
      if (msg) err.textContent = msg; else replace(this.editor);
    } }, h('h3', null, id ? `Edit rule #${id}` : 'New rule'),
    h('p', { class: 'hint' }, 'Kinds: level, zone (fence_id), fence (event enter/exit), background, silence. Severity: info, notice, warning, alarm, critical.'),
    text, err, h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary' }, 'Save rule'), h('button', { type: 'button', onclick: () => replace(this.editor) }, 'Cancel'))));
  }

  async save(rule) {
    const { id, ...body } = rule;
    try {
      if (id) await put(`/rules/${id}`, body);
      else await post('/rules', body);
      await this.load();
      return '';
    } catch (err) {
      return errorText(err);
    }
  }

  async remove(r) {
    if (!confirm(`Delete rule “${r.name}”? Its alarms stay.`)) return;
    try { await del(`/rules/${r.id}`); } catch (err) { alert(errorText(err)); }
    this.load();
  }
}
