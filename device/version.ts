// The package version, read once from package.json (found from this file in source and in dist/).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'motcua-lobby') return pkg.version ?? '0.0.0';
    }
    dir = dirname(dir);
  }
  return '0.0.0';
}

/**
 * The launcher (deploy/lobby-launch.sh) says which release it started: a bundle's package.json keeps the
 * source tree's version when the release was stamped with another (`npm run release -- --version`).
 */
export const VERSION = process.env.LOBBY_RELEASE_VERSION || findVersion();
