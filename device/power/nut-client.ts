// A client of Network UPS Tools' upsd over its TCP protocol (port 3493; networkupstools.org, "Network
// protocol information"): one connection, one request at a time, read-only. Written here rather than taken
// from npm: the registry's NUT clients are unmaintained (node-nut, 2016) or absent, and the part we need
// is two line-based commands. Every answer is bounded in line length, line count and time.
import { connect, type Socket } from 'node:net';
import { UPS_MAX_LINE_BYTES, UPS_MAX_REPLY_LINES, UPS_REPLY_TIMEOUT_MS } from '../../protocol/limits.js';

/** upsd answered `ERR <code>` (e.g. UNKNOWN-UPS, DATA-STALE, DRIVER-NOT-CONNECTED, ACCESS-DENIED). */
export class NutError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** upsd's own answer (the connection is still in step); otherwise the connection failed. */
    readonly answered = false,
  ) {
    super(message);
  }
}

export interface NutAddress {
  host: string;
  port: number;
}

/** Splits a NUT line into words: double-quoted words may hold spaces, `\"` and `\\`. */
export function nutWords(line: string): string[] {
  const words: string[] = [];
  let i = 0;
  while (i < line.length) {
    if (line[i] === ' ') {
      i++;
      continue;
    }
    let word = '';
    if (line[i] === '"') {
      i++;
      while (i < line.length && line[i] !== '"') {
        if (line[i] === '\\' && i + 1 < line.length) i++;
        word += line[i];
        i++;
      }
      i++; // the closing quote
    } else {
      while (i < line.length && line[i] !== ' ') word += line[i++];
    }
    words.push(word);
  }
  return words;
}

export class NutClient {
  private socket: Socket | null = null;
  private buffered = '';
  private lines: string[] = [];
  private wake: (() => void) | null = null;
  private failure: Error | null = null;
  private busy: Promise<unknown> = Promise.resolve();
  private generation = 0;

  constructor(private readonly address: NutAddress) {}

  /** Every variable of one UPS (`LIST VAR`): `ups.status`, `battery.charge`, … */
  listVars(ups: string): Promise<Map<string, string>> {
    return this.serial(async () => {
      const lines = await this.ask(`LIST VAR ${ups}`, (line) => line === `END LIST VAR ${ups}`);
      const vars = new Map<string, string>();
      for (const line of lines.slice(1, -1)) {
        const [kind, name, key, value] = nutWords(line);
        if (kind === 'VAR' && name === ups && key !== undefined && value !== undefined) vars.set(key, value);
      }
      return vars;
    });
  }

  /** Closes the connection; the next request opens a new one. */
  close(): void {
    this.generation++;
    this.socket?.destroy();
    this.socket = null;
  }

  /** One request at a time on the connection: answers are not tagged. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.busy.then(fn, fn);
    this.busy = run.catch(() => undefined);
    return run;
  }

  /** Sends one line and reads the answer: one line, or lines until `last` (an ERR line ends it too). */
  private async ask(request: string, last: (line: string) => boolean): Promise<string[]> {
    const socket = await this.connected();
    const timer = setTimeout(
      () =>
        this.fail(
          new NutError('TIMEOUT', `upsd did not answer "${request}" within ${UPS_REPLY_TIMEOUT_MS} ms`),
        ),
      UPS_REPLY_TIMEOUT_MS,
    );
    try {
      socket.write(`${request}\n`);
      const answer: string[] = [];
      for (;;) {
        const line = await this.nextLine();
        if (line.startsWith('ERR ')) {
          const [, code = 'UNKNOWN', ...rest] = line.split(' ');
          throw new NutError(code, `upsd refused "${request}": ${[code, ...rest].join(' ')}`, true);
        }
        answer.push(line);
        if (!request.startsWith('LIST ')) return answer;
        if (answer.length === 1 && line !== `BEGIN ${request}`)
          throw new NutError('PROTOCOL', `upsd answered "${line.slice(0, 80)}" to ${request}`);
        if (last(line)) return answer;
        if (answer.length >= UPS_MAX_REPLY_LINES)
          throw new NutError('TOO-LONG', `upsd sent more than ${UPS_MAX_REPLY_LINES} lines`);
      }
    } catch (err) {
      // Unless upsd itself refused, the rest of that answer must not be read as the next one's.
      if (!(err instanceof NutError && err.answered)) this.close();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  private connected(): Promise<Socket> {
    if (this.socket && !this.socket.destroyed && !this.failure) return Promise.resolve(this.socket);
    this.socket?.destroy();
    this.buffered = '';
    this.lines = [];
    this.failure = null;
    const generation = ++this.generation;
    return new Promise((resolve, reject) => {
      const s = connect({ host: this.address.host, port: this.address.port });
      s.setEncoding('utf8');
      // An earlier connection's late events must not touch this one's lines or failure.
      const current = () => generation === this.generation;
      const timer = setTimeout(() => {
        s.destroy();
        reject(new NutError('TIMEOUT', `upsd at ${this.where()} did not accept a connection`));
      }, UPS_REPLY_TIMEOUT_MS);
      s.once('connect', () => {
        clearTimeout(timer);
        this.socket = s;
        resolve(s);
      });
      s.on('error', (err) => {
        clearTimeout(timer);
        reject(new NutError('UNREACHABLE', `upsd at ${this.where()}: ${err.message}`));
        if (current()) this.fail(new NutError('UNREACHABLE', `upsd at ${this.where()}: ${err.message}`));
      });
      s.on('close', () => {
        if (current()) this.fail(new NutError('CLOSED', `upsd at ${this.where()} closed the connection`));
      });
      s.on('data', (chunk: string) => {
        if (current()) this.receive(chunk);
      });
    });
  }

  private receive(chunk: string): void {
    this.buffered += chunk;
    let nl: number;
    while ((nl = this.buffered.indexOf('\n')) >= 0) {
      const line = this.buffered.slice(0, nl).replace(/\r$/, '');
      this.buffered = this.buffered.slice(nl + 1);
      if (Buffer.byteLength(line) > UPS_MAX_LINE_BYTES) {
        this.fail(new NutError('TOO-LONG', `upsd sent a line over ${UPS_MAX_LINE_BYTES} bytes`));
        return;
      }
      this.lines.push(line);
    }
    if (Buffer.byteLength(this.buffered) > UPS_MAX_LINE_BYTES) {
      this.fail(new NutError('TOO-LONG', `upsd sent a line over ${UPS_MAX_LINE_BYTES} bytes`));
      return;
    }
    this.wake?.();
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.socket?.destroy();
    this.wake?.();
  }

  private async nextLine(): Promise<string> {
    for (;;) {
      const line = this.lines.shift();
      if (line !== undefined) return line;
      if (this.failure) throw this.failure;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = null;
    }
  }

  private where(): string {
    return `${this.address.host}:${this.address.port}`;
  }
}
