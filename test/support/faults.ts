// Real faults for the box's storage: a small filesystem to fill up (a loop-mounted ext4 with 1 KiB blocks,
// where a full disk used to kill the box with SIGBUS, or a size-limited tmpfs), and an LD_PRELOAD shim that
// fails fsync on demand. Both need what a CI runner has (root, gcc); each says why when it cannot.
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SmallFs {
  /** The mount point. */
  dir: string;
  kind: 'ext4-1k' | 'tmpfs';
  /** Fills the filesystem to the last byte with a filler file; returns its size. */
  fill(): number;
  /** Deletes the filler. */
  free(): void;
  unmount(): void;
}

const has = (cmd: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

/**
 * Mounts a filesystem of `sizeMiB` in a temp dir, or returns why it cannot (not root, no mount). Prefers
 * ext4 with 1 KiB blocks on a loop device (the case that crashed the box); tmpfs otherwise.
 */
export function mountSmallFs(sizeMiB: number): SmallFs | string {
  if (process.getuid?.() !== 0) return 'mounting a small filesystem needs root (CI runs as root)';
  const base = mkdtempSync(join(tmpdir(), 'lobby-smallfs-'));
  const dir = join(base, 'mnt');
  mkdirSync(dir);
  let kind: SmallFs['kind'] = 'tmpfs';
  try {
    if (!has('mkfs.ext4')) throw new Error('no mkfs.ext4');
    const img = join(base, 'fs.img');
    execFileSync('truncate', ['-s', `${sizeMiB}M`, img]);
    execFileSync('mkfs.ext4', ['-q', '-b', '1024', '-m', '0', img], { stdio: 'ignore' });
    execFileSync('mount', ['-o', 'loop', img, dir], { stdio: 'ignore' });
    kind = 'ext4-1k';
  } catch {
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m`, 'lobby-test', dir], {
        stdio: 'ignore',
      });
    } catch (err) {
      rmSync(base, { recursive: true, force: true });
      return `cannot mount a test filesystem: ${(err as Error).message}`;
    }
  }
  const filler = join(dir, 'filler');
  return {
    dir,
    kind,
    fill() {
      const fd = openSync(filler, 'a');
      let written = 0;
      try {
        for (const size of [1 << 20, 1 << 16, 1 << 10, 1]) {
          const chunk = Buffer.alloc(size, 1);
          for (;;) {
            try {
              written += writeSync(fd, chunk);
            } catch (err) {
              if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
              throw err;
            }
          }
        }
      } finally {
        closeSync(fd);
      }
      return written;
    },
    free() {
      rmSync(filler, { force: true });
    },
    unmount() {
      execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
      rmSync(base, { recursive: true, force: true });
    },
  };
}

/**
 * Compiles test/support/fsync-fault.c into a shared object for LD_PRELOAD, or returns why it cannot.
 * A process started with `LD_PRELOAD=<so> LOBBY_FSYNC_FAIL=<flag file>` fails one fsync per creation of
 * the flag file.
 */
export function buildFsyncShim(): { so: string } | string {
  if (process.platform !== 'linux') return 'the fsync shim is for Linux (LD_PRELOAD)';
  if (!has('gcc')) return 'gcc is not installed (CI has it)';
  const out = join(mkdtempSync(join(tmpdir(), 'lobby-shim-')), 'fsync-fault.so');
  // From the source tree, or from dist/test/support (the soak script) back to the source.
  const here = join(import.meta.dirname, 'fsync-fault.c');
  const source = existsSync(here) ? here : join(import.meta.dirname, '../../../test/support/fsync-fault.c');
  execFileSync('gcc', ['-shared', '-fPIC', '-O2', '-o', out, source, '-ldl']);
  return { so: out };
}
