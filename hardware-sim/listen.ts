// Where the TCP simulators (printer, LED bus, serial keypad and scanner) wait for the box's driver.
import type { Server } from 'node:net';

/** Listens on `host:port` (port 0: any free port) and resolves with the port taken. */
export async function listenTcp(server: Server, port = 0, host = '127.0.0.1'): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const a = server.address();
  return typeof a === 'object' && a ? a.port : 0;
}
