// Shared by the long-running commands (the box, the demo, the cloud).

/**
 * Stops `service` cleanly on SIGTERM/SIGINT, then exits; a second signal forces the exit. Pass the service
 * while it is still starting (its promise): each of them prints its addresses before it resolves, and
 * supervisors and tests may signal it then — the handlers are in place at once, and the stop waits for
 * the start to finish.
 */
export function stopOnSignals(
  service: { close(): Promise<void> } | Promise<{ close(): Promise<void> }>,
): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    console.error(`${signal}: stopping…`);
    Promise.resolve(service)
      .then((started) => started.close())
      .then(
        () => process.exit(0),
        (err: unknown) => {
          console.error(err);
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
