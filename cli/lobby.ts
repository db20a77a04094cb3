#!/usr/bin/env node
// The `lobby` command: one entry point for the box, the demo, and (later) the cloud, simulators and provisioning.
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pino } from 'pino';
import { ROLES } from '../protocol/index.js';
import {
  ConfigError,
  addPeripheralToFile,
  loadConfigFile,
  removePeripheralFromFile,
  setInConfigFile,
} from '../device/config/load.js';
import { startBox, SUPERVISOR_RESTART_EXIT_CODE, type Box } from '../device/daemon.js';
import { LOG_REFUSED_EXIT_CODE, LogRefusal } from '../device/store/log-identity.js';
import { VERSION } from '../device/version.js';
import { createPeripheral, peripheralInputProblems } from '../provisioning/peripherals.js';
import { adminPasswordProblem, hashAdminPassword } from '../device/web/admin-auth.js';
import { createInterface } from 'node:readline';
import type { DemoOptions } from './demo.js';
import { stopOnSignals } from './signals.js';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('must be a port number (0-65535)');
  return n;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive whole number');
  return n;
}

function nonNegative(value: string): number {
  const n = Number(value);
  if (!(n >= 0) || !Number.isFinite(n)) throw new InvalidArgumentError('must be a number, 0 or more');
  return n;
}

/** A line typed without echo (a password), or the first line of stdin when it is not a terminal. */
async function readSecretLine(prompt: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: process.stdin.isTTY });
  if (!process.stdin.isTTY) {
    for await (const line of rl) {
      rl.close();
      return line;
    }
    return '';
  }
  process.stdout.write(prompt);
  (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = () => undefined;
  const answer = await new Promise<string>((res) => rl.question('', res));
  rl.close();
  process.stdout.write('\n');
  return answer;
}

/** A box that runs a config its cloud sent is changed in the cloud console, not here (device/fleet/). */
async function refuseIfManaged(opts: { config: string; dataDir: string }): Promise<void> {
  const { managedByAtRest } = await import('../device/fleet/index.js');
  const cloud = managedByAtRest(loadConfigFile(opts.config), opts.dataDir);
  if (cloud)
    throw new InvalidArgumentError(
      `this box is managed by ${cloud}: change it in the cloud console (its peripherals, pairing and office)`,
    );
}

const dataDirOption = () =>
  new Option('-d, --data-dir <dir>', 'where the event log lives')
    .env('LOBBY_DATA_DIR')
    .default('./lobby-data');

const configOption = () =>
  new Option('-c, --config <file>', 'box config file (YAML or JSON)')
    .env('LOBBY_CONFIG')
    .makeOptionMandatory();

