// h builds DOM elements: h('button', {class: 'x', onclick: fn}, 'Text').
// Attributes starting with "on" become listeners; booleans toggle
// attributes; children may be strings, nodes, arrays, null or false.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') {
        el.addEventListener(k.slice(2), v);
      } else if (k === 'class') {
        el.className = v;
      } else if (k === 'style' && typeof v === 'object') {
        Object.assign(el.style, v);
      } else if (k === 'dataset') {
        Object.assign(el.dataset, v);
      } else if (k === 'value' || k === 'checked' || k === 'selected') {
        el[k] = v;
      } else {
        el.setAttribute(k, v === true ? '' : String(v));
      }
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

export function replace(el, ...children) {
  clear(el);
  append(el, children);
  return el;
}

// Time formatting: the control room works in UTC, like the server.
export function fmtTime(t) {
  if (!t) return '—';
  const d = t instanceof Date ? t : new Date(t);
  if (Number.isNaN(d.getTime()) || d.getUTCFullYear() < 1971) return '—';
  return d.toISOString().replace('T', ' ').slice(0, 19) + 'Z';
}

export function fmtAge(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

export function fmtNum(v, digits = 2) {
  return v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(digits);
}

// datetime-local inputs hold UTC here (the labels say so).
export function toInputUTC(d) {
  return new Date(d).toISOString().slice(0, 16);
}
export function fromInputUTC(s) {
  if (!s) return null;
  const d = new Date(s + ':00Z');
  return Number.isNaN(d.getTime()) ? null : d;
}
