// Preloaded into a `lobby device` child (`node --import dist/test/support/kill-after-commit.js …`): the box
// SIGKILLs itself right after the commit that holds its LOBBY_KILL_AFTER_TICKET-th paper ticket, before any
// effect of that commit (reply, print job) leaves the process. The crash a kill loop hits only now and then,
// made certain.
import { EventStore } from '../../device/store/event-store.js';

const after = Number(process.env.LOBBY_KILL_AFTER_TICKET ?? 0);
if (after > 0) {
  let tickets = 0;
  const append = EventStore.prototype.append;
  EventStore.prototype.append = function (this: EventStore, ...args: Parameters<EventStore['append']>) {
    const stored = append.apply(this, args);
    for (const e of stored) {
      if (e.event.type !== 'ticket.issued' || e.event.data.delivery === 'screen') continue;
      if (++tickets < after) continue;
      // A pipe write is synchronous on Linux: the test reads this line before the process is gone.
      process.stdout.write(
        `${JSON.stringify({ msg: 'killed after commit', ticketId: e.event.data.ticketId })}\n`,
      );
      process.kill(process.pid, 'SIGKILL');
    }
    return stored;
  };
}
