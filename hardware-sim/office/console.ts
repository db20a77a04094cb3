// The office simulator's console: one line per thing that happens in the lobby, and commands typed on
// stdin to act as the people in it (press a keypad button, type on a serial keypad, scan a dossier, run
// the printer out of paper). `lobby sim office` and `lobby demo` attach it to the terminal.
import { relative } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { isActive } from '../gpio/simulator.js';
import type { PaperLevel } from '../printer/printer-sim.js';
import { describeShow, type OfficeActivity, type OfficeHardwareSim } from './office-sim.js';

/** A path as short as it can be said: relative to the working directory when it is inside it. */
export function shortPath(file: string): string {
  const r = relative(process.cwd(), file);
  return r && !r.startsWith('..') ? r : file;
}

const clock = (d: Date) => d.toTimeString().slice(0, 8);

/** One line for the terminal. */
export function formatActivity(a: OfficeActivity): string {
  const t = clock(a.at);
  switch (a.kind) {
    case 'ticket':
      return `${t} [printer ${a.printer}] ticket ${a.number} printed: ${shortPath(a.png)}`;
    case 'ticket-interrupted':
      return `${t} [printer ${a.printer}] ticket cut short: ${a.reason}`;
    case 'led':
      return `${t} [led ${a.board}] ${describeShow(a.show)}`;
    case 'relay':
      return `${t} [gpio ${a.peripheral}] amplifier relay ${a.on ? 'ON' : 'off'} (GPIO ${a.pin})`;
    case 'lamp':
      return `${t} [gpio ${a.peripheral}] rating lamp ${a.on ? 'on: the citizen can rate' : 'off'} (GPIO ${a.pin})`;
    case 'feedback':
      return `${t} [gpio ${a.peripheral}] feedback: ${a.flashes} flash${a.flashes === 1 ? ' (done)' : a.flashes === 3 ? 'es (refused)' : 'es'}`;
    case 'call':
      return `${t} [speaker] "${a.call.text}"${a.call.recall ? ' (recall)' : ''} ${(a.call.durationMs / 1000).toFixed(1)} s: ${shortPath(a.file)}`;
    case 'serial':
      return `${t} [serial ${a.device}] box answered: ${a.line}`;
  }
}

/**
 * Prints the lobby's activity, one line each, leaving out an LED frame that only repeats a board's text
 * (a call is sent as the text, then the same text blinking): led.log keeps every frame.
 */
export function activityPrinter(print: (line: string) => void): (a: OfficeActivity) => void {
  const boards = new Map<string, string>();
  return (a) => {
    if (a.kind === 'led') {
      const text = `${a.show.blank ? 'blank' : ''}|${a.show.lines.join('\n')}`;
      if (boards.get(a.board) === text) return;
      boards.set(a.board, text);
    }
    print(formatActivity(a));
  };
}

export interface ConsoleCommand {
  usage: string;
  help: string;
  run(args: string[]): Promise<string | void> | string | void;
}

export type ConsoleCommands = Record<string, ConsoleCommand>;

