// The screens' bundles as `npm run build` left them in dist/web: read once, served from memory, gzipped once.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

export const SCREENS = ['tv', 'kiosk', 'rating', 'clerk', 'admin', 'pair', 'lookup', 'board'] as const;
export type Screen = (typeof SCREENS)[number];

/** What web/build.mjs writes: each screen's entry script, its stylesheet and the chunks it imports. */
export interface WebManifest {
  [screen: string]: { js: string; css: string | null; imports: string[] };
}

export interface Asset {
  body: Buffer;
  gzip: Buffer | null;
  type: string;
  etag: string;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

const here = dirname(fileURLToPath(import.meta.url));

/** dist/web: beside the compiled box (dist/device/web → dist/web), or built next to the sources. */
export function findWebDir(): string | null {
  for (const dir of [resolve(here, '../../web'), resolve(here, '../../dist/web')])
    if (existsSync(join(dir, 'manifest.json'))) return dir;
  return null;
}

export class WebAssets {
  readonly manifest: WebManifest;
  private readonly files = new Map<string, Asset>();

  constructor(readonly dir: string) {
    this.manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as WebManifest;
    const assetsDir = join(dir, 'assets');
    for (const name of readdirSync(assetsDir)) {
      const body = readFileSync(join(assetsDir, name));
      const type = TYPES[extname(name)] ?? 'application/octet-stream';
      const gz = body.length > 1024 ? gzipSync(body, { level: 9 }) : null;
      // Names carry a content hash (esbuild's [hash]); the name is the version.
      this.files.set(name, { body, gzip: gz, type, etag: `"${name}"` });
    }
  }

  get(name: string): Asset | undefined {
    return this.files.get(name);
  }
}
