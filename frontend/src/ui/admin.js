// Admin: users (create, role, disable, reset password; their API tokens,
// revocable), devices (create, rotate token, revoke; tokens are shown once,
// with a Copy button; online state and last seen) and the audit log.
import { get, post, patch, del, errorText } from '../api.js';
import { h, replace, fmtTime, fmtAge } from './dom.js';
import { siteOptions } from '../sites.js';

const ROLES = ['viewer', 'operator', 'admin'];

export class AdminPanel {
  constructor({ me, onDevicesChanged }) {
    this.me = me;
    this.onDevicesChanged = onDevicesChanged;
    this.users = h('div');
    this.devices = h('div');
    this.audit = h('div');
    this.sites = h('div', { class: 'site-tree' });
    this.siteList = [];
    this.secret = h('div', { class: 'secret', role: 'status' });
    this.el = h('section', { class: 'admin' },
      this.secret,
      h('h3', null, 'Sites'), this.sites,
      h('h3', null, 'Users'), this.userForm(), this.users,
      h('h3', null, 'Devices'), this.deviceForm(), this.devices,
      h('h3', null, 'Audit log ', h('button', { type: 'button', class: 'btn-small', onclick: () => this.loadAudit() }, 'Refresh')), this.audit);
  }

  load() {
    this.loadSites().then(() => this.loadDevices());
    this.loadUsers();
    this.loadAudit();
  }

  // loadSites shows the admin's subtree as an indented tree with each
  // site's vehicle count, and (for the global admin) a form to add a site.
  async loadSites() {
    try {
      const [{ sites }, { devices }] = await Promise.all([get('/sites'), get('/devices')]);
      this.siteList = sites;
      const count = new Map();
      for (const d of devices) count.set(d.site_id, (count.get(d.site_id) || 0) + 1);
      const opts = siteOptions(sites);
      const parent = h('select', { 'aria-label': 'Parent site' }, opts.map((o) => h('option', { value: String(o.id) }, o.label)));
      const name = h('input', { type: 'text', placeholder: 'new site name', 'aria-label': 'New site name', required: true });
      const err = h('span', { class: 'error', role: 'alert' });
      replace(this.sites,
        h('ul', { class: 'site-tree', 'aria-label': 'Site tree' }, opts.map((o) => h('li', { style: { paddingLeft: `${o.depth * 1.2}em` }, dataset: { siteId: String(o.id) } },
          o.label.trim(), h('span', { class: 'muted' }, ` · ${count.get(o.id) || 0} vehicles`)))),
        h('form', { class: 'row wrap', onsubmit: async (e) => {
          e.preventDefault();
          err.textContent = '';
          try {
            await post('/sites', { parent_id: Number(parent.value), name: name.value.trim() });
            name.value = '';
            this.load();
          } catch (ex) { err.textContent = errorText(ex); }
        } }, parent, name, h('button', { type: 'submit', class: 'primary' }, 'Add site'), err));
    } catch (err) { replace(this.sites, h('p', { class: 'error' }, errorText(err))); }
  }

  // siteSelect moves a device to another site of the admin's subtree.
  siteSelect(d) {
    if (this.siteList.length < 2) return null;
    return h('select', { 'aria-label': `Site of ${d.name}`, onchange: async (e) => {
      try { await post(`/devices/${d.id}/site`, { site_id: Number(e.target.value) }); this.load(); } catch (ex) { this.showSecret(errorText(ex)); }
    } }, siteOptions(this.siteList).map((o) => h('option', { value: String(o.id), selected: o.id === d.site_id }, o.label)));
  }