export function buildProgram(sim: Command, cloud: Command[]): Command {
  const program = new Command('lobby')
    .description(
      'motcua-lobby: queue, calling and satisfaction system for one-stop offices (Bộ phận một cửa)',
    )
    .version(VERSION)
    // `lobby --version` only before a subcommand: `lobby cloud release upload --version 0.2.0` names a release.
    .enablePositionalOptions()
    .showHelpAfterError('(run with --help for usage)');

  const device = program.command('device').description('the office box daemon and its configuration');

  device
    .command('run', { isDefault: true })
    .description('run the box: MQTT broker, queue engine, durable event log (the default)')
    .addOption(configOption())
    .addOption(dataDirOption())
    .option('--mqtt-port <port>', 'override broker.port from the config', port)
    .option('--http-port <port>', 'override http.port from the config', port)
    .action(async (opts: { config: string; dataDir: string; mqttPort?: number; httpPort?: number }) => {
      // Whatever the box creates is its user's only, however it was started (systemd also sets UMask).
      process.umask(0o077);
      if (!existsSync(opts.config)) {
        // Zero touch: a new box waits to be claimed, then takes its office config from the cloud.
        const { awaitOfficeConfig } = await import('../device/fleet/unclaimed.js');
        await awaitOfficeConfig({
          configFile: resolve(opts.config),
          dataDir: opts.dataDir,
          httpHost: process.env.LOBBY_HTTP_HOST ?? '0.0.0.0',
          httpPort: opts.httpPort ?? 8080,
          ...(process.env.LOBBY_CLOUD_URL ? { presetCloud: process.env.LOBBY_CLOUD_URL } : {}),
          log: pino({ level: process.env.LOG_LEVEL ?? 'info' }),
        });
      }
      const config = loadConfigFile(opts.config);
      let restarting = false;
      // The box logs 'box started' (and supervisors and tests may signal it) before startBox resolves: the
      // signal handlers are in place from the start, and a stop asked for while starting waits for it.
      const starting: Promise<Box> = startBox({
        config,
        configFile: resolve(opts.config),
        dataDir: opts.dataDir,
        mqttPort: opts.mqttPort,
        httpPort: opts.httpPort,
        exitOnStorageFailure: true,
        // The cloud's `restart` command: a clean stop, then the supervisor starts the daemon again.
        onRestart: () => {
          if (restarting) return;
          restarting = true;
          const bound = new Promise((r) => setTimeout(r, 10_000).unref());
          void Promise.race([starting.then((b) => b.close()), bound])
            .catch(() => undefined)
            .finally(() => process.exit(SUPERVISOR_RESTART_EXIT_CODE));
        },
        // Switching to a new version: stop cleanly; the supervisor (systemd, through the launcher) starts
        // the version `current` now points at.
        restartForUpdate: () => process.exit(0),
      });
      stopOnSignals(starting);
      await starting;
    });

  device
    .command('claim')
    .description(
      'claim a new box (no config yet) for its office with the code from the cloud console; the box then ' +
        'fetches its office config (a running `lobby device` picks the claim up at once)',
    )
    .requiredOption('--code <code>', 'the claim code (XXXX-XXXX-XXXX-XXXX) or the scanned lobby-claim: text')
    .addOption(
      new Option('--cloud <url>', 'the cloud base URL (not needed with a scanned code)').env(
        'LOBBY_CLOUD_URL',
      ),
    )
    .addOption(dataDirOption())
    .action(async (opts: { code: string; cloud?: string; dataDir: string }) => {
      const { claimBox, ClaimError } = await import('../device/fleet/unclaimed.js');
      try {
        const c = await claimBox({
          dataDir: opts.dataDir,
          claim: opts.code,
          ...(opts.cloud ? { cloud: opts.cloud } : {}),
        });
        console.log(`Claimed: box ${c.boxId} of office "${c.officeId}" at ${c.cloudUrl}.`);
        console.log('`lobby device` now fetches the office config from the cloud and starts.');
      } catch (err) {
        if (err instanceof ClaimError) throw new InvalidArgumentError(err.message);
        throw err;
      }
    });

  device
    .command('add-peripheral')
    .description('create a peripheral and print its secret (shown once; only its hash is stored)')
    .addOption(configOption())
    .requiredOption('--id <id>', 'device id, e.g. keypad-3 (lowercase, digits, dashes; at most 23)')
    .addOption(new Option('--role <role>', 'what the device is').choices([...ROLES]).makeOptionMandatory())
    .option(
      '--counter <n>',
      'the counter it is bound to (keypad, rating, scanner, clerk-panel; optional for ledboard)',
      positiveInt,
    )
    .option('--name <name>', 'a human name, e.g. "Bàn phím quầy 3"')
    .addOption(dataDirOption())
    .action(
      async (opts: {
        config: string;
        dataDir: string;
        id: string;
        role: string;
        counter?: number;
        name?: string;
      }) => {
        await refuseIfManaged(opts);
        const problems = peripheralInputProblems(opts);
        if (problems.length > 0) throw new InvalidArgumentError(problems.join('; '));
        const { peripheral, secret } = await createPeripheral(opts);
        addPeripheralToFile(opts.config, peripheral);
        console.log(
          `Added ${peripheral.role} "${peripheral.id}"${peripheral.counter ? ` at counter ${peripheral.counter}` : ''}.`,
        );
        console.log(`Secret (shown once, store it in the device now): ${secret}`);
        console.log(
          `MQTT: client id "${peripheral.id}", username "${peripheral.id}", password = the secret.`,
        );
        console.log('A running box picks the change up within seconds.');
      },
    );

  device
    .command('remove-peripheral')
    .description('revoke a peripheral: a running box drops its connection and refuses it')
    .addOption(configOption())
    .requiredOption('--id <id>', 'device id')
    .addOption(dataDirOption())
    .action(async (opts: { config: string; dataDir: string; id: string }) => {
      await refuseIfManaged(opts);
      if (!removePeripheralFromFile(opts.config, opts.id))
        throw new InvalidArgumentError(`no peripheral "${opts.id}" in ${opts.config}`);
      console.log(`Removed "${opts.id}".`);
    });

  device
    .command('set-admin-password')
    .description(
      "set the password of the box's local admin page (/admin); only its scrypt hash is stored. " +
        'Typed twice on a terminal, or read from the first line of stdin',
    )
    .addOption(configOption())
    .action(async (opts: { config: string }) => {
      loadConfigFile(opts.config); // a broken file is reported before anything is asked
      const password = await readSecretLine('Mật khẩu quản trị mới (new admin password): ');
      const problem = adminPasswordProblem(password);
      if (problem) throw new InvalidArgumentError(problem);
      if (process.stdin.isTTY && (await readSecretLine('Nhập lại (again): ')) !== password)
        throw new InvalidArgumentError('the two passwords differ');
      setInConfigFile(opts.config, ['admin', 'passwordHash'], await hashAdminPassword(password));
      console.log('Admin password set (only its hash is stored). Open http://<box>:<http port>/admin.');
      console.log('A running box uses it within seconds and signs out earlier admin sessions.');
    });

  device
    .command('new-log')
    .description(
      'start a new, empty event log on purpose (the box refused its log): the old one is kept aside, ' +
        "sequence numbers continue, today's ticket numbers restart at 001. Stop the box first",
    )
    .addOption(configOption())
    .addOption(dataDirOption())
    .requiredOption(
      '--reason <text>',
      'why (kept in the new log with the old log\'s id), e.g. "disk replaced"',
    )
    .option('--without-cloud', "do not ask the cloud how far it has this box's events (it is unreachable)")
    .action(async (opts: { config: string; dataDir: string; reason: string; withoutCloud?: boolean }) => {
      const config = loadConfigFile(opts.config);
      const { startNewLog } = await import('../device/uplink/log-recovery.js');
      const r = await startNewLog({
        config,
        configFile: resolve(opts.config),
        dataDir: opts.dataDir,
        reason: opts.reason,
        ...(opts.withoutCloud ? { withoutCloud: true } : {}),
      });
      console.log(`New event log ${r.logId} in ${resolve(opts.dataDir)} (reason: ${opts.reason}).`);
      console.log(
        `  Replaces log ${r.previousLogId ?? '(none known)'}; kept aside: ${r.setAside ?? '(no file)'}.`,
      );
      console.log(
        `  Sequence numbers continue after ${r.baseSeq}${r.cloudAckedSeq === null ? '' : ` (the cloud has up to ${r.cloudAckedSeq})`}.`,
      );
      console.log(
        "  Today's ticket numbers restart at 001: numbers citizens already hold may be issued again today.",
      );
      console.log('Start the box again (systemctl start motcua-lobby).');
    });

  device
    .command('recover-log')
    .description(
      "rebuild the event log from the cloud's copy of this box's current day, so numbering continues " +
        '(enrolled boxes). Events never uplinked cannot be recovered. Stop the box first',
    )
    .addOption(configOption())
    .addOption(dataDirOption())
    .option('--reason <text>', 'why (kept in the new log)', 'recovered after the box refused its log')
    .option('--force', 'replace a local log that holds events the cloud never received (they are lost)')
    .action(async (opts: { config: string; dataDir: string; reason: string; force?: boolean }) => {
      const config = loadConfigFile(opts.config);
      const { recoverLogFromCloud } = await import('../device/uplink/log-recovery.js');
      console.log(`Reading this box's events from ${config.cloud?.url ?? 'the cloud'}…`);
      const r = await recoverLogFromCloud({
        config,
        configFile: resolve(opts.config),
        dataDir: opts.dataDir,
        reason: opts.reason,
        ...(opts.force ? { force: true } : {}),
        log: (line) => console.log(line),
      });
      console.log(
        `Recovered ${r.events} events (seq ${r.fromSeq}..${r.ackedSeq}, office day ${r.day ?? '?'}) into log ${r.logId}.`,
      );
      console.log(
        `  Replaces log ${r.previousLogId ?? '(none known)'}; kept aside: ${r.setAside ?? '(no file)'}.`,
      );
      if (r.lost)
        console.log(
          `  LOST: this box had reached seq ${r.lost.to}; events ${r.lost.from}..${r.lost.to} never reached the cloud ` +
            'and cannot be recovered. Tickets issued in them may be issued again: check the lobby.',
        );
      else console.log('  Nothing lost: the cloud had every event this box is known to have written.');
      console.log(
        '  Not recovered: earlier days (they stay in the cloud), replies to old device requests (a device retrying ' +
          'a request from before the loss gets a new answer), the wait-time history.',
      );
      console.log('Start the box again (systemctl start motcua-lobby).');
    });

  device
    .command('check-config')
    .description('validate a config file and say what is wrong')
    .addOption(configOption())
    .action((opts: { config: string }) => {
      const cfg = loadConfigFile(opts.config);
      console.log(
        `${opts.config}: ok — ${cfg.office.name}: ${cfg.services.length} services, ${cfg.counters.length} counters, ${cfg.peripherals.length} peripherals`,
      );
    });

  program
    .command('demo')
    .description('a whole demo office on this machine, with nothing to install (what `npm start` runs)')
    .option('-d, --data-dir <dir>', 'where the demo keeps its config, secrets and log', './demo-data')
    .option('--mqtt-port <port>', 'MQTT port (default 18830, from the demo config)', port)
    .option('--http-port <port>', 'HTTP port (default 8080, from the demo config)', port)
    .option(
      '--hardware-port <port>',
      'first of the simulated hardware ports: printer, LED bus, GPIO, speakers (default 18840-18843, from the demo config; 0 = any free ports)',
      port,
    )
    .option(
      '--day-speed <x>',
      'pace of the simulated office day, x times real time (default 30); 0 = no simulated day',
      nonNegative,
    )
    .option('--cloud-port <port>', 'the demo cloud and admin console (default 8090)', port)
    .action(async (opts: DemoOptions) => {
      const { runDemo } = await import('./demo.js'); // the box process never loads the demo's modules
      const starting = runDemo(opts);
      stopOnSignals(starting); // before it resolves: the demo prints its addresses earlier
      await starting;
    });

  program.addCommand(sim);
  for (const c of cloud) program.addCommand(c);

  return program;
}

