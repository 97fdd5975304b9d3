// The printable incident report (#report=<incident id>, issue 18): what an
// authority files after an alarm. Everything comes from the API; the map is
// an SVG of the tracks (Web Mercator, no basemap) so it prints sharply and
// needs no WebGL in the PDF.
import { get, getPatiently, query, errorText } from './api.js';
import { h, replace, fmtTime } from './ui/dom.js';
import { doseColor, fmtDose, DOSE_CLASSES } from './dose.js';
import { doseChart } from './chart.js';
import { displayFeature } from './fenceshape.js';
import { sourceText } from './analysis.js';

const NS = 'http://www.w3.org/2000/svg';
const MARGIN_MS = 10 * 60_000; // the report covers the incident ±10 min
const TRACK_LIMIT = 50_000; // samples per vehicle

export function reportFromHash(hash) {
  const m = /(?:^#|&)report=(\d+)/.exec(hash || '');
  return m ? Number(m[1]) : null;
}

function s(tag, attrs, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  for (const c of children) if (c) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

// merc projects lon/lat to Web Mercator units (0..1).
function merc(lon, lat) {
  const r = (Math.max(-85, Math.min(85, lat)) * Math.PI) / 180;
  return [(lon + 180) / 360, (1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2];
}

// trackMap draws tracks [{name, pts:[{lon,lat,dose}]}] coloured by dose,
// the peak as a ringed cross, and the fences involved (GeoJSON features as
// GET /fences gives them) behind, in a box of width × height framed on the
// tracks; source (GET /incidents/{id}/source's answer), if given, adds the
// estimated source position and its 95 % ellipse.
export function trackMap(tracks, peak, { width = 680, height = 380, fences = [], source = null } = {}) {
  const all = tracks.flatMap((t) => t.pts.map((p) => merc(p.lon, p.lat)));
  if (peak) all.push(merc(peak.lon, peak.lat));
  if (source) all.push(merc(source.lon, source.lat), ...(source.ellipse_ring || []).map(([lon, lat]) => merc(lon, lat)));
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', class: 'report-map' });
  svg.append(s('rect', { x: 0, y: 0, width, height, fill: '#f4f6f8', stroke: '#9aa5b1' }));
  if (!all.length) {
    svg.append(s('text', { x: width / 2, y: height / 2, 'text-anchor': 'middle' }, 'no positions in the window'));
    return svg;
  }
  let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const [x, y] of all) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
  const span = Math.max(x1 - x0, y1 - y0, 1e-6); // at least ~40 m across
  const pad = 24;
  const k = Math.min((width - 2 * pad) / Math.max(x1 - x0, span * 0.2), (height - 2 * pad) / Math.max(y1 - y0, span * 0.2));
  const cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
  const P = (lon, lat) => { const [x, y] = merc(lon, lat); return [width / 2 + (x - cx) * k, height / 2 + (y - cy) * k]; };
  const path = (ring) => ring.map(([lon, lat], i) => { const [x, y] = P(lon, lat); return `${i ? 'L' : 'M'}${x.toFixed(1)} ${y.toFixed(1)}`; }).join('');
  const fg = s('g', { class: 'report-fences' });
  for (const f of fences) {
    const d = displayFeature(f);
    const g = d.geometry;
    const polys = g.type === 'Polygon' ? [g.coordinates] : g.type === 'MultiPolygon' ? g.coordinates : [];
    for (const poly of polys) fg.append(s('path', { d: poly.map((r) => path(r) + 'Z').join(''), fill: '#3b6fb6', 'fill-opacity': 0.12, stroke: '#3b6fb6', 'stroke-dasharray': '5 3', 'fill-rule': 'evenodd' }));
    const lines = g.type === 'LineString' ? [g.coordinates] : g.type === 'MultiLineString' ? g.coordinates : [];
    const mPerUnit = 40075016.7 * Math.cos(((f.geometry.coordinates[0]?.[1] ?? 0) * Math.PI) / 180);
    for (const l of lines) fg.append(s('path', { d: path(l), fill: 'none', stroke: '#3b6fb6', 'stroke-opacity': 0.18, 'stroke-linejoin': 'round', 'stroke-width': Math.max(2, (2 * (f.properties.half_width_m || 0) * k) / mPerUnit) }));
    const first = polys[0]?.[0]?.[0] || lines[0]?.[0];
    if (first) {
      const [x, y] = P(first[0], first[1]);
      fg.append(s('text', { x: x + 4, y: y - 4, fill: '#1f4a85', class: 'report-map-label' }, f.properties.name));
    }
  }
  svg.append(fg);
  const g = s('g', { 'stroke-width': 3, 'stroke-linecap': 'round', fill: 'none' });
  for (const t of tracks) {
    for (let i = 1; i < t.pts.length; i++) {
      const a = t.pts[i - 1], b = t.pts[i];
      const [ax, ay] = P(a.lon, a.lat), [bx, by] = P(b.lon, b.lat);
      g.append(s('line', { x1: ax.toFixed(1), y1: ay.toFixed(1), x2: bx.toFixed(1), y2: by.toFixed(1), stroke: doseColor(Math.max(a.dose ?? -1, b.dose ?? -1)) }));
    }
    if (t.pts.length) {
      const last = t.pts[t.pts.length - 1];
      const [lx, ly] = P(last.lon, last.lat);
      g.append(s('text', { x: lx + 6, y: ly - 6, class: 'report-map-label', stroke: 'none', fill: '#1b2430' }, t.name));
    }
  }
  svg.append(g);
  if (source) {
    const [sx, sy] = P(source.lon, source.lat);
    svg.append(s('g', { class: 'report-source' },
      source.ellipse_ring ? s('path', { d: path(source.ellipse_ring) + 'Z', fill: '#ff36e0', 'fill-opacity': 0.15, stroke: '#c000a8', 'stroke-width': 2 }) : null,
      s('circle', { cx: sx, cy: sy, r: 5, fill: '#c000a8', stroke: '#fff', 'stroke-width': 1.5 }),
      s('text', { x: sx - 8, y: sy + 4, 'text-anchor': 'end', fill: '#7a006b' }, 'estimated source')));
  }
  if (peak) {
    const [px, py] = P(peak.lon, peak.lat);
    svg.append(s('g', { class: 'report-peak' },
      s('circle', { cx: px, cy: py, r: 9, fill: 'none', stroke: '#000', 'stroke-width': 2 }),
      s('path', { d: `M${px - 13} ${py}H${px + 13}M${px} ${py - 13}V${py + 13}`, stroke: '#000', 'stroke-width': 1.5 }),
      s('text', { x: px + 12, y: py + 16, fill: '#000' }, `peak ${fmtDose(peak.dose)} µSv/h`)));
  }
  // Scale bar: metres per pixel at the centre latitude.
  const latC = (Math.atan(Math.sinh(Math.PI * (1 - 2 * cy))) * 180) / Math.PI;
  const mPerPx = (40075016.7 * Math.cos((latC * Math.PI) / 180)) / k;
  const want = mPerPx * 120;
  const nice = [10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000].find((v) => v >= want / 2) || 50000;
  const len = nice / mPerPx;
  svg.append(s('g', { class: 'report-scale' },
    s('path', { d: `M12 ${height - 12}h${len.toFixed(1)}`, stroke: '#000', 'stroke-width': 2 }),
    s('text', { x: 12, y: height - 17, fill: '#000' }, nice >= 1000 ? `${nice / 1000} km` : `${nice} m`)));
  return svg;
}

function threshold(r, fenceName) {
  if (!r) return '— (rule deleted)';
  if (r.level) return `≥ ${fmtDose(r.level.threshold_usvh)} µSv/h anywhere`;
  if (r.zone) return `≥ ${fmtDose(r.zone.threshold_usvh)} µSv/h in ${fenceName(r.zone.fence_id)}`;
  if (r.fence) return `fence ${r.fence.event}${r.fence.fence_id ? ` of ${fenceName(r.fence.fence_id)}` : ''}${r.fence.fence_kind ? ` (${r.fence.fence_kind})` : ''}${r.fence.dwell_s ? ` after ${r.fence.dwell_s} s` : ''}`;
  if (r.background) return `local background, p < ${r.background.p_value}`;
  if (r.silence) return `no report for ${r.silence.after_s} s`;
  return r.kind;
}

function table(head, rows, cls) {
  return h('table', { class: cls },
    h('thead', null, h('tr', null, head.map((c) => h('th', null, c)))),
    h('tbody', null, rows.length ? rows.map((r) => h('tr', null, r.map((c) => h('td', null, c ?? '—'))))
      : h('tr', null, h('td', { colspan: String(head.length), class: 'muted' }, 'none'))));
}

const EVENT_TEXT = { raised: 'raised', acknowledged: 'acknowledged', resolved: 'resolved', realarmed: 're-alarmed', condition_ended: 'condition ended' };

// showReport replaces root with the report of incident id.
export async function showReport(root, id) {
  document.body.className = 'is-report';
  document.documentElement.classList.add('is-report'); // the page margins of the PDF show html's background
  document.title = `RadTrack incident ${id} report`;
  const main = h('main', { class: 'report', 'data-state': 'loading' }, h('p', null, 'Loading incident report…'));
  replace(root, main);
  try {
    const { incident: inc } = await get(`/incidents/${id}`);
    const from = Date.parse(inc.first_seen) - MARGIN_MS;
    const to = Date.parse(inc.last_seen) + MARGIN_MS;
    const win = { from: new Date(from).toISOString(), to: new Date(to).toISOString() };
    const deviceIds = [...new Set(inc.alarms.map((a) => a.device_id).concat(inc.peak_device_id ? [inc.peak_device_id] : []))];
    const [{ devices }, { rules }, fc, located] = await Promise.all([get('/devices'), get('/rules'), get('/fences'),
      getPatiently(`/incidents/${id}/source`).then((r) => r.source, (err) => ({ error: err }))]);
    const source = located && !located.error ? located : null;
    const details = [];
    for (const a of inc.alarms) details.push(await getPatiently(`/alarms/${a.id}`));
    // Sequentially: the server runs at most two large queries per user.
    const tracks = [];
    const shifts = [];
    for (const d of deviceIds) {
      const r = await getPatiently(`/devices/${d}/track` + query({ ...win, limit: TRACK_LIMIT }));
      tracks.push({ id: d, samples: r.samples, cut: r.samples.length >= TRACK_LIMIT });
      const sh = await get('/shifts' + query({ device: d, ...win })).catch(() => ({ shifts: [] }));
      shifts.push(...sh.shifts);
    }
    const name = (d) => (devices.find((x) => x.id === d) || {}).name || `device ${d}`;
    const ruleById = new Map(rules.map((r) => [r.id, r]));
    const fenceById = new Map((fc.features || []).map((f) => [f.properties.id, f]));
    const fenceName = (id) => (fenceById.has(id) ? `fence “${fenceById.get(id).properties.name}”` : `fence ${id}`);
    // The fences the alarms happened in and the fired rules watch.
    const fenceIds = new Set(inc.alarms.map((a) => a.fence_id).filter(Boolean));
    for (const a of inc.alarms) {
      const r = ruleById.get(a.rule_id);
      if (r && r.zone) fenceIds.add(r.zone.fence_id);
      if (r && r.fence && r.fence.fence_id) fenceIds.add(r.fence.fence_id);
    }
    const fences = [...fenceIds].map((id) => fenceById.get(id)).filter(Boolean);
    const peak = inc.peak_dose_usvh > 0 ? { dose: inc.peak_dose_usvh, lon: inc.peak_lon, lat: inc.peak_lat, time: inc.peak_time, gps: inc.peak_gps_valid } : null;
    const mapTracks = tracks.map((t) => ({
      name: name(t.id),
      pts: t.samples.filter((x) => x.gps_valid && x.lon !== null && x.lat !== null).map((x) => ({ lon: x.lon, lat: x.lat, dose: x.dose_rate ?? -1 })),
    }));
    const firedRules = [...new Map(inc.alarms.map((a) => [a.rule_id || a.rule_name, a])).values()];
    const audit = details.flatMap((d) => d.events.map((e) => ({ ...e, alarm: d.alarm })))
      .sort((a, b) => Date.parse(a.time) - Date.parse(b.time) || a.id - b.id);
    const adjudication = inc.code ? `${inc.code} by ${inc.resolved_by || '—'} at ${fmtTime(inc.resolved_at)}` : 'not adjudicated yet';

    replace(main,
      h('header', { class: 'report-bar no-print' },
        h('button', { type: 'button', class: 'primary', onclick: () => window.print() }, 'Print / PDF'),
        h('a', { href: '/' }, 'Back to the map')),
      h('h1', null, `Incident report #${inc.id}`),
      h('p', { class: 'muted' }, `Generated ${fmtTime(new Date().toISOString())} · window ${fmtTime(win.from)} – ${fmtTime(win.to)} (incident ±10 min)`),
      h('section', { class: 'report-summary' },
        h('h2', null, 'Summary'),
        h('dl', null,
          h('dt', null, 'Severity'), h('dd', { class: `sev-${inc.severity}`, 'data-field': 'severity' }, inc.severity),
          h('dt', null, 'State'), h('dd', { 'data-field': 'state' }, inc.state),
          h('dt', null, 'First seen'), h('dd', null, fmtTime(inc.first_seen)),
          h('dt', null, 'Last seen'), h('dd', null, fmtTime(inc.last_seen)),
          h('dt', null, 'Peak dose rate'), h('dd', { 'data-field': 'peak' }, peak ? `${fmtDose(peak.dose)} µSv/h at ${fmtTime(peak.time)} (${name(inc.peak_device_id)})` : 'no dose reading'),
          h('dt', null, 'Place'), h('dd', { 'data-field': 'place' }, peak && peak.gps ? `${peak.lat.toFixed(5)}, ${peak.lon.toFixed(5)} (lat, lon)` : 'no valid position'),
          h('dt', null, 'Acknowledged'), h('dd', null, inc.acked_by ? `by ${inc.acked_by} at ${fmtTime(inc.acked_at)}` : '—'),
          h('dt', null, 'Adjudication'), h('dd', { 'data-field': 'adjudication' }, adjudication))),
      h('section', { class: 'report-map-section' },
        h('h2', null, 'Tracks'),
        trackMap(mapTracks, peak && peak.gps ? peak : null, { fences, source: source && source.significant ? source : null }),
        tracks.some((t) => t.cut) ? h('p', { class: 'error' }, `Only the first ${TRACK_LIMIT} samples of a vehicle are drawn.`) : null,
        h('p', { class: 'report-legend' }, 'Dose rate (µSv/h): ', DOSE_CLASSES.map((c) =>
          h('span', null, h('i', { style: { background: c.color } }), ` ${c.label} `)))),
      h('section', { class: 'report-source-section' },
        h('h2', null, 'Estimated source'),
        h('p', { 'data-field': 'source' }, source ? sourceText(source)
          : `No estimate: ${located && located.error ? errorText(located.error) : 'none'}.`),
        source && source.significant && source.ellipse ? h('p', { class: 'muted' },
          `Point-source fit to the counts of every vehicle near the incident (${source.readings} readings); `
          + `the magenta ellipse on the map holds the source with 95 % confidence.`) : null),
      h('section', { class: 'report-chart' },
        h('h2', null, 'Dose rate over time'),
        tracks.map((t) => h('figure', null, doseChart(t.samples, { from, to, width: 680, height: 150, title: name(t.id),
          band: [Date.parse(inc.first_seen), Date.parse(inc.last_seen)] }), h('figcaption', null, name(t.id))))),
      h('section', { class: 'report-rules' },
        h('h2', null, 'Rules that fired'),
        table(['Rule', 'Kind', 'Severity', 'Threshold'], firedRules.map((a) => {
          const r = ruleById.get(a.rule_id);
          return [a.rule_name, a.kind, a.severity, threshold(r, fenceName)];
        }), 'report-table rules-table')),
      h('section', { class: 'report-vehicles' },
        h('h2', null, 'Vehicles and crews'),
        table(['Vehicle', 'Group', 'Alarms', 'Peak (µSv/h)', 'Crew on shift'], deviceIds.map((d) => {
          const dev = devices.find((x) => x.id === d) || {};
          const as = inc.alarms.filter((a) => a.device_id === d);
          const crews = shifts.filter((x) => x.device_id === d).map((x) => `${x.crew} (${fmtTime(x.start)} – ${fmtTime(x.end)})`);
          return [name(d), dev.group || '—', String(as.length), fmtDose(Math.max(0, ...as.map((a) => a.peak_dose_usvh || 0))), crews.join('; ') || 'no shift recorded'];
        }), 'report-table vehicles-table')),
      h('section', { class: 'report-audit' },
        h('h2', null, 'Audit trail'),
        table(['Time', 'Alarm', 'Event', 'User', 'Comment / code'], audit.map((e) => [
          fmtTime(e.time), `#${e.alarm.id} ${e.alarm.rule_name} · ${name(e.alarm.device_id)}`, EVENT_TEXT[e.type] || e.type,
          e.user || 'system', [e.code, e.comment].filter(Boolean).join(': ') || '—',
        ]), 'report-table audit-table')),
    );
    main.dataset.state = 'ready';
  } catch (err) {
    replace(main, h('h1', null, `Incident report #${id}`), h('p', { class: 'error' }, `Cannot load the report: ${errorText(err)}`),
      h('a', { href: '/' }, 'Back to the map'));
    main.dataset.state = 'error';
  }
}
