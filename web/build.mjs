/* global console */
// Bundles the browser screens into dist/web (part of `npm run build`): one ES module per screen, shared
// chunks (mqtt.js) split out so a browser that opens two screens loads them once, and a manifest the box
// reads to write each page. Prints every file's size, raw and gzipped.
import { build } from 'esbuild';
import { mkdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'web');
const screens = ['tv', 'kiosk', 'rating', 'clerk', 'admin', 'pair', 'lookup', 'board'];

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'assets'), { recursive: true });

const result = await build({
  absWorkingDir: root,
  entryPoints: Object.fromEntries(screens.map((s) => [s, `web/src/${s}/main.ts`])),
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'browser',
  // Android tablets and TV boxes run old Chromium WebViews: ES2020 (mqtt.js's private fields get lowered).
  target: ['es2020'],
  minify: true,
  legalComments: 'none',
  outdir: join(out, 'assets'),
  entryNames: '[name]-[hash]',
  chunkNames: 'chunk-[hash]',
  assetNames: '[name]-[hash]',
  metafile: true,
  logLevel: 'warning',
});

const manifest = {};
for (const [file, meta] of Object.entries(result.metafile.outputs)) {
  if (!meta.entryPoint || !file.endsWith('.js')) continue;
  const screen = basename(dirname(meta.entryPoint));
  manifest[screen] = {
    js: basename(file),
    css: meta.cssBundle ? basename(meta.cssBundle) : null,
    imports: meta.imports.filter((i) => i.kind === 'import-statement').map((i) => basename(i.path)),
  };
}
writeFileSync(join(out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');

const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
const sizes = Object.keys(result.metafile.outputs).map((file) => {
  const body = readFileSync(join(root, file));
  return { file: basename(file), bytes: body.length, gzip: gzipSync(body, { level: 9 }).length };
});
writeFileSync(join(out, 'sizes.json'), JSON.stringify(sizes, null, 2) + '\n');
for (const s of screens) {
  const m = manifest[s];
  const files = [m.js, m.css, ...m.imports].filter(Boolean);
  const total = files.reduce((sum, f) => sum + (sizes.find((x) => x.file === f)?.gzip ?? 0), 0);
  console.log(`web: ${s.padEnd(6)} ${kb(total).padStart(10)} gzip in all (${files.join(', ')})`);
}
for (const s of sizes)
  console.log(`web:   ${s.file.padEnd(28)} ${kb(s.bytes).padStart(10)} ${kb(s.gzip).padStart(10)} gzip`);