const stub = (name: string, description: string) =>
  new Command(name).description(description).allowUnknownOption().allowExcessArguments();

/**
 * `lobby sim`, `lobby cloud` and `lobby provision`, loaded only when they run: the simulators and the
 * cloud service (its database drivers, HTTP client, API docs) would otherwise sit in the memory of every
 * box (`lobby device run`) for nothing. Otherwise a stub stands in, so `lobby --help` lists them.
 */
async function lazyCommands(argv: string[]): Promise<{ sim: Command; cloud: Command[] }> {
  const first = argv.slice(2).find((a) => !a.startsWith('-'));
  const sim =
    first === 'sim'
      ? (await import('./sim.js')).simCommand()
      : stub('sim', 'simulators: an office day, simulated devices, the vendor conformance kit');
  if (first === 'cloud' || first === 'provision') {
    const holder = new Command();
    (await import('./cloud.js')).registerCloudCommands(holder);
    return { sim, cloud: [...holder.commands] };
  }
  return {
    sim,
    cloud: [
      stub('cloud', 'the cloud control plane: ingest, dossiers, reports, admin console'),
      stub('provision', 'enroll devices with the cloud'),
    ],
  };
}

async function main(): Promise<void> {
  const lazy = await lazyCommands(process.argv);
  const program = buildProgram(lazy.sim, lazy.cloud);
  // Every command, not just the top one: a subcommand's own parse errors must reach the handler below.
  const throwInstead = (c: Command): void => {
    c.exitOverride();
    c.commands.forEach(throwInstead);
  };
  throwInstead(program);
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    // Thrown by our actions (InvalidArgumentError is a CommanderError, so test it first); commander has
    // already printed its own parse errors.
    if (err instanceof InvalidArgumentError) {
      console.error(`error: ${err.message}`);
      process.exit(2);
    }
    // Commander has printed its message; a usage error (a bad flag or value, a missing option) exits 2,
    // as bad configs do; help and --version exit 0.
    if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
    if (err instanceof LogRefusal) {
      console.error(err.message);
      process.exit(LOG_REFUSED_EXIT_CODE);
    }
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE') {
      console.error(
        `error: a port is already in use (${e.message}); pick others with --mqtt-port / --http-port`,
      );
      process.exit(2);
    }
    console.error(`error: ${e.message ?? String(err)}`);
    process.exit(1);
  }
}

await main();
