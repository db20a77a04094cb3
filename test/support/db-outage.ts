// Database faults for the cloud's tests and soak, without touching the shared PostgreSQL server (other runs use
// it): `killBackends` ends a cloud's pooled connections from a second connection (pg_terminate_backend, what a
// restart or failover does to them), and `tcpProxy` stands between the cloud and the server so a test can cut
// the database off (every connection dropped, new ones refused) and bring it back.
import { createServer, type Server, type Socket } from 'node:net';
import pg from 'pg';

/** A PostgreSQL URL whose connections carry `applicationName`, so their backends can be found and killed. */
export function tagUrl(url: string, applicationName: string, port?: number): string {
  const u = new URL(url);
  if (port !== undefined) u.port = String(port);
  u.searchParams.set('application_name', applicationName);
  return u.toString();
}

/** Terminates every backend whose application_name is `applicationName`; returns how many. */
export async function killBackends(url: string, applicationName: string): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query<{ ok: boolean }>(
      'SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()',
      [applicationName],
    );
    return r.rows.filter((x) => x.ok).length;
  } finally {
    await c.end();
  }
}

export interface TcpProxy {
  port: number;
  /** Drops every connection and refuses new ones (they are closed as soon as they open). */
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function tcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const open = new Set<Socket>();
  let down = false;
  const server: Server = createServer((client) => {
    if (down) return client.destroy();
    const upstream = new (client.constructor as typeof Socket)();
    upstream.connect(target.port, target.host);
    open.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  const cut = () => {
    down = true;
    for (const s of open) s.destroy();
    open.clear();
  };
  return {
    port: typeof addr === 'object' && addr ? addr.port : 0,
    cut,
    restore() {
      down = false;
    },
    async close() {
      cut();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
