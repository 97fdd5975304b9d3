// Server health for the top bar: the control room must know when the
// database (history, acknowledgements) or Redis (other nodes' updates) is
// away, even though live positions and alarms keep coming.

// healthNotice turns a /readyz body into a short badge text and a longer
// explanation (tooltip), both '' when the server is whole. unreachable:
// /readyz itself did not answer.
export function healthNotice(body, unreachable) {
  const none = { text: '', detail: '' };
  if (unreachable || !body || body.status === 'ready') return none;
  const text = [];
  const detail = [];
  if (body.database && body.database !== 'ok') {
    text.push('Database unreachable');
    detail.push('Database unreachable: live positions and alarms continue; alarms raised now are stored when it returns; acknowledgements, history and replay wait.');
  }
  if (body.redis && body.redis !== 'ok') {
    text.push('Redis unreachable');
    detail.push('Redis unreachable: vehicles and alarms reported to other server nodes may be delayed.');
  }
  return { text: text.join(' · '), detail: detail.join(' ') };
}

// watchHealth polls /readyz every intervalMs and shows the notice in el
// (hidden when there is none). The connection badge already covers a
// server that does not answer at all.
export function watchHealth(el, { intervalMs = 5000, fetchFn = fetch } = {}) {
  const check = async () => {
    let notice;
    try {
      const r = await fetchFn('/readyz', { cache: 'no-store' });
      notice = healthNotice(await r.json().catch(() => null), false);
    } catch {
      notice = healthNotice(null, true);
    }
    el.hidden = notice.text === '';
    el.textContent = notice.text;
    el.title = notice.detail;
  };
  check();
  return setInterval(check, intervalMs);
}
