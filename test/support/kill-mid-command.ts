// Preloaded into a `lobby device` child (`node --import dist/test/support/kill-mid-command.js …`): the box
// SIGKILLs itself right after it has durably marked a fleet command of kind LOBBY_KILL_MID_COMMAND `running`
// (fleet-commands.json renamed into place), before the command does anything: a power cut in the middle of a
// command, made certain. At its next start the box must report it failed and never run it.
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

const kind = process.env.LOBBY_KILL_MID_COMMAND;
if (kind) {
  const rename = fs.renameSync;
  fs.renameSync = (from: fs.PathLike, to: fs.PathLike): void => {
    const running =
      String(to).endsWith('fleet-commands.json') &&
      (
        JSON.parse(fs.readFileSync(from, 'utf8')) as { held: { state: string; command: { kind: string } }[] }
      ).held.some((h) => h.state === 'running' && h.command.kind === kind);
    rename(from, to);
    if (running) {
      process.stdout.write(`${JSON.stringify({ msg: 'killed mid-command', kind })}\n`);
      process.kill(process.pid, 'SIGKILL');
    }
  };
  syncBuiltinESMExports();
}
