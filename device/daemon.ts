// The box daemon (`lobby device`): builds each part once, wires them, and owns their lifecycle.
import { unwatchFile, watchFile } from 'node:fs';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { LobbyBroker } from './broker/broker.js';
import { PeripheralDirectory } from './broker/directory.js';
import { ConfigError, loadConfigFile } from './config/load.js';
import type { BoxConfig } from './config/schema.js';
import { startDrivers, type Driver } from './drivers/index.js';
import { OfficePublisher } from './effects/office-publisher.js';
import { PrintSpool } from './effects/print-spool.js';
import { waitingTickets } from './engine/index.js';
import { createHttpServer } from './http/server.js';
import { Ledger } from './ledger.js';
import { createMetrics } from './metrics.js';
import { createRequestDesk } from './requests.js';
import { EventStore } from './store/event-store.js';
import type { Uplink } from './uplink/index.js';
import { VERSION } from './version.js';
import { registerWebApps, type WebApps } from './web/routes.js';
import { REQUEST_REPLY_RETENTION_MS, topics, type DeviceStatus } from '../protocol/index.js';

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
  uplink: Uplink | null;
  close(): Promise<void>;
}

export async function startBox(opts: BoxOptions): Promise<Box> {
  const cfg = opts.config;
  const log = opts.log ?? pino({ level: process.env.LOG_LEVEL ?? 'info' });
  const clock = opts.clock ?? Date.now;
  const store = new EventStore(join(opts.dataDir, 'events.db'));
  const session = store.nextBootSession();
  const ledger = new Ledger(cfg, store, clock);
  const directory = new PeripheralDirectory(cfg.peripherals);
  const metrics = createMetrics();
  let statusOf: (id: string) => DeviceStatus | undefined = () => undefined;
  let spool: PrintSpool | null = null;
  const desk = createRequestDesk(cfg, ledger, log.child({ part: 'requests' }), {
    statusOf: (id) => statusOf(id),
    printed: (kiosk, jobId) => spool?.printed(kiosk, jobId),
    retriedTicket: (kiosk, ticketId) =>
      void spool?.retried(kiosk, ticketId).catch((err: unknown) => log.error({ err }, 'print resend failed')),
  });

  const broker = await LobbyBroker.create({
    directory,
    log,
    desk: async (who, req, topic, payload) => {
      const stop = metrics.requestSeconds.startTimer({ kind: req.kind });
      const reply = await desk(who, req, topic, payload);
      stop();
      metrics.requests.inc({ kind: req.kind, outcome: reply.error?.code ?? 'ok' });
      return reply;
    },
  });
  statusOf = (id) => broker.statusOf(id);
  const publisher = new OfficePublisher(cfg, directory, broker, clock, log.child({ part: 'effects' }));

  const printSpool = new PrintSpool(cfg, directory, broker, store, clock, log.child({ part: 'print' }));
  spool = printSpool;
  ledger.onCommit((events, state) => {
    for (const e of events) metrics.events.inc({ type: e.event.type });
    publisher.committed(events, state).catch((err: unknown) => log.error({ err }, 'effects failed'));
    printSpool.committed(events).catch((err: unknown) => log.error({ err }, 'print jobs failed'));
  });

  // Roll the day if the box was off over midnight, then republish all retained state from the log.
  await ledger.submit({ type: 'tick' }, { source: null });
  await publisher.refresh(ledger.state, new Set(), true);
  await publisher.announceBox(true, session, VERSION);

  const tick = async () => {
    try {
      await ledger.submit({ type: 'tick' }, { source: null });
      await publisher.refresh(ledger.state);
      store.pruneRequests(clock() - REQUEST_REPLY_RETENTION_MS);
    } catch (err) {
      log.error({ err }, 'tick failed');
    }
  };
  const timer = setInterval(() => void tick(), opts.tickMs ?? 30_000);
  timer.unref();

  const started = clock();
  const http = createHttpServer({
    log,
    metrics,
    health: () => {
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
      return {
        status: db ? 'ok' : 'degraded',
        checks: { database: db, broker: !broker.aedes.closed },
        version: VERSION,
        office: cfg.office.id,
        day: ledger.state.day,
        uptimeSeconds: Math.round((clock() - started) / 1000),
        clients,
        lastSeq: store.headSeq,
      };
    },
  });
  const configFile = opts.configFile;
  let latestConfig = cfg;
  /** Re-reads the config file: peripherals apply at once (revoked ones are disconnected); the rest on restart. */
  const applyConfigFile = () => {
    if (!configFile) return;
    const next = loadConfigFile(configFile);
    latestConfig = next;
    const revoked = directory.replace(next.peripherals);
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
    directory,
    broker,
    ledger,
    store,
    clock,
    applyConfigFile,
  });
  broker.attachWebSocket(http.server);
  await http.listen({ port: opts.httpPort ?? cfg.http.port, host: cfg.http.host });
  const httpAddr = http.server.address();
  const httpPort = typeof httpAddr === 'object' && httpAddr ? httpAddr.port : cfg.http.port;
  const mqttPort = await broker.listenTcp(opts.mqttPort ?? cfg.broker.port, cfg.broker.host);
  log.info({ mqttPort, httpPort, office: cfg.office.id, lastSeq: store.headSeq, session }, 'box started');

  // Hardware the box drives itself acts through the same ACL and desk as an MQTT device.
  const sessions = new Map<string, number>();
  const drivers: Driver[] = await startDrivers(
    {
      config: cfg,
      log: log.child({ part: 'drivers' }),
      clock,
      request: (p, topic, payload) =>
        broker.submitAs(
          { id: p.id, role: p.role, counter: p.counter },
          topic,
          Buffer.from(JSON.stringify(payload)),
        ),
      subscribe: (filter, handler) => broker.subscribeInternal(filter, handler),
      reportStatus: (id, status) => broker.publishStatus(id, status),
      reportPresence: async (id, online) => {
        if (online) sessions.set(id, (sessions.get(id) ?? 0) + 1);
        await broker.publish(
          topics.presence(id),
          { online, session: sessions.get(id) ?? 0, ts: new Date(clock()).toISOString(), driven: true },
          { retain: true },
        );
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
  const uplink = !cfg.cloud
    ? null
    : (await import('./uplink/index.js')).startUplink({
        config: cfg,
        dataDir: opts.dataDir,
        store,
        broker,
        directory,
        day: () => ledger.state.day,
        registry: metrics.registry,
        log: log.child({ part: 'uplink' }),
      });
  if (uplink) ledger.onCommit(() => uplink.notify());

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

  let closed = false;
  return {
    mqttPort,
    httpPort,
    ledger,
    store,
    broker,
    directory,
    web,
    uplink,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      printSpool.stop();
      for (const d of drivers)
        await d.close().catch((err: unknown) => log.warn({ err }, 'driver close failed'));
      if (configFile) unwatchFile(configFile);
      await uplink?.stop();
      await publisher.announceBox(false, session, VERSION).catch(() => undefined);
      await broker.close();
      await http.close();
      store.close();
      log.info('box stopped');
    },
  };
}
