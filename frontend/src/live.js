// Live feed client for /api/v1/live (live/PROTOCOL.md, version 1).
// Keeps the offset of the last processed alarm or offset frame as a string
// (offsets exceed 2^53), reconnects with exponential backoff and jitter,
// resumes with ?offset=, and falls back to REST polling (GET
// /api/v1/positions and the open alarms) while the server has no live
// endpoint (404), checking again every minute, or alongside reconnect
// attempts. A socket that delivers nothing — no frame, not even the
// server's heartbeat — for SILENT_MS is taken for dead: the client drops
// it, polls at once and reconnects.
import { ApiError, get, query } from './api.js';

const PATH = '/api/v1/live';
const BACKOFF_MIN = 1000;
const BACKOFF_MAX = 30_000;
const PING_EVERY = 20_000;
// The server sends a heartbeat frame after 10 s without any other frame;
// three missed ones mean the socket is dead even if the browser has not
// noticed (a NAT or proxy that dropped the connection, a frozen server).
export const SILENT_MS = 30_000;
const POLL_ALARMS_MS = 1000; // fallback: open alarms (cheap, must be prompt)
const POLL_POSITIONS_MS = 3000; // fallback: latest position of every vehicle
const RETRY_WS_WHILE_POLLING_MS = 60_000;

// States reported to the UI.
export const State = {
  CONNECTING: 'connecting',
  LIVE: 'live',
  RECONNECTING: 'reconnecting',
  POLLING: 'polling',
  OFFLINE: 'offline',
};

export class LiveClient extends EventTarget {
  // handlers: onSnapshot({positions, alarms|null}), onPositions(cols, full),
  // onAlarm(frame), onPolledAlarms(list), devices() → [{id}] for the
  // track fallback of servers that cannot answer /positions.
  constructor(handlers) {
    super();
    this.h = handlers;
    this.offset = null;
    this.ws = null;
    this.attempt = 0;
    this.timer = 0;
    this.pingTimer = 0;
    this.silenceTimer = 0;
    this.stopped = false;
    this.state = null;
    this.poller = null;
    this.reqId = 0;
  }

