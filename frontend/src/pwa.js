// The installable app: registers the service worker (offline app shell,
// push notifications; src/sw/sw.js) and relays what it says to the page.
// Only the production build has /sw.js; `npm run dev` runs without it.

export const swSupported = () => typeof navigator !== 'undefined' && 'serviceWorker' in navigator;

let registration = null;
// Vite replaces import.meta.env; under node (unit tests) it is undefined.
const prod = () => !!(import.meta.env && import.meta.env.PROD);

// registerServiceWorker resolves to the registration, or null where the
// browser has no service workers (plain http off localhost, old browsers).
export async function registerServiceWorker() {
  if (!swSupported() || !prod()) return null;
  try {
    registration = await navigator.serviceWorker.register('/sw.js', { scope: '/' });
    return registration;
  } catch (err) {
    console.warn('service worker not registered:', err && err.message);
    return null;
  }
}

// ready resolves to the active registration (null without one).
export async function ready() {
  if (!swSupported() || !prod()) return null;
  if (!registration) await registerServiceWorker();
  if (!registration) return null;
  return navigator.serviceWorker.ready;
}

// onServiceWorkerMessage calls fn with each message the worker posts
// ({type: 'radtrack-push' | 'radtrack-open-incident', ...}).
export function onServiceWorkerMessage(fn) {
  if (!swSupported()) return;
  navigator.serviceWorker.addEventListener('message', (e) => {
    if (e.data && typeof e.data.type === 'string') fn(e.data);
  });
}

// incidentFromHash reads "#incident=7" (a notification opened the app).
export function incidentFromHash(hash) {
  const m = /(?:^#|&)incident=(\d+)/.exec(hash || '');
  return m ? Number(m[1]) : 0;
}
