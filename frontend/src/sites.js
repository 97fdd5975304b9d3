// The site tree (centre → sub-centres → rooms) as GET /api/v1/sites gives
// it: the user's site and everything below, parents first, each with its
// path "/1/5/9/". Pure helpers, unit-tested.

// siteDepth is how far below the top of the listed tree a site is.
function siteDepth(site, top) {
  return site.path.split('/').length - top.path.split('/').length;
}

// siteOptions lists the sites as indented select options, in tree order.
export function siteOptions(sites) {
  if (!sites || !sites.length) return [];
  const sorted = [...sites].sort((a, b) => a.path.localeCompare(b.path, undefined, { numeric: true }));
  const top = sorted.reduce((t, s) => (s.path.length < t.path.length ? s : t), sorted[0]);
  return sorted.map((s) => ({ id: s.id, depth: siteDepth(s, top), label: '\u00a0\u00a0'.repeat(siteDepth(s, top)) + s.name }));
}

// subtreeIds is the set of the site id and every site below it.
export function subtreeIds(sites, id) {
  const root = (sites || []).find((s) => s.id === id);
  if (!root) return new Set();
  return new Set(sites.filter((s) => s.path.startsWith(root.path)).map((s) => s.id));
}
