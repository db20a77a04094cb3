// A rewriting MQTT proxy for tests: in front of a real box, it decodes every packet both ways (mqtt-packet,
// mqtt.js's own parser) and lets a test change, drop or add packets. A box with one fault, built from a correct
// one: the tests of the conformance kit's box checks run the kit through it.
import { connect, createServer, type Server, type Socket } from 'node:net';
import mqttPacket, { type IPublishPacket, type Packet } from 'mqtt-packet';

/** One client connection through the proxy. */
export interface ProxyConn {
  /** 1, 2, … in the order clients connected. */
  readonly n: number;
  /** The client id of its CONNECT (null before it). */
  clientId: string | null;
  /** The topics of each SUBSCRIBE not yet answered, by message id: what a SUBACK grants. */
  readonly subscribing: Map<number, string[]>;
  /** When the box closes its side, keep the client's open: a box that never drops the client. */
  keepOpen: boolean;
  toClient(p: Packet): void;
  toBox(p: Packet): void;
  /** Drops both sides at once, like a pulled cable. */
  cut(): void;
  /** Resets the client's TCP connection (RST, the client reads ECONNRESET) and drops the box's side. */
  reset(): void;
}

/**
 * Looks at one packet on its way: returns nothing to pass it on unchanged, null to drop it, or the packets to
 * send instead.
 */
export type Rewrite = (
  packet: Packet,
  conn: ProxyConn,
  proxy: RewritingProxy,
) => Packet | Packet[] | null | void;

export interface Fault {
  /** Client → box. */
  up?: Rewrite;
  /** Box → client. */
  down?: Rewrite;
}

export class RewritingProxy {
  readonly conns: ProxyConn[] = [];
  private readonly sockets = new Set<Socket>();
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  /** Listens on an ephemeral port of 127.0.0.1 in front of the box at `boxUrl` (mqtt://host:port). */
  static start(boxUrl: string, fault: Fault): Promise<RewritingProxy> {
    const box = new URL(boxUrl);
    return new Promise((resolve, reject) => {
      let proxy: RewritingProxy | null = null;
      const server = createServer({ noDelay: true }, (client) =>
        proxy?.accept(client, { host: box.hostname, port: Number(box.port) }, fault),
      );
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const a = server.address();
        const port = typeof a === 'object' && a ? a.port : 0;
        proxy = new RewritingProxy(server, `mqtt://127.0.0.1:${port}`);
        resolve(proxy);
      });
    });
  }

  /** The connection of a client id (the last one, if it connected more than once). */
  conn(clientId: string): ProxyConn | undefined {
    return this.conns.findLast((c) => c.clientId === clientId);
  }

  private accept(client: Socket, upstream: { host: string; port: number }, fault: Fault): void {
    const box = connect({ ...upstream, noDelay: true });
    this.sockets.add(client).add(box);
    const write = (s: Socket, p: Packet) => {
      if (!s.destroyed) s.write(mqttPacket.generate(p));
    };
    const conn: ProxyConn = {
      n: this.conns.length + 1,
      clientId: null,
      subscribing: new Map(),
      keepOpen: false,
      toClient: (p) => write(client, p),
      toBox: (p) => write(box, p),
      cut: () => {
        client.destroy();
        box.destroy();
      },
      reset: () => {
        client.resetAndDestroy();
        box.destroy();
      },
    };
    this.conns.push(conn);
    const pass = (rewrite: Rewrite | undefined, send: (p: Packet) => void) => (p: Packet) => {
      const out = rewrite?.(p, conn, this);
      if (out === null) return;
      for (const q of out === undefined ? [p] : Array.isArray(out) ? out : [out]) send(q);
    };
    const up = mqttPacket.parser({ protocolVersion: 4 });
    const down = mqttPacket.parser({ protocolVersion: 4 });
    const sendUp = pass(fault.up, conn.toBox);
    up.on('packet', (p: Packet) => {
      if (p.cmd === 'connect') conn.clientId = p.clientId;
      if (p.cmd === 'subscribe' && p.messageId !== undefined)
        conn.subscribing.set(
          p.messageId,
          p.subscriptions.map((s) => s.topic),
        );
      sendUp(p);
    });
    down.on('packet', pass(fault.down, conn.toClient));
    up.on('error', () => conn.cut());
    down.on('error', () => conn.cut());
    client.on('data', (chunk: Buffer) => up.parse(chunk));
    box.on('data', (chunk: Buffer) => down.parse(chunk));
    client.on('close', () => box.destroy());
    box.on('close', () => {
      if (!conn.keepOpen) client.destroy();
    });
    client.on('error', () => box.destroy());
    box.on('error', () => undefined);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** The JSON body of a PUBLISH (undefined when it is not JSON). */
export function bodyOf(p: IPublishPacket): Record<string, unknown> | undefined {
  try {
    return JSON.parse(p.payload.toString()) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** The same PUBLISH with its JSON body changed by `edit` (which may change it in place or return another). */
export function withBody(
  p: IPublishPacket,
  edit: (body: Record<string, unknown>) => unknown,
): IPublishPacket {
  const body = bodyOf(p) ?? {};
  const changed = edit(body) ?? body;
  return { ...p, payload: Buffer.from(JSON.stringify(changed)) };
}
