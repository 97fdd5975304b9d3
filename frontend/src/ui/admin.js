// Admin: users (create, role, disable, reset password), devices (create,
// rotate token, revoke; tokens are shown once) and the audit log.
import { get, post, patch, errorText } from '../api.js';
import { h, replace, fmtTime } from './dom.js';

const ROLES = ['viewer', 'operator', 'admin'];

export class AdminPanel {
  constructor({ me, onDevicesChanged }) {
    this.me = me;
    this.onDevicesChanged = onDevicesChanged;
    this.users = h('div');
    this.devices = h('div');
    this.audit = h('div');
    this.secret = h('div', { class: 'secret', role: 'status' });
    this.el = h('section', { class: 'admin' },
      this.secret,
      h('h3', null, 'Users'), this.userForm(), this.users,
      h('h3', null, 'Devices'), this.deviceForm(), this.devices,
      h('h3', null, 'Audit log ', h('button', { type: 'button', class: 'btn-small', onclick: () => this.loadAudit() }, 'Refresh')), this.audit);
  }

  load() {
    this.loadUsers();
    this.loadDevices();
    this.loadAudit();
  }

  showSecret(text) {
    replace(this.secret, h('p', null, text), h('button', { type: 'button', class: 'btn-small', onclick: () => replace(this.secret) }, 'Hide'));
  }

  userForm() {
    const name = h('input', { type: 'text', placeholder: 'username', 'aria-label': 'New username', required: true });
    const pass = h('input', { type: 'password', placeholder: 'password', 'aria-label': 'New user password', required: true, autocomplete: 'new-password' });
    const role = h('select', { 'aria-label': 'New user role' }, ROLES.map((r) => h('option', { value: r }, r)));
    const err = h('p', { class: 'error', role: 'alert' });
    return h('form', { class: 'row wrap', onsubmit: async (e) => {
      e.preventDefault();
      err.textContent = '';
      try {
        await post('/users', { username: name.value.trim(), password: pass.value, role: role.value });
        name.value = pass.value = '';
        this.loadUsers();
      } catch (ex) { err.textContent = errorText(ex); }
    } }, name, pass, role, h('button', { type: 'submit', class: 'primary' }, 'Add user'), err);
  }

  async loadUsers() {
    try {
      const { users } = await get('/users');
      replace(this.users, h('table', null, h('tbody', null, users.map((u) => {
        const err = h('span', { class: 'error' });
        const act = async (body) => {
          try { await patch(`/users/${u.id}`, body); this.loadUsers(); } catch (ex) { err.textContent = errorText(ex); }
        };
        return h('tr', null,
          h('td', null, u.username, u.disabled_at ? h('span', { class: 'muted' }, ' (disabled)') : ''),
          h('td', null, h('select', { 'aria-label': `Role of ${u.username}`, disabled: u.id === this.me.id, onchange: (e) => act({ role: e.target.value }) },
            ROLES.map((r) => h('option', { value: r, selected: r === u.role }, r)))),
          h('td', null,
            u.id === this.me.id ? null : h('button', { type: 'button', class: 'btn-small', onclick: () => act({ disabled: !u.disabled_at }) }, u.disabled_at ? 'Enable' : 'Disable'),
            h('button', { type: 'button', class: 'btn-small', onclick: () => {
              const p = prompt(`New password for ${u.username}`);
              if (p) act({ password: p });
            } }, 'Password…'), err));
      }))));
    } catch (err) { replace(this.users, h('p', { class: 'error' }, errorText(err))); }
  }

  deviceForm() {
    const name = h('input', { type: 'text', placeholder: 'name', 'aria-label': 'New device name', required: true });
    const uid = h('input', { type: 'text', placeholder: 'uid (optional)', 'aria-label': 'New device uid' });
    const group = h('input', { type: 'text', placeholder: 'group', 'aria-label': 'New device group' });
    const err = h('p', { class: 'error', role: 'alert' });
    return h('form', { class: 'row wrap', onsubmit: async (e) => {
      e.preventDefault();
      err.textContent = '';
      try {
        const { device, token } = await post('/devices', { name: name.value.trim(), uid: uid.value.trim(), group: group.value.trim() });
        name.value = uid.value = group.value = '';
        this.showSecret(`Token for ${device.name} (shown once): ${token}`);
        this.loadDevices();
      } catch (ex) { err.textContent = errorText(ex); }
    } }, name, uid, group, h('button', { type: 'submit', class: 'primary' }, 'Add device'), err);
  }

  async loadDevices() {
    try {
      const { devices } = await get('/devices');
      this.onDevicesChanged(devices);
      replace(this.devices, h('table', null, h('tbody', null, devices.map((d) => h('tr', null,
        h('td', null, d.name, h('span', { class: 'muted' }, ` ${d.uid}${d.group ? ' · ' + d.group : ''}`), d.revoked_at ? h('span', { class: 'error' }, ' revoked') : ''),
        h('td', null, d.revoked_at ? null : [
          h('button', { type: 'button', class: 'btn-small', onclick: async () => {
            if (!confirm(`Rotate the token of ${d.name}? The old one stops working.`)) return;
            try { const { token } = await post(`/devices/${d.id}/rotate-token`); this.showSecret(`New token for ${d.name} (shown once): ${token}`); } catch (ex) { this.showSecret(errorText(ex)); }
          } }, 'Rotate token'),
          h('button', { type: 'button', class: 'btn-small danger', onclick: async () => {
            if (!confirm(`Revoke ${d.name}? It can no longer report.`)) return;
            try { await post(`/devices/${d.id}/revoke`); this.loadDevices(); } catch (ex) { this.showSecret(errorText(ex)); }
          } }, 'Revoke')]))))));
    } catch (err) { replace(this.devices, h('p', { class: 'error' }, errorText(err))); }
  }

  async loadAudit() {
    try {
      const { entries } = await get('/audit?limit=100');
      replace(this.audit, h('table', { class: 'audit' }, h('tbody', null, entries.map((e) => h('tr', null,
        h('td', { class: 'muted' }, fmtTime(e.time)), h('td', null, e.username || '—'), h('td', null, e.action), h('td', null, e.target))))));
    } catch (err) { replace(this.audit, h('p', { class: 'error' }, errorText(err))); }
  }
}
