// Preloaded into a `lobby device` child (`node --import dist/test/support/kill-mid-apply.js …`): the box
// SIGKILLs itself in the middle of applying a config from its cloud — just before (LOBBY_KILL_MID_APPLY=
// before-rename) or just after (after-rename) the new managed-config.json replaces the old one, so before
// the config is switched live and before the report is recorded. The power cut a kill loop would hit only
// now and then, made certain.
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

const when = process.env.LOBBY_KILL_MID_APPLY;
if (when === 'before-rename' || when === 'after-rename') {
  const rename = fs.renameSync;
  const die = () => {
    // A pipe write is synchronous on Linux: the test reads this line before the process is gone.
    process.stdout.write(`${JSON.stringify({ msg: 'killed mid-apply', when })}\n`);
    process.kill(process.pid, 'SIGKILL');
  };
  fs.renameSync = (from: fs.PathLike, to: fs.PathLike): void => {
    const managed = String(to).endsWith('managed-config.json');
    if (managed && when === 'before-rename') die();
    rename(from, to);
    if (managed && when === 'after-rename') die();
  };
  syncBuiltinESMExports(); // `import { renameSync } from 'node:fs'` now sees the wrapper too
}
