#!/usr/bin/env node
// Draws Enclave's app icon and writes every file electron-builder takes it from
// (buildResources: build/). No image tools needed: the icon is drawn here from
// its shapes (the master, also written as build/icon.svg for people), rendered
// at 1024 px with 4×4 samples a pixel, and scaled down by averaging.
//   build/icon.png          1024×1024 (macOS and the default for every platform)
//   build/icons/NxN.png     16…1024, the Linux set (hicolor sizes)
//   build/icon.ico          16, 24, 32, 48, 64, 128, 256 (Windows: exe, installers)
//   build/icon.icns         16…1024 with the @2x variants (macOS)
// Run `node scripts/make-icons.mjs` after changing a shape or a colour, and commit the result.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';

const out = resolve(fileURLToPath(new URL('../build', import.meta.url)));
const SIZE = 1024;
const SAMPLES = 4;

// --- The master: shapes in a 1×1 square (y down), after Apple's icon grid (an
// 824/1024 tile with rounded corners, the margin transparent). A padlock on a teal tile.
const TILE = { half: 412 / 1024, radius: 185 / 1024 };
const TOP = [0x12, 0x7a, 0x84];
const BOTTOM = [0x0a, 0x3f, 0x4c];
const WHITE = [0xff, 0xff, 0xff];
const BODY = { cx: 0.5, cy: 0.615, hx: 0.205, hy: 0.155, radius: 0.045 };
const SHACKLE = { cx: 0.5, cy: 0.395, radius: 0.13, half: 0.038, bottom: 0.47 };
const KEYHOLE = { cx: 0.5, cy: 0.585, radius: 0.04, slot: { hx: 0.017, top: 0.6, bottom: 0.69 } };

function roundedBox(x, y, cx, cy, hx, hy, r) {
  const qx = Math.abs(x - cx) - hx + r;
  const qy = Math.abs(y - cy) - hy + r;
  return Math.hypot(Math.max(qx, 0), Math.max(qy, 0)) + Math.min(Math.max(qx, qy), 0) - r;
}

/** The colour (RGBA, 0–255) at a point of the master. */
function paint(x, y) {
  if (roundedBox(x, y, 0.5, 0.5, TILE.half, TILE.half, TILE.radius) > 0) return [0, 0, 0, 0];
  const t = (y - (0.5 - TILE.half)) / (2 * TILE.half);
  const tile = TOP.map((c, i) => c + (BOTTOM[i] - c) * t);
  const inBody = roundedBox(x, y, BODY.cx, BODY.cy, BODY.hx, BODY.hy, BODY.radius) <= 0;
  const keyhole = Math.hypot(x - KEYHOLE.cx, y - KEYHOLE.cy) <= KEYHOLE.radius || (Math.abs(x - KEYHOLE.cx) <= KEYHOLE.slot.hx && y >= KEYHOLE.slot.top && y <= KEYHOLE.slot.bottom);
  if (inBody) return keyhole ? [...tile, 255] : [...WHITE, 255];
  // The shackle: the upper half of a ring, then two straight legs down into the body.
  const d = y <= SHACKLE.cy ? Math.abs(Math.hypot(x - SHACKLE.cx, y - SHACKLE.cy) - SHACKLE.radius) : y <= SHACKLE.bottom ? Math.abs(Math.abs(x - SHACKLE.cx) - SHACKLE.radius) : Infinity;
  return d <= SHACKLE.half ? [...WHITE, 255] : [...tile, 255];
}

/** The master at SIZE px, premultiplied RGBA floats (so averaging does not darken the edges). */
function render() {
  const pixels = new Float64Array(SIZE * SIZE * 4);
  for (let py = 0; py < SIZE; py++) {
    for (let px = 0; px < SIZE; px++) {
      const o = (py * SIZE + px) * 4;
      for (let sy = 0; sy < SAMPLES; sy++) {
        for (let sx = 0; sx < SAMPLES; sx++) {
          const [r, g, b, a] = paint((px + (sx + 0.5) / SAMPLES) / SIZE, (py + (sy + 0.5) / SAMPLES) / SIZE);
          const alpha = a / 255;
          pixels[o] += r * alpha;
          pixels[o + 1] += g * alpha;
          pixels[o + 2] += b * alpha;
          pixels[o + 3] += alpha;
        }
      }
      for (let i = 0; i < 4; i++) pixels[o + i] /= SAMPLES * SAMPLES;
    }
  }
  return pixels;
}

