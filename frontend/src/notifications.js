// Alarm alerts on this device. The "Alerts" control explains why it asks,
// then asks the browser for notification permission, subscribes with the
// server's VAPID key (pushManager) and registers the subscription
// (POST /api/v1/notify/me/contacts): the service worker then shows pushes
// while the app is closed. Where no push service is reachable (air-gapped
// networks, a browser without push), the open app keeps its live socket
// and shows a notification itself on each new incident frame, with sound
// and vibration.
import { get, post, errorText } from './api.js';
import { h } from './ui/dom.js';
import { ready } from './pwa.js';
import { beep } from './sound.js';
import { fmtDose } from './dose.js';
import { SEVERITY_RANK } from './alarms.js';

export const Mode = { UNSUPPORTED: 'unsupported', OFF: 'off', BLOCKED: 'blocked', LOCAL: 'local', PUSH: 'push' };

// alertsLabel says what the top-bar control shows for a mode (short: on
// a phone). Pure.
export function alertsLabel(mode) {
  switch (mode) {
    case Mode.PUSH: return { text: 'Alerts on', short: 'Alerts ✓', title: 'Alarms reach this device as notifications, also when RadTrack is closed' };
    case Mode.LOCAL: return { text: 'Alerts (app open)', short: 'Alerts', title: 'No push service: alarms notify only while RadTrack is open' };
    case Mode.BLOCKED: return { text: 'Alerts blocked', short: 'Alerts ✕', title: 'Notifications are blocked in this browser\'s site settings' };
    case Mode.UNSUPPORTED: return { text: 'No alerts', short: 'Alerts ✕', title: 'This browser cannot show notifications' };
    default: return { text: 'Enable alerts', short: 'Alerts?', title: 'Get alarm notifications on this device' };
  }
}

// b64urlBytes decodes the VAPID public key for pushManager.subscribe.
export function b64urlBytes(s) {
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4);
  const bin = atob(b64);
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

// subscriptionBody is what the server stores: endpoint and keys only
// (toJSON() also has expirationTime, which the server does not take).
export function subscriptionBody(sub) {
  const j = sub.toJSON();
  return { kind: 'push', subscription: { endpoint: j.endpoint, keys: { p256dh: j.keys.p256dh, auth: j.keys.auth } } };
}

const SEV = { critical: 'CRITICAL', alarm: 'ALARM', warning: 'WARNING', notice: 'NOTICE', info: 'INFO' };

// incidentNotification: the notification the open app shows for an
// incident frame, worded as the service worker words a push (severity,
// vehicles, peak dose, place), with the same tag so a push for the same
// incident replaces it instead of adding a second. Pure.
export function incidentNotification(frame, deviceName) {
  const inc = frame.incident || {};
  const id = frame.incident_id || inc.id;
  const sev = SEV[inc.severity] || String(inc.severity || 'incident').toUpperCase();
  const ids = [...new Set([inc.peak_device_id, ...(inc.alarms || []).map((a) => a.device_id), frame.device_id].filter(Boolean))];
  const vehicles = ids.slice(0, 3).map(deviceName).join(', ') + (ids.length > 3 ? ` +${ids.length - 3}` : '');
  const dose = Number.isFinite(inc.peak_dose_usvh) ? `${fmtDose(inc.peak_dose_usvh)} µSv/h` : 'no dose reading';
  const place = inc.peak_gps_valid !== false && (inc.peak_lat || inc.peak_lon)
    ? `at ${inc.peak_lat.toFixed(5)}, ${inc.peak_lon.toFixed(5)}` : 'position unknown';
  const rule = (inc.alarms || []).find((a) => a.rule_name)?.rule_name;
  const again = frame.event === 'realarm' ? ' (again)' : '';
  return {
    title: `${sev}${again}: ${rule || `incident ${id}`} — ${vehicles || 'unknown vehicle'}`,
    options: {
      body: [`${sev} · ${vehicles || 'unknown vehicle'}`, `Peak ${dose}`, place].join('\n'),
      tag: `incident-${id}`,
      renotify: true,
      requireInteraction: inc.severity === 'alarm' || inc.severity === 'critical',
      vibrate: [300, 120, 300, 120, 600],
      icon: '/icons/icon-192.png',
      badge: '/icons/badge-96.png',
      actions: [{ action: 'acknowledge', title: 'Acknowledge' }],
      data: { incident: id, severity: inc.severity || '' },
    },
  };
}

