// Draws the app icons (PNG) from code, so nothing comes from off the host:
// a yellow disc with the black radiation trefoil on the control room's dark
// background, kept inside the central 80 % (the maskable safe zone).
// Run: node scripts/icons.mjs (writes public/icons/*.png; committed).
import { deflateSync } from 'node:zlib';
import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(here, '..', 'public', 'icons');

const CRC = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}
export function png(size, rgbAt) {
  const raw = Buffer.alloc(size * (size * 3 + 1));
  for (let y = 0; y < size; y++) {
    raw[y * (size * 3 + 1)] = 0; // filter: none
    for (let x = 0; x < size; x++) {
      const [r, g, b] = rgbAt(x, y);
      const o = y * (size * 3 + 1) + 1 + x * 3;
      raw[o] = r; raw[o + 1] = g; raw[o + 2] = b;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; ihdr[9] = 2; // 8-bit RGB
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}

const BG = [11, 15, 20];
const YELLOW = [255, 212, 0];
const BLACK = [0, 0, 0];

// colour at (u, v) in units of the icon's half width, centre (0, 0).
function shade(u, v) {
  const r = Math.hypot(u, v);
  if (r > 0.78) return BG;
  if (r < 0.1) return BLACK; // centre disc
  // Three blades, 60° wide, 120° apart, the first pointing down-left of up.
  const a = ((Math.atan2(-v, u) * 180) / Math.PI + 360) % 360;
  const inBlade = [90, 210, 330].some((c) => Math.abs(((a - c + 540) % 360) - 180) < 30);
  if (inBlade && r > 0.15 && r < 0.62) return BLACK;
  return YELLOW;
}

function icon(size) {
  const ss = 4; // supersampling per axis
  return png(size, (x, y) => {
    const acc = [0, 0, 0];
    for (let i = 0; i < ss; i++) {
      for (let j = 0; j < ss; j++) {
        const u = ((x + (i + 0.5) / ss) / size) * 2 - 1;
        const v = ((y + (j + 0.5) / ss) / size) * 2 - 1;
        const c = shade(u, v);
        acc[0] += c[0]; acc[1] += c[1]; acc[2] += c[2];
      }
    }
    return acc.map((s) => Math.round(s / (ss * ss)));
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  mkdirSync(out, { recursive: true });
  for (const [name, size] of [['icon-192.png', 192], ['icon-512.png', 512], ['apple-touch-icon.png', 180], ['badge-96.png', 96]]) {
    writeFileSync(path.join(out, name), icon(size));
    console.log(path.join('public', 'icons', name));
  }
}