  setState(state, detail = {}) {
    this.state = state;
    this.dispatchEvent(new CustomEvent('state', { detail: { state, ...detail } }));
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.pingTimer);
    clearTimeout(this.silenceTimer);
    if (this.poller) this.poller.stop();
    this.poller = null;
    if (this.ws) {
      this.ws.onclose = null;
      this.ws.close(1000, 'logout');
    }
    this.ws = null;
  }

  url() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const q = this.offset !== null ? '?offset=' + encodeURIComponent(this.offset) : '';
    return `${proto}//${location.host}${PATH}${q}`;
  }

  connect() {
    if (this.stopped) return;
    this.setState(this.attempt ? State.RECONNECTING : State.CONNECTING, { attempt: this.attempt });
    let opened = false;
    let ws;
    try {
      ws = new WebSocket(this.url());
    } catch {
      this.retry(false);
      return;
    }
    this.ws = ws;
    this.watch(); // a handshake that hangs is a silent socket too
    ws.onopen = () => {
      opened = true;
      this.attempt = 0;
      if (this.poller) { this.poller.stop(); this.poller = null; }
      this.setState(State.LIVE);
      clearInterval(this.pingTimer);
      this.pingTimer = setInterval(() => this.send({ type: 'ping' }), PING_EVERY);
    };
    ws.onmessage = (ev) => {
      this.watch();
      this.onFrame(ev.data);
    };
    ws.onclose = (ev) => {
      clearInterval(this.pingTimer);
      clearTimeout(this.silenceTimer);
      this.ws = null;
      if (this.stopped) return;
      if (ev.code === 4008) {
        // Lagging: resume at once from the last processed offset.
        this.connect();
        return;
      }
      if (ev.code === 4001) {
        // The credential ended (logout elsewhere, revocation, a change to
        // the user): never resume with it; the page authenticates again.
        this.stopped = true;
        if (this.poller) { this.poller.stop(); this.poller = null; }
        this.setState(State.OFFLINE, { reason: 'credential ended' });
        return;
      }
      this.retry(opened);
    };
  }

  // watch (re)arms the silence watchdog: called on connect and on every
  // frame.
  watch() {
    clearTimeout(this.silenceTimer);
    this.silenceTimer = setTimeout(() => this.onSilent(), SILENT_MS);
  }

  // onSilent drops a socket that delivered nothing for SILENT_MS, polls
  // REST at once so alarms keep coming, and reconnects with backoff.
  onSilent() {
    const ws = this.ws;
    if (!ws || this.stopped) return;
    console.warn(`live: nothing received for ${SILENT_MS / 1000} s, reconnecting`);
    ws.onopen = ws.onmessage = ws.onclose = null;
    try {
      ws.close(4000, 'silent');
    } catch {
      // already closing
    }
    this.ws = null;
    clearInterval(this.pingTimer);
    this.startPolling(true);
    this.retry(true);
  }

  // retry decides what a failed or closed connection means: a missing
  // endpoint (404) switches to polling; anything else backs off.
  async retry(wasOpen) {
    if (this.stopped) return;
    if (!wasOpen) {
      const status = await probe();
      if (status === 404 || status === 405) {
        this.startPolling();
        return;
      }
      if (status === 401) {
        this.setState(State.OFFLINE, { reason: 'logged out' });
        return;
      }
    }
    this.attempt++;
    const base = Math.min(BACKOFF_MAX, BACKOFF_MIN * 2 ** Math.min(this.attempt - 1, 10));
    const delay = Math.round(base * (0.5 + Math.random() * 0.5));
    this.setState(State.RECONNECTING, { attempt: this.attempt, retryAt: Date.now() + delay });
    if (this.attempt >= 2 && !this.poller) this.startPolling(true); // keep alarms flowing meanwhile
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  startPolling(alongside = false) {
    if (!this.poller) {
      this.poller = new Poller(this.h);
      this.poller.start();
    }
    if (alongside) return;
    this.setState(State.POLLING);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), RETRY_WS_WHILE_POLLING_MS);
  }

  send(msg) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify({ v: 1, id: ++this.reqId, ...msg }));
      return true;
    }
    return false;
  }

  // resubscribe asks for a full positions frame (e.g. an unknown id).
  resubscribe() {
    const now = Date.now();
    if (this.lastResub && now - this.lastResub < 5000) return;
    this.lastResub = now;
    this.send({ type: 'subscribe' });
  }

  onFrame(data) {
    let f;
    try {
      f = JSON.parse(data);
    } catch {
      return;
    }
    if (f.v !== 1) return;
    switch (f.type) {
      case 'snapshot':
        this.snapshots = (this.snapshots || 0) + 1;
        this.lastRecovered = f.recovered; // undefined on a fresh connect
        this.h.onSnapshot({ positions: f.positions || null, alarms: f.recovered ? null : f.alarms || [],
          incidents: f.recovered || !f.incidents ? null : f.incidents,
          sources: f.recovered || !f.sources ? null : f.sources });
        this.offset = f.offset;
        break;
      case 'alarm':
        this.h.onAlarm(f);
        this.offset = f.offset; // processed: only now may we resume after it
        break;
      case 'incident':
        if (this.h.onIncident) this.h.onIncident(f);
        this.offset = f.offset;
        break;
      case 'source': // an incident's source estimate (PROTOCOL.md "source")
        if (this.h.onSource) this.h.onSource(f);
        this.offset = f.offset;
        break;
      case 'offset':
        // Events we already have reached the cluster log: resume from
        // their log offset (resumable on any node).
        this.offset = f.offset;
        break;
      case 'positions': {
        const unknown = this.h.onPositions(f.positions, !!f.full);
        if (!f.full && unknown && unknown.length) this.resubscribe();
        break;
      }
      case 'error':
        console.warn('live:', f.re, f.error);
        break;
      default:
        break; // ok, pong, heartbeat, and types we do not know
    }
  }
}

