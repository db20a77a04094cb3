// The box daemon (`lobby device`): builds each part once, wires them, and owns their lifecycle.
import { unwatchFile, watchFile } from 'node:fs';
import equal from 'fast-deep-equal';
import { pino, type Level, type Logger } from 'pino';
import { LobbyBroker } from './broker/broker.js';
import { PeripheralDirectory } from './broker/directory.js';
import { ConfigError, loadConfigFile } from './config/load.js';
import type { BoxConfig } from './config/schema.js';
import { DriverSet } from './drivers/index.js';
import { OfficePublisher } from './effects/office-publisher.js';
import { PrintSpool } from './effects/print-spool.js';
import { waitingTickets, type Carryover } from './engine/index.js';
import type { Fleet, NoticeBoard, StartingPoint } from './fleet/index.js';
import { createHttpServer, type Health } from './http/server.js';
import { Ledger } from './ledger.js';
import { LogRing } from './log-ring.js';
import { PowerGuard } from './power/power-guard.js';
import { UpsWatch } from './power/ups-watch.js';
import { createMetrics } from './metrics.js';
import { createRequestDesk, lookupUnavailable } from './requests.js';
import type { EventStore } from './store/event-store.js';
import { LogRefusal, openCheckedLog, refreshMarkers } from './store/log-identity.js';
import { StorageHealth } from './storage-health.js';
import type { UpdateAgent, UpdateView } from './update/index.js';
import type { Uplink } from './uplink/index.js';
import type { Dossiers } from './dossiers/index.js';
import { SMS_REDACT_PATHS, SmsNotifier } from './sms/notifier.js';
import { TicketKeys } from './ticket-keys.js';
import { VERSION } from './version.js';
import { lanOrigins, registerWebApps, type WebApps } from './web/routes.js';
import { ERRORS, REQUEST_REPLY_RETENTION_MS, topics, type DeviceStatus } from '../protocol/index.js';

/** The exit code that asks the supervisor (systemd `Restart=always`) to start the daemon again. */
export const SUPERVISOR_RESTART_EXIT_CODE = 75;

export interface BoxOptions {
  config: BoxConfig;
  /** When given, the file is watched and peripheral changes (added, revoked) apply without a restart. */
  configFile?: string;
  dataDir: string;
  log?: Logger;
  clock?: () => number;
  /** Override the config's ports (0 = any free port). */
  mqttPort?: number;
  httpPort?: number;
  /** How often to roll the office day and refresh time-dependent state (ms). */
  tickMs?: number;
  /**
   * After a commit with an unknown outcome (a failed fsync), exit the process with code 75 so the
   * supervisor restarts it and the log is recovered (`lobby device` sets it). Otherwise (a box inside
   * another process) the box stays up refusing every request, /healthz 503, until it is restarted.
   */
  exitOnStorageFailure?: boolean;
  /** The fleet long poll's `wait` in seconds (tests shorten it); default 50. */
  fleetWaitSeconds?: number;
  /** How often the dossier-status board is asked of the cloud (ms; tests shorten it): DOSSIER_BOARD_POLL_MS. */
  dossierBoardPollMs?: number;
  /**
   * Restarts the daemon (the fleet's `restart` command): `lobby device` closes the box and exits with code 75
   * for its supervisor to start it again. Absent: the box cannot restart itself and says so.
   */
  onRestart?: () => void;
  /** The last log lines for a diagnostics command; made here when the daemon makes its own logger. */
  logRing?: LogRing;
  /**
   * Called once the box closed for a switch to a new version: exits so the supervisor starts the version
   * `current` now points at (`lobby device` sets it). With it, and under the launcher (LOBBY_RELEASE_ROOT),
   * the box runs its update agent (device/update/).
   */
  restartForUpdate?: () => void;
}

