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

// Time inputs: one format everywhere, ISO 8601 in UTC with a 24-hour
// clock, as fmtTime prints it ("2026-11-22 08:05:00Z"); the browser's date
// pickers would show 12-hour local time in some locales.
export function toInputUTC(d) {
  return fmtTime(new Date(d));
}

const UTC_INPUT = /^\s*(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?\s*(?:Z|UTC|\+00:?00)?\s*$/i;

// fromInputUTC parses "YYYY-MM-DD HH:MM[:SS][Z]" (T instead of the space
// also works) as UTC; null when empty or not a real time.
export function fromInputUTC(s) {
  const m = UTC_INPUT.exec(s || '');
  if (!m) return null;
  const [y, mo, d, hh, mm, ss] = m.slice(1).map((x) => Number(x || 0));
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || hh > 23 || mm > 59 || ss > 59) return null;
  const t = new Date(Date.UTC(y, mo - 1, d, hh, mm, ss));
  return t.getUTCDate() === d ? t : null; // 2026-02-30 is no date
}

// utcInput is a text input for a UTC time that marks itself invalid (and
// says the format) while what is typed does not parse.
export function utcInput(attrs) {
  const el = h('input', { type: 'text', inputmode: 'numeric', spellcheck: 'false', autocomplete: 'off',
    placeholder: 'YYYY-MM-DD HH:MM:SSZ', title: 'UTC, 24-hour: YYYY-MM-DD HH:MM[:SS]Z', class: 'utc-input', ...attrs });
  const check = () => {
    const bad = el.value.trim() !== '' && !fromInputUTC(el.value);
    if (bad) el.setAttribute('aria-invalid', 'true');
    else el.removeAttribute('aria-invalid');
  };
  el.addEventListener('input', check);
  el.addEventListener('blur', () => {
    const t = fromInputUTC(el.value);
    if (t) el.value = toInputUTC(t); // normalise to the one format
    check();
  });
  return el;
}
