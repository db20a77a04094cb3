// A simulated Network UPS Tools server (upsd) speaking its real TCP protocol (networkupstools.org, "Network
// protocol information"): the box's UPS watch, `upsc` and any NUT client can read it. Tests and the demo set
// its variables (on mains, on battery, low battery) or make its data stale, as a UPS losing mains would.
import { createServer, type Server, type Socket } from 'node:net';

export interface NutServerOptions {
  host?: string;
  /** 0 (the default): an ephemeral port. */
  port?: number;
  /** The UPS name (`upsc <name>@host`). */
  ups?: string;
}

const quote = (v: string) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

export const ON_MAINS = { 'ups.status': 'OL', 'battery.charge': '100', 'battery.runtime': '1800' };

export class NutServerSim {
  readonly ups: string;
  /** Every line clients sent, in order. */
  readonly received: string[] = [];
  private vars = new Map<string, string>();
  private staleData = false;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    ups: string,
  ) {
    this.ups = ups;
    this.set({
      'device.mfr': 'Simulated',
      'device.model': 'Back-UPS 1000 (motcua-lobby hardware-sim)',
      'ups.mfr': 'Simulated',
      ...ON_MAINS,
    });
  }

  static async start(o: NutServerOptions = {}): Promise<NutServerSim> {
    let sim: NutServerSim | null = null;
    const server = createServer((socket) => sim?.serve(socket));
    sim = new NutServerSim(server, o.ups ?? 'ups');
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port ?? 0, o.host ?? '127.0.0.1', () => resolve());
    });
    return sim;
  }

  get port(): number {
    return (this.server.address() as { port: number }).port;
  }

  /** Sets (or, with null, removes) variables of the UPS. */
  set(vars: Record<string, string | null>): void {
    for (const [k, v] of Object.entries(vars)) {
      if (v === null) this.vars.delete(k);
      else this.vars.set(k, v);
    }
  }

  mains(): void {
    this.staleData = false;
    this.set(ON_MAINS);
  }

  onBattery(chargePct = 80, runtimeSeconds = 1200): void {
    this.staleData = false;
    this.set({
      'ups.status': 'OB DISCHRG',
      'battery.charge': String(chargePct),
      'battery.runtime': String(runtimeSeconds),
    });
  }

  lowBattery(chargePct = 9, runtimeSeconds = 120): void {
    this.staleData = false;
    this.set({
      'ups.status': 'OB DISCHRG LB',
      'battery.charge': String(chargePct),
      'battery.runtime': String(runtimeSeconds),
    });
  }

  /** upsd answers ERR DATA-STALE while its driver has lost the UPS (a USB cable pulled). */
  stale(on = true): void {
    this.staleData = on;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private serve(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.setEncoding('utf8');
    let buffered = '';
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl).replace(/\r$/, '');
        buffered = buffered.slice(nl + 1);
        this.received.push(line);
        const answer = this.answer(line);
        socket.write(answer.map((l) => `${l}\n`).join(''));
        if (line === 'LOGOUT') socket.end();
      }
    });
  }

  private answer(line: string): string[] {
    const words = line.trim().split(/\s+/);
    const [cmd, sub, ...rest] = words;
    const known = (ups: string | undefined) => ups === this.ups;
    switch (cmd) {
      case 'VER':
        return ['Network UPS Tools upsd 2.8.0 - https://www.networkupstools.org/'];
      case 'NETVER':
        return ['1.3'];
      case 'USERNAME':
      case 'PASSWORD':
        return ['OK'];
      case 'LOGOUT':
        return ['OK Goodbye'];
      case 'STARTTLS':
        return ['ERR FEATURE-NOT-CONFIGURED'];
      case 'LIST':
        if (sub === 'UPS')
          return ['BEGIN LIST UPS', `UPS ${this.ups} ${quote('Office UPS')}`, 'END LIST UPS'];
        if (sub === 'VAR') {
          const ups = rest[0];
          if (!known(ups)) return ['ERR UNKNOWN-UPS'];
          if (this.staleData) return ['ERR DATA-STALE'];
          return [
            `BEGIN LIST VAR ${this.ups}`,
            ...[...this.vars].map(([k, v]) => `VAR ${this.ups} ${k} ${quote(v)}`),
            `END LIST VAR ${this.ups}`,
          ];
        }
        return ['ERR INVALID-ARGUMENT'];
      case 'GET':
        if (sub === 'VAR') {
          const [ups, name] = rest;
          if (!known(ups)) return ['ERR UNKNOWN-UPS'];
          if (this.staleData) return ['ERR DATA-STALE'];
          const v = name === undefined ? undefined : this.vars.get(name);
          return v === undefined ? ['ERR VAR-NOT-SUPPORTED'] : [`VAR ${this.ups} ${name} ${quote(v)}`];
        }
        return ['ERR INVALID-ARGUMENT'];
      default:
        return ['ERR UNKNOWN-COMMAND'];
    }
  }
}
