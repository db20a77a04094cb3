// An MQTT proxy in front of the box: the device under test connects here, every byte is passed on to the
// box unchanged, and every packet in both directions is decoded (mqtt-packet, mqtt.js's own parser) so
// the kit can check what the device sent. It can also cut a connection at a chosen packet, to see that
// the device reconnects and retries.
import { EventEmitter } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import mqttPacket, { type Packet } from 'mqtt-packet';

export interface SniffedPacket {
  /** `up`: device → box; `down`: box → device. */
  dir: 'up' | 'down';
  /** Proxy connection number (1, 2, …): a reconnect is a new connection. */
  conn: number;
  /** The client id from this connection's CONNECT. */
  clientId: string | null;
  packet: Packet;
  at: number;
}

/** Emits `packet` (SniffedPacket), `open` (conn) and `close` (conn). */
export class MqttSniffer extends EventEmitter {
  private server: Server | null = null;
  private nextConn = 0;
  private readonly sockets = new Map<number, { device: Socket; box: Socket }>();
  private trap: ((p: SniffedPacket) => boolean) | null = null;
  readonly packets: SniffedPacket[] = [];

  constructor(private readonly upstream: { host: string; port: number }) {
    super();
  }

  /** Listens for devices; resolves with the port (0 picks a free one). */
  listen(port: number, host = '0.0.0.0'): Promise<number> {
    return new Promise((resolve, reject) => {
      const server = createServer({ noDelay: true }, (device) => this.accept(device));
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        this.server = server;
        const a = server.address();
        resolve(typeof a === 'object' && a ? a.port : port);
      });
    });
  }

  private accept(device: Socket): void {
    const conn = ++this.nextConn;
    const box = connect({ ...this.upstream, noDelay: true });
    this.sockets.set(conn, { device, box });
    let clientId: string | null = null;
    const up = mqttPacket.parser({ protocolVersion: 4 });
    const down = mqttPacket.parser({ protocolVersion: 4 });
    const record = (dir: 'up' | 'down', packet: Packet) => {
      if (packet.cmd === 'connect') clientId = packet.clientId;
      const p: SniffedPacket = { dir, conn, clientId, packet, at: Date.now() };
      this.packets.push(p);
      this.emit('packet', p);
      // The packet has just been passed to the box: cutting now loses its PUBACK and reply.
      if (this.trap?.(p)) {
        this.trap = null;
        this.cut(conn);
      }
    };
    up.on('packet', (p: Packet) => record('up', p));
    down.on('packet', (p: Packet) => record('down', p));
    // A malformed stream is the device's problem to report, not a reason to crash the kit.
    up.on('error', (err: Error) => this.emit('malformed', conn, err));
    down.on('error', () => undefined);
    device.on('data', (chunk: Buffer) => {
      box.write(chunk);
      up.parse(chunk);
    });
    box.on('data', (chunk: Buffer) => {
      if (!device.destroyed) device.write(chunk);
      down.parse(chunk);
    });
    const end = () => {
      if (!this.sockets.has(conn)) return;
      this.sockets.delete(conn);
      device.destroy();
      box.destroy();
      this.emit('close', conn);
    };
    device.on('close', end);
    box.on('close', end);
    device.on('error', end);
    box.on('error', end);
    this.emit('open', conn);
  }

  /**
   * Cuts the connection of the first packet that matches, right after passing it on: the box acts on it,
   * but its PUBACK and reply never reach the device.
   */
  cutAfter(match: (p: SniffedPacket) => boolean): void {
    this.trap = match;
  }

  /** Drops a connection at once (both sides), like a pulled cable: no PUBACK, no reply reaches it. */
  cut(conn: number): void {
    const s = this.sockets.get(conn);
    if (!s) return;
    s.device.destroy();
    s.box.destroy();
  }

  async close(): Promise<void> {
    for (const conn of [...this.sockets.keys()]) this.cut(conn);
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