export interface Box {
  mqttPort: number;
  httpPort: number;
  ledger: Ledger;
  store: EventStore;
  broker: LobbyBroker;
  directory: PeripheralDirectory;
  /** The browser screens: pairing codes (the demo prints paired URLs) and the bundles. */
  web: WebApps;
  /** The cloud uplink, when the config has a `cloud` section and the box is enrolled. */
  readonly uplink: Uplink | null;
  /** The configuration twin's long poll (device/fleet/), when the config has a `cloud` section and the box is enrolled. */
  fleet: Fleet | null;
  /** The update agent (device/update/), when the box runs under the launcher. */
  updates: UpdateAgent | null;
  /** Dossier lookups and the dossier-status board (device/dossiers/), when the config has a `cloud` section. */
  readonly dossiers: Dossiers | null;
  /** The config the box runs now (a cloud-managed box changes it live). */
  config(): BoxConfig;
  close(): Promise<void>;
}

/**
 * Opens the event log only if it is this box's log, whole and sound (store/log-identity.ts); an enrolled box
 * also asks its cloud how far it has the box's events. Throws LogRefusal, logged, when the box must not start.
 */
async function openEventLog(opts: BoxOptions, log: Logger): Promise<EventStore> {
  const cfg = opts.config;
  try {
    return await openCheckedLog({
      dataDir: opts.dataDir,
      ...(opts.configFile ? { configFile: opts.configFile } : {}),
      log,
      ...(cfg.cloud
        ? {
            cloudAckedSeq: async () =>
              (await import('./uplink/log-recovery.js')).cloudAckedSeqAtStart(cfg, opts.dataDir, log),
          }
        : {}),
    });
  } catch (err) {
    if (err instanceof LogRefusal) log.fatal({ reason: err.reason }, err.message);
    throw err;
  }
}