  // showSecret shows a message once; with a token, a Copy button puts the
  // token on the clipboard (it is never shown again).
  showSecret(text, token) {
    const copied = h('span', { class: 'muted', role: 'status' });
    const code = token ? h('code', { class: 'token' }, token) : null;
    replace(this.secret, h('p', null, text, code ? ' ' : '', code),
      h('div', { class: 'row' },
        token ? h('button', { type: 'button', class: 'btn-small primary', 'data-action': 'copy-token', onclick: async () => {
          try {
            await navigator.clipboard.writeText(token);
            copied.textContent = 'Copied.';
          } catch {
            // No clipboard permission (plain HTTP): select it for Ctrl+C.
            const range = document.createRange();
            range.selectNodeContents(code);
            const sel = getSelection();
            sel.removeAllRanges();
            sel.addRange(range);
            copied.textContent = 'Selected: press Ctrl+C.';
          }
        } }, 'Copy token') : null,
        h('button', { type: 'button', class: 'btn-small', onclick: () => replace(this.secret) }, 'Hide'), copied));
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
      const [{ users }, { tokens }] = await Promise.all([get('/users'), get('/tokens?user_id=all')]);
      const byUser = new Map();
      for (const t of tokens) byUser.set(t.user_id, [...(byUser.get(t.user_id) || []), t]);
      replace(this.users, h('table', null, h('tbody', null, users.map((u) => {
        const err = h('span', { class: 'error' });
        const act = async (body) => {
          try { await patch(`/users/${u.id}`, body); this.loadUsers(); } catch (ex) { err.textContent = errorText(ex); }
        };
        return [h('tr', null,
          h('td', null, u.username, u.disabled_at ? h('span', { class: 'muted' }, ' (disabled)') : ''),
          h('td', null, h('select', { 'aria-label': `Role of ${u.username}`, disabled: u.id === this.me.id, onchange: (e) => act({ role: e.target.value }) },
            ROLES.map((r) => h('option', { value: r, selected: r === u.role }, r)))),
          h('td', null,
            u.id === this.me.id ? null : h('button', { type: 'button', class: 'btn-small', onclick: () => act({ disabled: !u.disabled_at }) }, u.disabled_at ? 'Enable' : 'Disable'),
            h('button', { type: 'button', class: 'btn-small', onclick: () => {
              const p = prompt(`New password for ${u.username} (ends their sessions and revokes their API tokens)`);
              if (p) act({ password: p });
            } }, 'Password…'), err)),
        this.tokenRows(u, byUser.get(u.id) || [])];
      }))));
    } catch (err) { replace(this.users, h('p', { class: 'error' }, errorText(err))); }
  }

  // tokenRows lists a user's API tokens under the user, each revocable. A
  // revocation the database could not take yet answers 202: it is refused
  // at once and stored when the database is back.
  tokenRows(u, tokens) {
    return tokens.map((t) => {
      const note = h('span', { class: 'muted' });
      return h('tr', { class: 'token-row' },
        h('td', { class: 'muted' }, `↳ token “${t.name}”`),
        h('td', { class: 'muted' }, `${t.role} · expires ${t.expires_at ? fmtTime(t.expires_at) : 'never'} · last used ${fmtTime(t.last_used_at)}`),
        h('td', null, h('button', { type: 'button', class: 'btn-small danger', onclick: async () => {
          if (!confirm(`Revoke the API token “${t.name}” of ${u.username}? Integrations using it stop working.`)) return;
          try {
            const pending = await del(`/tokens/${t.id}`);
            if (pending) note.textContent = ' revoked; stored when the database is back';
            else this.loadUsers();
          } catch (ex) { note.textContent = ' ' + errorText(ex); }
        } }, 'Revoke'), note));
    });
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
        this.showSecret(`Token for ${device.name} (shown once):`, token);
        this.loadDevices();
      } catch (ex) { err.textContent = errorText(ex); }
    } }, name, uid, group, h('button', { type: 'submit', class: 'primary' }, 'Add device'), err);
  }

  async loadDevices() {
    try {
      const { devices } = await get('/devices');
      this.onDevicesChanged(devices);
      const now = Date.now();
      replace(this.devices, h('table', { class: 'device-table' }, h('thead', null, h('tr', null, ['Device', 'State', 'Last seen (UTC)', ''].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', null, devices.map((d) => h('tr', { dataset: { deviceId: String(d.id) } },
        h('td', null, d.name, h('span', { class: 'muted' }, ` ${d.uid}${d.group ? ' · ' + d.group : ''}`), d.revoked_at ? h('span', { class: 'error' }, ' revoked') : ''),
        h('td', null, h('span', { class: d.online ? 'online' : 'offline' }, d.online ? '● online' : '○ offline')),
        h('td', { class: 'muted', title: d.last_seen ? fmtTime(d.last_seen) : '' }, d.last_seen ? `${fmtTime(d.last_seen)} (${fmtAge(now - Date.parse(d.last_seen))})` : 'never'),
        h('td', null, d.revoked_at ? null : [
          this.siteSelect(d),
          h('button', { type: 'button', class: 'btn-small', onclick: async () => {
            if (!confirm(`Rotate the token of ${d.name}? The old one stops working.`)) return;
            try { const { token } = await post(`/devices/${d.id}/rotate-token`); this.showSecret(`New token for ${d.name} (shown once):`, token); } catch (ex) { this.showSecret(errorText(ex)); }
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