// pages says whether an incident frame alerts this device: a new incident,
// a re-alarm, or a raised incident whose severity rose above what this
// device was last alerted with (a notice that became an OIL3 alarm a
// second later). notified (incident id → severity rank alerted) is
// updated.
export function pages(frame, notified) {
  const inc = (frame && frame.incident) || {};
  const id = frame && (frame.incident_id || inc.id);
  if (!id) return false;
  if (frame.event === 'resolved' || frame.event === 'acknowledged') {
    notified.delete(id);
    return false;
  }
  const rank = SEVERITY_RANK[inc.severity] || 0;
  const prev = notified.get(id);
  const page = frame.event === 'raised' || frame.event === 'realarm'
    || (inc.state === 'raised' && prev !== undefined && rank > prev);
  if (page) notified.set(id, rank);
  return page;
}

export class Alerts extends EventTarget {
  constructor({ deviceName, status }) {
    super();
    this.deviceName = deviceName;
    this.status = status;
    this.notified = new Map(); // incident id → severity rank alerted
    this.mode = !('Notification' in window) ? Mode.UNSUPPORTED
      : Notification.permission === 'denied' ? Mode.BLOCKED
        : Notification.permission === 'granted' ? Mode.LOCAL : Mode.OFF;
    this.btn = h('button', { type: 'button', class: 'btn-small alerts-btn', 'aria-haspopup': 'dialog', onclick: () => this.openDialog() });
    this.msg = h('p', { class: 'hint alerts-msg', role: 'status' });
    this.allowBtn = h('button', { type: 'button', class: 'primary', onclick: () => this.enable() }, 'Allow alerts');
    this.testBtn = h('button', { type: 'button', onclick: () => this.test() }, 'Send a test');
    this.dialog = h('div', { class: 'alerts-dialog', role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': 'alerts-title', hidden: true },
      h('div', { class: 'alerts-card' },
        h('h2', { id: 'alerts-title' }, 'Alarm alerts on this device'),
        h('p', null, 'RadTrack can alert you here when a radiation alarm is raised — with sound and vibration, and, where a push service is reachable, also while RadTrack is closed. ',
          'A notification shows the severity, the vehicle, the peak dose and the place, and lets you acknowledge the incident from it.'),
        h('p', { class: 'hint' }, 'Your browser will ask whether RadTrack may show notifications. On an iPhone or iPad this works only after adding RadTrack to the home screen (Share → Add to Home Screen) and opening it from there.'),
        this.msg,
        h('div', { class: 'row wrap' }, this.allowBtn, this.testBtn,
          h('button', { type: 'button', onclick: () => this.closeDialog() }, 'Close'))));
    this.dialog.addEventListener('keydown', (e) => { if (e.key === 'Escape') this.closeDialog(); });
    this.render();
    if (this.mode === Mode.LOCAL) this.refreshPush(); // granted before: is push on too?
  }

  render() {
    const l = alertsLabel(this.mode);
    this.btn.textContent = l.text;
    this.btn.title = l.title;
    this.btn.dataset.mode = this.mode;
    this.btn.dataset.short = l.short; // the phone's top bar shows this
    this.allowBtn.hidden = this.mode === Mode.PUSH || this.mode === Mode.UNSUPPORTED;
    this.allowBtn.textContent = this.mode === Mode.LOCAL ? 'Try push again' : 'Allow alerts';
    this.testBtn.hidden = this.mode !== Mode.PUSH;
    this.dispatchEvent(new Event('change'));
  }

  openDialog() {
    this.dialog.hidden = false;
    (this.allowBtn.hidden ? this.dialog.querySelector('button:not([hidden])') : this.allowBtn).focus();
  }

  closeDialog() {
    this.dialog.hidden = true;
    this.btn.focus();
  }

  say(text) {
    this.msg.textContent = text;
  }

  // refreshPush: an existing subscription the server knows means push.
  async refreshPush() {
    try {
      const reg = await ready();
      const sub = reg && reg.pushManager ? await reg.pushManager.getSubscription() : null;
      if (!sub) return;
      const me = await get('/notify/me');
      if (me.contacts.some((c) => c.kind === 'push' && c.value === sub.endpoint)) {
        this.mode = Mode.PUSH;
        this.render();
      }
    } catch { /* stays local */ }
  }

  async enable() {
    if (!('Notification' in window)) {
      this.mode = Mode.UNSUPPORTED;
      this.say('This browser cannot show notifications. On an iPhone, add RadTrack to the home screen first.');
      this.render();
      return;
    }
    const perm = await Notification.requestPermission();
    if (perm !== 'granted') {
      this.mode = perm === 'denied' ? Mode.BLOCKED : Mode.OFF;
      this.say('Notifications were not allowed. Allow them in the browser\'s site settings to get alarm alerts.');
      this.render();
      return;
    }
    this.mode = Mode.LOCAL;
    this.render();
    this.say('Subscribing to push…');
    try {
      const reg = await ready();
      if (!reg || !reg.pushManager) throw new Error('this browser has no push support here');
      const me = await get('/notify/me');
      if (!me.vapid_public_key) throw new Error('the server has no Web Push key');
      let sub = await reg.pushManager.getSubscription();
      if (!sub) {
        sub = await withTimeout(reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: b64urlBytes(me.vapid_public_key) }), 20_000);
      }
      if (!me.contacts.some((c) => c.kind === 'push' && c.value === sub.endpoint)) await post('/notify/me/contacts', subscriptionBody(sub));
      this.mode = Mode.PUSH;
      this.say('Alerts are on: alarms reach this device also while RadTrack is closed.');
    } catch (err) {
      this.mode = Mode.LOCAL;
      this.say(`No push service (${errorText(err)}): alarms notify this device while RadTrack is open.`);
    }
    this.render();
  }

  async test() {
    try {
      await post('/notify/me/test');
      this.say('Test sent: a notification should arrive in a few seconds.');
    } catch (err) {
      this.say(`Test failed: ${errorText(err)}`);
    }
  }

  // onIncidentFrame: a new or re-alarmed incident on the live feed. The
  // page vibrates, rings on a re-alarm (a new alarm already beeps), and,
  // when the page is not on screen, shows the notification itself — a
  // push for the same incident replaces it (same tag).
  async onIncidentFrame(frame) {
    if (!pages(frame, this.notified)) return;
    if (navigator.vibrate) navigator.vibrate([300, 120, 300, 120, 600]);
    if (frame.event === 'realarm') beep((frame.incident && frame.incident.severity) || 'alarm');
    if (this.mode !== Mode.LOCAL && this.mode !== Mode.PUSH) return;
    if (document.visibilityState === 'visible' && document.hasFocus()) return; // the banner and sound are there
    const n = incidentNotification(frame, this.deviceName);
    try {
      const reg = await ready();
      if (reg) await reg.showNotification(n.title, n.options);
      else new Notification(n.title, { body: n.options.body, tag: n.options.tag, icon: n.options.icon }); // eslint-disable-line no-new
    } catch (err) {
      this.status(`Notification: ${errorText(err)}`);
    }
  }
}

function withTimeout(p, ms) {
  return Promise.race([p, new Promise((_, reject) => setTimeout(() => reject(new Error('push service did not answer')), ms))]);
}
