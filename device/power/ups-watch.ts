// The office's UPS as the box sees it through Network UPS Tools: polled every few seconds, each change logged,
// counted in /metrics and handed to the daemon (which stops taking requests on low battery, see daemon.ts).
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import type { UpsConfig } from '../../protocol/config/index.js';
import { POWER_STATES, type PowerState } from '../../protocol/index.js';
import { NutClient, NutError } from './nut-client.js';

export interface PowerView {
  state: PowerState;
  /** When the state last changed (ISO 8601), null before the first answer. */
  since: string | null;
  /** `ups.status` as upsd gave it (e.g. "OB DISCHRG"), null when unknown. */
  status: string | null;
  /** `battery.charge` (%), `battery.runtime` (s): null when the UPS does not report them. */
  chargePct: number | null;
  runtimeSeconds: number | null;
  /** Why the state is unknown, for a person (null otherwise). */
  reason: string | null;
}

/** The power state a NUT `ups.status` says: FSD (forced shutdown) counts as low battery. */
export function powerStateOf(status: string): PowerState {
  const flags = new Set(status.split(/\s+/));
  if (flags.has('LB') || flags.has('FSD')) return 'low_battery';
  if (flags.has('OB')) return 'battery';
  if (flags.has('OL')) return 'mains';
  return 'unknown';
}

const numberOrNull = (v: string | undefined): number | null => {
  const n = v === undefined ? NaN : Number(v);
  return Number.isFinite(n) ? n : null;
};

export class UpsWatch {
  private current: PowerView = {
    state: 'unknown',
    since: null,
    status: null,
    chargePct: null,
    runtimeSeconds: null,
    reason: 'not asked yet',
  };
  private readonly client: NutClient;
  private readonly listeners: ((view: PowerView, previous: PowerState) => void)[] = [];
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly o: { ups: UpsConfig; clock: () => number; log: Logger; registry: Registry }) {
    this.client = new NutClient({ host: o.ups.host, port: o.ups.port });
    const state = new Gauge({
      name: 'lobby_power_state',
      help: "The box's power through its UPS: 1 for the current state (mains, battery, low_battery, unknown)",
      labelNames: ['state'] as const,
      registers: [o.registry],
      collect: () => {
        for (const s of POWER_STATES) state.set({ state: s }, s === this.current.state ? 1 : 0);
      },
    });
    const charge = new Gauge({
      name: 'lobby_ups_battery_charge_percent',
      help: "The UPS battery's charge (battery.charge), when it reports one",
      registers: [o.registry],
      collect: () => {
        if (this.current.chargePct !== null) charge.set(this.current.chargePct);
      },
    });
    const runtime = new Gauge({
      name: 'lobby_ups_battery_runtime_seconds',
      help: 'What the UPS expects its battery to last (battery.runtime), when it reports it',
      registers: [o.registry],
      collect: () => {
        if (this.current.runtimeSeconds !== null) runtime.set(this.current.runtimeSeconds);
      },
    });
  }

  view(): PowerView {
    return { ...this.current };
  }

  onChange(listener: (view: PowerView, previous: PowerState) => void): void {
    this.listeners.push(listener);
  }

  /** Polls now, then every `pollSeconds`. */
  start(): void {
    const loop = async () => {
      await this.poll();
      if (!this.stopped) {
        this.timer = setTimeout(() => void loop(), this.o.ups.pollSeconds * 1000);
        this.timer.unref();
      }
    };
    void loop();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.client.close();
  }

  /** Asks upsd once and reports a change. Never throws: an unanswered poll makes the state unknown. */
  async poll(): Promise<PowerView> {
    let next: Omit<PowerView, 'since'>;
    try {
      const vars = await this.client.listVars(this.o.ups.name);
      const status = vars.get('ups.status') ?? null;
      next = {
        state: status === null ? 'unknown' : powerStateOf(status),
        status,
        chargePct: numberOrNull(vars.get('battery.charge')),
        runtimeSeconds: numberOrNull(vars.get('battery.runtime')),
        reason: status === null ? 'the UPS reports no ups.status' : null,
      };
    } catch (err) {
      const reason = err instanceof NutError ? err.message : String(err);
      next = { state: 'unknown', status: null, chargePct: null, runtimeSeconds: null, reason };
    }
    if (this.stopped) return this.view();
    const previous = this.current.state;
    const changed = next.state !== previous || this.current.since === null;
    this.current = {
      ...next,
      since: changed ? new Date(this.o.clock()).toISOString() : this.current.since,
    };
    if (changed) {
      const line = { power: this.current, previous };
      if (next.state === 'low_battery') this.o.log.fatal(line, 'power: the UPS battery is low');
      else if (next.state === 'battery') this.o.log.error(line, 'power: mains lost, the box runs on its UPS');
      else if (next.state === 'mains') this.o.log.info(line, 'power: on mains');
      else this.o.log.warn(line, 'power: the UPS cannot be read');
      for (const l of this.listeners) l(this.view(), previous);
    }
    return this.view();
  }
}
