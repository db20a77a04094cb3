// Shared by the long-running commands (the box, the demo, the cloud).

/** Stops `service` cleanly on SIGTERM/SIGINT, then exits; a second signal forces the exit. */
export function stopOnSignals(service: { close(): Promise<void> }): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    console.error(`${signal}: stopping…`);
    service.close().then(
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