/** Averages the master down to size × size (each target pixel: the source pixels whose centres fall in it), as straight 8-bit RGBA. */
function scaled(master, size) {
  const f = SIZE / size;
  const rgba = Buffer.alloc(size * size * 4);
  for (let y = 0; y < size; y++) {
    const y0 = Math.floor(y * f);
    const y1 = Math.floor((y + 1) * f);
    for (let x = 0; x < size; x++) {
      const x0 = Math.floor(x * f);
      const x1 = Math.floor((x + 1) * f);
      const sum = [0, 0, 0, 0];
      for (let sy = y0; sy < y1; sy++) for (let sx = x0; sx < x1; sx++) for (let i = 0; i < 4; i++) sum[i] += master[(sy * SIZE + sx) * 4 + i];
      const alpha = sum[3] / ((y1 - y0) * (x1 - x0));
      const o = (y * size + x) * 4;
      for (let i = 0; i < 3; i++) rgba[o + i] = sum[3] > 0 ? Math.round(sum[i] / sum[3]) : 0;
      rgba[o + 3] = Math.round(alpha * 255);
    }
  }
  return rgba;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buffer) {
  let c = 0xffffffff;
  for (const byte of buffer) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function png(rgba, size) {
  const chunk = (type, data) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, 'latin1');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
    return Buffer.concat([head, data, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 6, 0, 0, 0], 8); // 8 bits, RGBA, deflate, no filter method variants, no interlace
  const rows = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) rgba.copy(rows, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', deflateSync(rows, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}

/** Windows icon: PNG-compressed images (Windows Vista and later), 256 written as 0 in the directory. */
function ico(images) {
  const head = Buffer.alloc(6 + 16 * images.length);
  head.writeUInt16LE(0, 0);
  head.writeUInt16LE(1, 2);
  head.writeUInt16LE(images.length, 4);
  let offset = head.length;
  images.forEach(({ size, data }, i) => {
    const e = 6 + 16 * i;
    head.writeUInt8(size % 256, e);
    head.writeUInt8(size % 256, e + 1);
    head.writeUInt16LE(1, e + 4); // colour planes
    head.writeUInt16LE(32, e + 6); // bits per pixel
    head.writeUInt32LE(data.length, e + 8);
    head.writeUInt32LE(offset, e + 12);
    offset += data.length;
  });
  return Buffer.concat([head, ...images.map((image) => image.data)]);
}

/** macOS icon: PNG entries of the types Apple defines for each size (ic11–ic14 are the @2x ones). */
function icns(pngOf) {
  const types = [
    ['icp4', 16],
    ['icp5', 32],
    ['icp6', 64],
    ['ic07', 128],
    ['ic08', 256],
    ['ic09', 512],
    ['ic10', 1024],
    ['ic11', 32],
    ['ic12', 64],
    ['ic13', 256],
    ['ic14', 512],
  ];
  const entries = types.map(([type, size]) => {
    const head = Buffer.alloc(8);
    head.write(type, 0, 'latin1');
    head.writeUInt32BE(8 + pngOf(size).length, 4);
    return Buffer.concat([head, pngOf(size)]);
  });
  const head = Buffer.alloc(8);
  head.write('icns', 0, 'latin1');
  head.writeUInt32BE(8 + entries.reduce((n, e) => n + e.length, 0), 4);
  return Buffer.concat([head, ...entries]);
}

function svg() {
  const hex = (c) => `#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`;
  const s = (v) => +(v * SIZE).toFixed(2);
  const x0 = 0.5 - TILE.half;
  const { cx, cy, radius, half, bottom } = SHACKLE;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${SIZE}" height="${SIZE}" viewBox="0 0 ${SIZE} ${SIZE}">
  <!-- Drawn by scripts/make-icons.mjs (the master); edit the shapes there, not here. -->
  <defs><linearGradient id="tile" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${hex(TOP)}"/><stop offset="1" stop-color="${hex(BOTTOM)}"/></linearGradient></defs>
  <rect x="${s(x0)}" y="${s(x0)}" width="${s(2 * TILE.half)}" height="${s(2 * TILE.half)}" rx="${s(TILE.radius)}" fill="url(#tile)"/>
  <path d="M ${s(cx - radius)} ${s(bottom)} V ${s(cy)} A ${s(radius)} ${s(radius)} 0 0 1 ${s(cx + radius)} ${s(cy)} V ${s(bottom)}" fill="none" stroke="#ffffff" stroke-width="${s(2 * half)}"/>
  <rect x="${s(BODY.cx - BODY.hx)}" y="${s(BODY.cy - BODY.hy)}" width="${s(2 * BODY.hx)}" height="${s(2 * BODY.hy)}" rx="${s(BODY.radius)}" fill="#ffffff"/>
  <circle cx="${s(KEYHOLE.cx)}" cy="${s(KEYHOLE.cy)}" r="${s(KEYHOLE.radius)}" fill="url(#tile)"/>
  <rect x="${s(KEYHOLE.cx - KEYHOLE.slot.hx)}" y="${s(KEYHOLE.slot.top)}" width="${s(2 * KEYHOLE.slot.hx)}" height="${s(KEYHOLE.slot.bottom - KEYHOLE.slot.top)}" fill="url(#tile)"/>
</svg>
`;
}

const master = render();
const pngs = new Map();
const pngOf = (size) => {
  if (!pngs.has(size)) pngs.set(size, png(scaled(master, size), size));
  return pngs.get(size);
};
mkdirSync(join(out, 'icons'), { recursive: true });
writeFileSync(join(out, 'icon.svg'), svg());
writeFileSync(join(out, 'icon.png'), pngOf(1024));
for (const size of [16, 32, 48, 64, 128, 256, 512, 1024]) writeFileSync(join(out, 'icons', `${size}x${size}.png`), pngOf(size));
writeFileSync(join(out, 'icon.ico'), ico([16, 24, 32, 48, 64, 128, 256].map((size) => ({ size, data: pngOf(size) }))));
writeFileSync(join(out, 'icon.icns'), icns(pngOf));
console.log(`wrote ${out}/icon.{svg,png,ico,icns} and ${out}/icons/`);