/** The commands that act on the simulated hardware. */
export function hardwareCommands(sim: OfficeHardwareSim): ConsoleCommands {
  const commands: ConsoleCommands = {};
  const buttons = sim.buttons();
  if (buttons.length > 0) {
    const examples = [...new Set(buttons.map((b) => b.peripheral))]
      .map((p) => {
        const names = buttons.filter((b) => b.peripheral === p).flatMap((b) => [b.button, b.longPress]);
        return `${p}: ${names.filter(Boolean).join(', ')}`;
      })
      .join('; ');
    commands.press = {
      usage: 'press <peripheral> <button> [hold-ms]',
      help: `press a GPIO button by action, long-press action or score (${examples})`,
      run: async ([peripheral, button, hold]) => {
        if (!peripheral || !button) throw new Error('usage: press <peripheral> <button> [hold-ms]');
        const ms = hold === undefined ? undefined : Number(hold);
        if (ms !== undefined && !(ms > 0 && ms <= 10_000)) throw new Error('hold-ms: 1 to 10000');
        return sim.press(peripheral, button, ms);
      },
    };
  }
  if (sim.keypads.size > 0)
    commands.key = {
      usage: 'key <keypad> <line>',
      help: `type a line on a serial keypad: NEXT, RECALL, CALL A012, SIGNIN cc01 (${[...sim.keypads.keys()].join(', ')})`,
      run: ([id, ...words]) => {
        if (!id || words.length === 0) throw new Error('usage: key <keypad> <line>');
        sim.keypadLine(id, words.join(' '));
      },
    };
  if (sim.scanners.size > 0)
    commands.scan = {
      usage: 'scan <scanner> <code>',
      help: `scan a dossier code (${[...sim.scanners.keys()].join(', ')})`,
      run: ([id, code]) => {
        if (!id || !code) throw new Error('usage: scan <scanner> <code>');
        sim.scan(id, code);
        return `${id}: scanned ${code}`;
      },
    };
  if (sim.printers.size > 0) {
    commands.paper = {
      usage: 'paper <printer> ok|near_end|out',
      help: `set a printer's paper (${[...sim.printers.keys()].join(', ')})`,
      run: ([id, level]) => {
        if (!id || !['ok', 'near_end', 'out'].includes(level ?? ''))
          throw new Error('usage: paper <printer> ok|near_end|out');
        sim.setPaper(id, level as PaperLevel);
        return `${id}: paper ${level}`;
      },
    };
    commands.cover = {
      usage: 'cover <printer> open|closed',
      help: "open or close a printer's cover",
      run: ([id, state]) => {
        if (!id || (state !== 'open' && state !== 'closed'))
          throw new Error('usage: cover <printer> open|closed');
        sim.setCoverOpen(id, state === 'open');
        return `${id}: cover ${state}`;
      },
    };
  }
  commands.show = {
    usage: 'show',
    help: 'what every LED board shows now, and the GPIO lines',
    run: () => {
      const lines = sim
        .ledBoards()
        .map((b) => `  [led ${b.board}] ${b.show ? describeShow(b.show) : '(nothing yet)'}`);
      const wiring = new Map(sim.gpioLines().map((l) => [l.pin, l]));
      for (const l of sim.gpio?.state() ?? []) {
        if (l.mode === 'free') continue;
        const w = wiring.get(l.pin);
        const what = w ? `${w.peripheral} ${w.use === 'button' ? `button ${w.button}` : w.use}` : 'unknown';
        const state = l.mode === 'in' ? (isActive(l) ? 'pressed' : 'released') : isActive(l) ? 'on' : 'off';
        lines.push(`  GPIO ${String(l.pin).padEnd(3)} ${what}: ${state}`);
      }
      return lines.join('\n') || '  no LED boards or GPIO lines';
    },
  };
  return commands;
}

export function helpText(commands: ConsoleCommands): string {
  const rows = Object.values(commands).map((c) => `  ${c.usage.padEnd(38)} ${c.help}`);
  return ['Commands:', ...rows, `  ${'help'.padEnd(38)} this list`].join('\n');
}

/** Runs one typed line; resolves with what to print (errors included: a typo never ends the simulator). */
export async function runCommand(commands: ConsoleCommands, line: string): Promise<string> {
  const [name = '', ...args] = line.trim().split(/\s+/);
  if (name === '') return '';
  if (name === 'help' || name === '?') return helpText(commands);
  const c = commands[name];
  if (!c) return `unknown command "${name}"; type help`;
  try {
    return (await c.run(args)) ?? 'ok';
  } catch (e) {
    return `error: ${(e as Error).message}`;
  }
}

/**
 * Reads commands from a stream (stdin) line by line and prints the answers. Not a terminal-mode
 * readline: Ctrl+C stays a signal for the process. Returns a function that stops reading.
 */
export function attachConsole(
  commands: ConsoleCommands,
  input: Readable,
  print: (text: string) => void,
): () => void {
  const rl = createInterface({ input, terminal: false });
  rl.on('line', (line) => {
    void runCommand(commands, line).then((out) => {
      if (out) print(out);
    });
  });
  return () => rl.close();
}