export async function startBox(opts: BoxOptions): Promise<Box> {
  const logRing = opts.logRing ?? (opts.log ? null : new LogRing());
  const level = process.env.LOG_LEVEL ?? 'info';
  // Beside stdout, the last lines in memory: a diagnostics command from the cloud carries them.
  const log =
    opts.log ??
    pino(
      // A phone number for an SMS (device/sms/) is never logged; should one reach a log call, it is hidden.
      { level, redact: { paths: SMS_REDACT_PATHS, censor: '[hidden]' } },
      pino.multistream([
        { level: level as Level, stream: process.stdout },
        { level: level as Level, stream: logRing as LogRing },
      ]),
    );
  const clock = opts.clock ?? Date.now;
  // A box the cloud manages runs the config the cloud sent (device/fleet/), with its file's machine-local
  // sections; loaded only with a cloud section, like the uplink.
  const fleetModule = opts.config.cloud ? await import('./fleet/index.js') : null;
  const start: StartingPoint | null = fleetModule?.startingPoint(opts.config, opts.dataDir, log) ?? null;
  const cfg = start?.config ?? opts.config;
  const store = await openEventLog(opts, log);
  for (const fix of store.modeFixes)
    log.warn(fix, 'data directory: a file or folder others could read was made owner-only');
  const ledger = new Ledger(cfg, store, clock, start?.managed?.carryover);
  const config = () => ledger.config;
  let fleet: Fleet | null = null;
  /** The config the cloud sent that the box runs, null while it runs its file's. */
  const managedConfig = () => (fleet ? fleet.managed : (start?.managed ?? null));
  // A managed box's screens paired by its cloud's codes log in with the secret paired here (fleet/).
  const pairings = fleetModule ? new fleetModule.ScreenPairings(opts.dataDir, log) : null;
  const effective = (list: BoxConfig['peripherals']) => pairings?.apply(list) ?? list;
  const directory = new PeripheralDirectory(effective(cfg.peripherals));
  const notices = fleetModule ? new fleetModule.NoticeBoard(opts.dataDir, clock, log) : null;
  const metrics = createMetrics();
  const storage = new StorageHealth({
    dataDir: opts.dataDir,
    store,
    ledger,
    clock,
    log: log.child({ part: 'storage' }),
    registry: metrics.registry,
  });
  const session = bootSession(store, storage);
  // The UPS (machine-local `ups` section), read through Network UPS Tools: device/power/.
  const upsConfig = opts.config.ups;
  const ups = upsConfig
    ? new UpsWatch({ ups: upsConfig, clock, log: log.child({ part: 'power' }), registry: metrics.registry })
    : null;
  let publishBoxState: () => Promise<void> = async () => undefined;
  /** Tells the cloud at once (a heartbeat) once the uplink runs: a short cut must not fall between two. */
  let reportPower: () => void = () => undefined;
  const power = ups
    ? new PowerGuard({
        watch: ups,
        store,
        clock,
        log: log.child({ part: 'power' }),
        ...(upsConfig?.shutdownCommand ? { shutdownCommand: upsConfig.shutdownCommand } : {}),
        onChange: () => {
          void publishBoxState();
          reportPower();
        },
      })
    : null;
  let statusOf: (id: string) => DeviceStatus | undefined = () => undefined;
  let dossiers: Dossiers | null = null;
  let spool: PrintSpool | null = null;
  const desk = createRequestDesk(config, ledger, log.child({ part: 'requests' }), {
    statusOf: (id) => statusOf(id),
    printed: (kiosk, jobId) => spool?.printed(kiosk, jobId),
    retriedTicket: (kiosk, ticketId) =>
      void spool?.retried(kiosk, ticketId).catch((err: unknown) => log.error({ err }, 'print resend failed')),
    refusal: () => power?.refusal() ?? null,
    dossierLookup: (who, topic, payload) =>
      dossiers ? dossiers.lookup(who, topic, payload) : Promise.resolve(lookupUnavailable(topic, payload)),
  });

  const broker = await LobbyBroker.create({
    directory,
    log,
    clock,
    allowedOrigins: cfg.broker.allowedOrigins ?? [],
    desk: async (who, req, topic, payload) => {
      const stop = metrics.requestSeconds.startTimer({ kind: req.kind });
      const reply = await desk(who, req, topic, payload);
      stop();
      metrics.requests.inc({ kind: req.kind, outcome: reply.error?.code ?? 'ok' });
      return reply;
    },
  });
  statusOf = (id) => broker.statusOf(id);
  const publisher = new OfficePublisher(
    config,
    directory,
    broker,
    clock,
    log.child({ part: 'effects' }),
    () => (notices ? notices.current() : null),
  );
  notices?.watch(() => void publisher.refresh(ledger.state));

  // Each ticket's QR code carries its key, so its holder can rate the visit from the phone (issue 14).
  const ticketKeys = new TicketKeys(opts.dataDir, () => ledger.config.office.id, log);

  // Messages to citizens' phones (machine-local `sms` section): numbers in memory only (device/sms/).
  const sms = opts.config.sms
    ? new SmsNotifier({
        config: () => ledger.config,
        // got only on a box that sends messages (as the uplink's only on a box with a cloud).
        send: (await import('./sms/gateway.js')).httpSmsGateway(() => ledger.config.sms),
        log: log.child({ part: 'sms' }),
      })
    : null;
  if (sms) ledger.onCommit((events, state) => sms.committed(events, state));

  const printSpool = new PrintSpool(config, directory, broker, store, clock, log.child({ part: 'print' }));
  spool = printSpool;
  ledger.onCommit((events, state) => {
    for (const e of events) metrics.events.inc({ type: e.event.type });
    publisher.committed(events, state).catch((err: unknown) => log.error({ err }, 'effects failed'));
    printSpool.committed(events).catch((err: unknown) => log.error({ err }, 'print jobs failed'));
  });

  // Roll the day if the box was off over midnight, then republish all retained state from the log. On a
  // full disk the roll waits for space; the box still comes up to answer retries from the log.
  await ledger.submit({ type: 'tick' }, { source: null }).catch((err: unknown) => {
    if (!storage.report(err)) throw err;
  });
  await publisher.refresh(ledger.state, new Set(), true);
  await publisher.announceBox(true, session, VERSION);
  const boxState = () => (power ? power.boxState(storage.boxState()) : storage.boxState());
  publishBoxState = () =>
    broker
      .publish(topics.boxState(), boxState(), { retain: true, qos: 1 })
      .catch((err: unknown) => log.error({ err }, 'box state not published'));
  await publishBoxState();
  ups?.start();
  storage.onChange(() => void publishBoxState());

  // The markers remember how far the log reached (a restored older copy is then refused): off the request path.
  const logPlace = {
    dataDir: opts.dataDir,
    ...(opts.configFile ? { configFile: opts.configFile } : {}),
    log,
  };
  let markedSeq = store.headSeq;
  const tick = async () => {
    try {
      storage.probe();
      // On a low battery the log takes no more writes (a day rolls once mains is back).
      if (power && !power.takingRequests) return;
      await ledger.submit({ type: 'tick' }, { source: null });
      await publisher.refresh(ledger.state);
      if (storage.state === 'ok') store.pruneRequests(clock() - REQUEST_REPLY_RETENTION_MS);
      if (store.headSeq !== markedSeq) {
        markedSeq = store.headSeq;
        refreshMarkers(logPlace, store);
      }
    } catch (err) {
      if (!storage.report(err)) log.error({ err }, 'tick failed');
    }
  };
  const timer = setInterval(() => void tick(), opts.tickMs ?? 30_000);
  timer.unref();

  const started = clock();
  /** The update agent's view, once it runs (under the launcher only). */
  let updateView: (() => UpdateView) | null = null;
  const health = (): Health => {
    let db = false;
    try {
      db = store.ping();
    } catch {
      db = false;
    }
    const clients = broker.connectedIds().length;
    metrics.clients.set(clients);
    metrics.waiting.set(waitingTickets(ledger.state).length);
    metrics.outbox.set(store.outboxSize());
    storage.probe();
    const disk = storage.view();
    const powerView = power?.view();
    const powerReason = powerView && !powerView.acceptingRequests ? ERRORS.power_low.en : null;
    return {
      status: db && disk.state === 'ok' && !powerReason ? 'ok' : 'degraded',
      ...(disk.reason
        ? { reason: disk.reason }
        : !db
          ? { reason: 'the event log cannot be read' }
          : powerReason
            ? { reason: powerReason }
            : {}),
      checks: { database: db, storage: disk.state === 'ok', broker: !broker.aedes.closed },
      storage: disk,
      ...(powerView ? { power: powerView } : {}),
      version: VERSION,
      office: cfg.office.id,
      // Which config the box runs: its file's, or a version its cloud sent (device/fleet/).
      config: managedConfig()
        ? { source: 'cloud', version: managedConfig()?.version, hash: managedConfig()?.hash }
        : { source: 'file' },
      day: ledger.state.day,
      uptimeSeconds: Math.round((clock() - started) / 1000),
      clients,
      lastSeq: store.headSeq,
      // Over-the-air updates: the version held and its step, or that the box runs outside the launcher.
      update: updateView ? updateView() : { running: VERSION, step: 'unmanaged' },
    };
  };
  const http = createHttpServer({ log, metrics, health });
  const configFile = opts.configFile;
  /** The config file as last read: a managed box takes only its machine-local sections. */
  let fileConfig = opts.config;
  let latestConfig = cfg;
  /** The cloud URL when the box runs a config its cloud sent: local changes are refused, naming it. */
  const managedBy = () => (managedConfig() ? (ledger.config.cloud?.url ?? null) : null);
  /** Re-reads the config file: peripherals apply at once (revoked ones are disconnected); the rest on restart. */
  const applyConfigFile = () => {
    if (!configFile) return;
    const next = loadConfigFile(configFile);
    fileConfig = next;
    if (managedBy()) {
      // Only this machine's sections (the admin password) count; the office is the cloud's.
      latestConfig = { ...ledger.config, ...fleetModule?.machineLocalOf(next) };
      ledger.reconfigure(latestConfig, ledger.carryover);
      log.info('config file re-read: a managed box takes only its machine-local sections from it');
      return;
    }
    latestConfig = next;
    const revoked = directory.replace(effective(next.peripherals));
    for (const id of revoked) broker.disconnect(id);
    void publisher.refresh(ledger.state);
    log.info(
      { peripherals: next.peripherals.length, revoked },
      'peripherals reloaded (other changes apply on restart)',
    );
  };
  const web = registerWebApps(http, {
    log: log.child({ part: 'web' }),
    config: () => latestConfig,
    configFile,
    managedBy,
    power: () => power?.view() ?? null,
    directory,
    broker,
    ledger,
    store,
    clock,
    applyConfigFile,
    sms,
    ticketKey: (ticketId: string) => ticketKeys.keyOf(ticketId),
    ...(pairings
      ? {
          pairManaged: async (deviceId: string) => {
            const p = ledger.config.peripherals.find((x) => x.id === deviceId);
            if (!p) throw new Error(`no peripheral "${deviceId}"`);
            const secret = await pairings.pair(p, new Date(clock()).toISOString());
            for (const id of directory.replace(effective(ledger.config.peripherals))) broker.disconnect(id);
            return secret;
          },
        }
      : {}),
  });
  broker.attachWebSocket(http.server);
  await http.listen({ port: opts.httpPort ?? cfg.http.port, host: cfg.http.host });
  const httpAddr = http.server.address();
  const httpPort = typeof httpAddr === 'object' && httpAddr ? httpAddr.port : cfg.http.port;
  const mqttPort = await broker.listenTcp(opts.mqttPort ?? cfg.broker.port, cfg.broker.host);
  log.info(
    {
      mqttPort,
      httpPort,
      office: cfg.office.id,
      lastSeq: store.headSeq,
      session,
      logId: store.getMeta('log_id'),
    },
    'box started',
  );

  // Over-the-air updates: only under the launcher, which knows where the versions are. Started before the
  // rest so that a version on trial starts its proof as soon as it serves.
  const updateEnv = opts.restartForUpdate
    ? (await import('./update/index.js')).updateEnvironment(opts.dataDir)
    : null;
  let resolveSelf: (box: Box) => void = () => undefined;
  const self = { promise: new Promise<Box>((resolve) => (resolveSelf = resolve)) };
  const updates =
    updateEnv && opts.restartForUpdate
      ? (await import('./update/index.js')).startUpdateAgent({
          env: updateEnv,
          dataDir: opts.dataDir,
          config,
          state: () => ledger.state,
          httpPort,
          restart: async () => {
            const box = await self.promise;
            await box.close();
            opts.restartForUpdate?.();
          },
          log: log.child({ part: 'update' }),
        })
      : null;
  if (updates) updateView = () => updates.view();

  // Hardware the box drives itself acts through the same ACL and desk as an MQTT device.
  const sessions = new Map<string, number>();
  const drivers = await DriverSet.start(
    {
      get config() {
        return ledger.config;
      },
      log: log.child({ part: 'drivers' }),
      clock,
      ticketKey: (ticketId) => ticketKeys.keyOf(ticketId),
      request: async (p, topic, payload) => {
        const reply = await broker.submitAs(
          { id: p.id, role: p.role, counter: p.counter },
          topic,
          Buffer.from(JSON.stringify(payload)),
        );
        // A lookup station's scanner wired to the box: the station's screen, logged in as the same
        // peripheral, reads the answer on its reply topic.
        if (topic === topics.dossierLookup())
          await broker
            .publish(topics.reply(p.id), reply, { qos: 1 })
            .catch((err: unknown) => log.warn({ err }, 'lookup answer not published'));
        return reply;
      },
      subscribe: (filter, handler) => broker.subscribeInternal(filter, handler),
      reportStatus: (id, status) => broker.publishStatus(id, status),
      reportPresence: async (id, online) => {
        if (online) sessions.set(id, (sessions.get(id) ?? 0) + 1);
        await broker.publishDrivenPresence(id, {
          online,
          session: sessions.get(id) ?? 0,
          ts: new Date(clock()).toISOString(),
          driven: true,
        });
      },
    },
    log.child({ part: 'drivers' }),
  );

  // Print jobs the box did not see acknowledged before it stopped go out again now that the printer drivers
  // listen; MQTT kiosks that connect later get them from the spool's periodic resend or their retry.
  await printSpool.restore();
  printSpool.start();

  // The cloud uplink (config `cloud` section): drains the outbox; the office works the same without it.
  // Loaded only when configured: a box without a cloud does not carry the HTTP client in memory.
  const uplinkModule = cfg.cloud ? await import('./uplink/index.js') : null;
  const startUplink = (config: BoxConfig) =>
    uplinkModule?.startUplink({
      config,
      dataDir: opts.dataDir,
      store,
      broker,
      directory,
      day: () => ledger.state.day,
      storage: () => storage.view(),
      ...(power ? { power: () => power.view() } : {}),
      ticketKeySecret: ticketKeys.secret,
      registry: metrics.registry,
      log: log.child({ part: 'uplink' }),
    }) ?? null;
  let uplink = startUplink(cfg);
  reportPower = () => void uplink?.heartbeat().catch(() => undefined);
  ledger.onCommit(() => uplink?.notify());
  // Dossier lookups and the dossier-status board ask the cloud: loaded, like the uplink, only with one. After
  // the power report is wired: this import yields, and a UPS change meanwhile must reach the cloud at once.
  dossiers = cfg.cloud
    ? (await import('./dossiers/index.js')).startDossiers({
        config,
        dataDir: opts.dataDir,
        publishBoard: (state) => broker.publish(topics.dossierBoard(), state, { retain: true, qos: 1 }),
        clock,
        log: log.child({ part: 'dossiers' }),
        ...(opts.dossierBoardPollMs !== undefined ? { boardPollMs: opts.dossierBoardPollMs } : {}),
      })
    : null;

  /**
   * Switches the running box to a new config (the cloud's), live: the ledger between two commits, then the
   * peripherals (revoked or rebound ones disconnected, the rest keep their connections), the drivers whose
   * settings changed, the uplink if the cloud section changed, and the retained screen topics.
   */
  const applyLive = async (next: BoxConfig, carryover: Carryover) => {
    if (closed) return;
    const prev = ledger.config;
    ledger.reconfigure(next, carryover);
    latestConfig = next;
    const revoked = directory.replace(effective(next.peripherals));
    for (const id of revoked) broker.disconnect(id);
    const drivenChanges = await drivers.reconcile(prev, next);
    if (!equal(prev.cloud, next.cloud)) {
      await uplink?.stop();
      uplink = startUplink(next);
    }
    await publisher.refresh(ledger.state);
    log.info({ disconnected: revoked, drivers: drivenChanges }, 'config applied live');
  };
  let closed = false;
  fleet =
    fleetModule && start
      ? fleetModule.startFleet({
          start,
          dataDir: opts.dataDir,
          log: log.child({ part: 'fleet' }),
          config,
          localConfig: () => fileConfig,
          carryoverFor: (next) => ledger.carryoverFor(next),
          applyLive,
          ...(opts.fleetWaitSeconds !== undefined ? { waitSeconds: opts.fleetWaitSeconds } : {}),
          // The poll's `software` part goes to the update agent (only under the launcher).
          ...(updates
            ? { softwareHeld: () => updates.softwareHeld(), onSoftware: (t) => updates.onSoftware(t) }
            : {}),
          commands: {
            runners: fleetModule.boxCommandRunners({
              dataDir: opts.dataDir,
              config,
              ledger,
              store,
              directory,
              spool: printSpool,
              publish: (topic, payload, o) => broker.publish(topic, payload, o),
              statusOf: (id) => broker.statusOf(id),
              presenceOf: (id) => broker.presenceOf(id),
              refresh: () => publisher.refresh(ledger.state),
              notices: notices as NoticeBoard,
              pairing: web.pairing,
              origin: () => lanOrigins(httpPort)[0] ?? `http://127.0.0.1:${httpPort}`,
              health,
              versions: () => ({
                software: VERSION,
                node: process.version,
                config: managedConfig()
                  ? {
                      source: 'cloud',
                      version: managedConfig()?.version ?? 0,
                      hash: managedConfig()?.hash ?? '',
                    }
                  : { source: 'file' },
              }),
              logs: logRing,
              startedAt: started,
              clock,
              log: log.child({ part: 'commands' }),
            }),
            restart: opts.onRestart
              ? () => {
                  log.warn('fleet: restarting the daemon, as the cloud asked');
                  // After the running mark is on disk (commands.ts), outside the command's own turn.
                  setImmediate(() => opts.onRestart?.());
                }
              : null,
            restarted: () => ({ startedAt: new Date(started).toISOString(), version: VERSION }),
          },
        })
      : null;

  if (configFile) {
    watchFile(configFile, { interval: 1000 }, () => {
      try {
        applyConfigFile();
      } catch (err) {
        const msg = err instanceof ConfigError ? err.message : String(err);
        log.error(
          { err: msg },
          'config change ignored: the file is invalid; the box keeps the last good config',
        );
      }
    });
  }

  const exitOnFailure = (view: { state: string }) => {
    if (view.state !== 'failed') return;
    // Crash-only: the log is not closed (no checkpoint after a failed fsync); the next start recovers it.
    // The replies to the failed batch (storage_failed) and the box state get a moment to go out first.
    closed = true;
    clearInterval(timer);
    setTimeout(() => {
      const stop = Promise.all([fleet?.stop(), uplink?.stop(), broker.close(), http.close()]);
      const bound = new Promise((r) => setTimeout(r, 2000));
      void Promise.race([stop, bound]).finally(() => process.exit(SUPERVISOR_RESTART_EXIT_CODE));
    }, 250);
  };
  if (opts.exitOnStorageFailure) {
    storage.onChange(exitOnFailure);
    exitOnFailure(storage.view()); // a write at start (the boot counter, the first tick) may have failed
  }
  const box: Box = {
    mqttPort,
    httpPort,
    ledger,
    store,
    broker,
    directory,
    web,
    get uplink() {
      return uplink;
    },
    get dossiers() {
      return dossiers;
    },
    fleet,
    updates,
    config,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      ups?.stop();
      await power?.settled();
      await updates?.stop();
      printSpool.stop();
      notices?.stop();
      await fleet?.stop();
      await drivers.close();
      if (configFile) unwatchFile(configFile);
      await uplink?.stop();
      await dossiers?.stop();
      await publisher.announceBox(false, session, VERSION).catch(() => undefined);
      await broker.close();
      await http.close();
      refreshMarkers(logPlace, store);
      store.close();
      log.info('box stopped');
    },
  };
  resolveSelf(box);
  return box;
}

/** The presence session: the boot counter, incremented; on a full disk the last one + 1, not saved. */
function bootSession(store: EventStore, storage: StorageHealth): number {
  try {
    return store.nextBootSession();
  } catch (err) {
    if (!storage.report(err)) throw err;
    return store.lastBootSession() + 1;
  }
}
