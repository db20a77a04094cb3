// Preloaded into a `lobby device` child (NODE_OPTIONS=--import=dist/test/support/kill-mid-update.js): the box
// SIGKILLs itself at one moment of an over-the-air update, once (LOBBY_KILL_ONCE names a file it creates
// first, so the restarted box goes on): `unpack` — the new version fully extracted into its `.partial-`
// folder, not yet renamed; `switch-before` — trial marker and `previous` written, `current` not moved yet;
// `switch-after` — `current` moved, the box not yet restarted. A power cut at the worst moments, made certain.
import fs from 'node:fs';
import { basename } from 'node:path';
import { syncBuiltinESMExports } from 'node:module';

const when = process.env.LOBBY_KILL_MID_UPDATE;
const once = process.env.LOBBY_KILL_ONCE;
if (when && once && !fs.existsSync(once)) {
  const rename = fs.renameSync;
  const die = () => {
    fs.writeFileSync(once, when);
    process.stdout.write(`${JSON.stringify({ msg: 'killed mid-update', when })}\n`);
    process.kill(process.pid, 'SIGKILL');
  };
  fs.renameSync = (from: fs.PathLike, to: fs.PathLike): void => {
    const unpacked = basename(String(from)).startsWith('.partial-');
    const current = basename(String(to)) === 'current';
    if ((unpacked && when === 'unpack') || (current && when === 'switch-before')) die();
    rename(from, to);
    if (current && when === 'switch-after') die();
  };
  syncBuiltinESMExports();
}
