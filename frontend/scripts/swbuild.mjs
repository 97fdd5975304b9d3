// Builds dist/app/sw.js from src/sw/sw.js after Vite wrote the app: the
// list of every built file (the offline app shell) and a version taken
// from their contents replace the placeholders, so each build gets a new
// cache and the old one is dropped on activation.
import { readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const SW_TEMPLATE = path.resolve(here, '..', 'src', 'sw', 'sw.js');

// swSource fills the template; files are URL paths ("/assets/x.js").
export function swSource(template, files, version) {
  const out = template
    .replace('const PRECACHE = __RADTRACK_PRECACHE__;', `const PRECACHE = ${JSON.stringify(files)};`)
    .replace("const VERSION = '__RADTRACK_VERSION__';", `const VERSION = '${version}';`);
  if (out.includes('__RADTRACK_')) throw new Error('sw.js: a placeholder was not filled in');
  return out;
}

function walk(dir, base = dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p, base));
    else out.push(path.relative(base, p).split(path.sep).join('/'));
  }
  return out.sort();
}

export function radtrackServiceWorker() {
  let outDir;
  return {
    name: 'radtrack-service-worker',
    apply: 'build',
    configResolved(cfg) {
      outDir = path.resolve(cfg.root, cfg.build.outDir);
    },
    closeBundle() {
      const files = walk(outDir).filter((f) => f !== 'sw.js');
      const hash = createHash('sha256');
      for (const f of files) hash.update(f).update(readFileSync(path.join(outDir, f)));
      const urls = files.map((f) => (f === 'index.html' ? '/' : '/' + f));
      const src = swSource(readFileSync(SW_TEMPLATE, 'utf8'), urls, hash.digest('hex').slice(0, 16));
      writeFileSync(path.join(outDir, 'sw.js'), src);
    },
  };
}
