// Login form. Resolves with the user once the server accepted the password.
import { post, errorText } from '../api.js';
import { h } from './dom.js';

export function loginView(onLogin) {
  const user = h('input', { type: 'text', name: 'username', autocomplete: 'username', required: true, id: 'login-user' });
  const pass = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true, id: 'login-pass' });
  const err = h('p', { class: 'error', role: 'alert' });
  const btn = h('button', { type: 'submit', class: 'primary' }, 'Log in');
  const form = h('form', { class: 'login-card', 'aria-label': 'Log in', onsubmit: async (e) => {
    e.preventDefault();
    err.textContent = '';
    btn.disabled = true;
    try {
      const res = await post('/login', { username: user.value.trim(), password: pass.value }, { quiet401: true });
      onLogin(res.user);
    } catch (ex) {
      err.textContent = errorText(ex);
      pass.select();
    } finally {
      btn.disabled = false;
    }
  } },
  h('h1', null, h('span', { class: 'logo-mark', 'aria-hidden': 'true' }, '☢'), ' RadTrack'),
  h('p', { class: 'muted' }, 'Control room'),
  h('label', { for: 'login-user' }, 'Username'), user,
  h('label', { for: 'login-pass' }, 'Password'), pass,
  err, btn);
  setTimeout(() => user.focus(), 0);
  return h('main', { class: 'login' }, form);
}