async function probe() {
  try {
    const res = await fetch(PATH, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    return res.status;
  } catch {
    return 0;
  }
}

// Poller is the REST fallback: open alarms every second, the latest
// position of every vehicle every few seconds.
class Poller {
  constructor(h) {
    this.h = h;
    this.timers = [];
    this.last = new Map(); // device id → last sample time (ISO), track fallback only
    this.alarmsBusy = false;
    this.posBusy = false;
    this.stopped = false;
  }

  start() {
    this.pollAlarms();
    this.pollPositions();
    this.timers.push(setInterval(() => this.pollAlarms(), POLL_ALARMS_MS));
    this.timers.push(setInterval(() => this.pollPositions(), POLL_POSITIONS_MS));
  }

  stop() {
    this.stopped = true;
    this.timers.forEach(clearInterval);
    this.timers = [];
  }

  async pollAlarms() {
    if (this.alarmsBusy) return;
    this.alarmsBusy = true;
    try {
      // Incidents first: the alarms' change then groups them at once.
      const [{ incidents }, { alarms }] = await Promise.all([
        get('/incidents' + query({ state: 'open', limit: 1000 })).catch(() => ({ incidents: null })),
        get('/alarms' + query({ state: 'open', limit: 1000 })),
      ]);
      if (!this.stopped && incidents && this.h.onPolledIncidents) this.h.onPolledIncidents(incidents);
      if (!this.stopped) this.h.onPolledAlarms(alarms);
    } catch (err) {
      console.warn('poll alarms', err.message);
    } finally {
      this.alarmsBusy = false;
    }
  }

  // pollPositions asks /positions for the whole fleet in one request, in
  // the snapshot's columns, and replaces the vehicle set with it. Only a
  // server without a live hub (503 or, before that route existed, 404)
  // makes it fall back to per-device track queries.
  async pollPositions() {
    if (this.posBusy) return;
    this.posBusy = true;
    try {
      let cols = null;
      let full = true;
      try {
        ({ positions: cols } = await get('/positions'));
      } catch (err) {
        if (!(err instanceof ApiError) || !hasNoLiveHub(err.status)) throw err;
        cols = await this.pollTracks();
        full = false;
      }
      // A socket that opened meanwhile has sent newer state: do not undo it.
      if (this.stopped || !cols) return;
      if (full || cols.id.length) this.h.onPositions(cols, full);
    } catch (err) {
      console.warn('poll positions', err.message);
    } finally {
      this.posBusy = false;
    }
  }

  // pollTracks collects the newest fix of up to 300 devices from their
  // tracks, for servers that cannot answer /positions.
  async pollTracks() {
    const devices = (this.h.devices() || []).filter((d) => !d.revoked_at).slice(0, 300);
    const now = Date.now();
    const cols = { id: [], t: [], lon: [], lat: [], dose: [], spd: [], hdg: [], bat: [] };
    const work = devices.map((d) => async () => {
      const since = this.last.get(d.id) || new Date(now - 15 * 60_000).toISOString();
      const to = new Date(now + 60_000).toISOString();
      const { samples } = await get(`/devices/${d.id}/track` + query({ from: since, to, limit: 5000 }));
      const s = newestFix(samples);
      if (s) {
        cols.id.push(d.id);
        cols.t.push(Date.parse(s.time));
        cols.lon.push(s.lon);
        cols.lat.push(s.lat);
        cols.dose.push(s.dose_rate);
        cols.spd.push(s.speed);
        cols.hdg.push(s.heading);
        cols.bat.push(s.battery ?? null);
      }
      if (samples.length) {
        // Next time, ask only for what is newer.
        this.last.set(d.id, new Date(Date.parse(samples[samples.length - 1].time) + 1).toISOString());
      }
    });
    await runLimited(work, 6);
    return cols;
  }
}

// hasNoLiveHub: /positions answers 503 on a server without a live hub (or
// one still loading it) and 404 on one that predates the route.
export function hasNoLiveHub(status) {
  return status === 503 || status === 404;
}

// newestFix returns the last sample (oldest-first list) with a valid GPS
// fix, or null.
export function newestFix(samples) {
  for (let i = samples.length - 1; i >= 0; i--) {
    const s = samples[i];
    if (s.lon !== null && s.lat !== null && s.gps_valid) return s;
  }
  return null;
}

async function runLimited(tasks, n) {
  let i = 0;
  const worker = async () => {
    while (i < tasks.length) {
      const t = tasks[i++];
      try { await t(); } catch (err) { console.warn(err.message); }
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, tasks.length) }, worker));
}
