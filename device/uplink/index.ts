// Wiring of the uplink into the box: reads the credential, builds the heartbeat's view of the peripherals.
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Heartbeat, PeripheralHealth } from '../../protocol/index.js';
import type { LobbyBroker } from '../broker/broker.js';
import type { PeripheralDirectory } from '../broker/directory.js';
import type { BoxConfig } from '../config/schema.js';
import type { EventStore } from '../store/event-store.js';
import { VERSION } from '../version.js';
import { credentialPath, credentialTooOpen, readCredential } from './credential.js';
import { Uplink, type UplinkOptions } from './uplink.js';

export { Uplink, backoffDelay } from './uplink.js';
export {
  enrollBox,
  readCredential,
  writeCredential,
  credentialPath,
  type BoxCredential,
} from './credential.js';

export interface StartUplinkOptions {
  config: BoxConfig;
  dataDir: string;
  store: EventStore;
  broker: LobbyBroker;
  directory: PeripheralDirectory;
  day: () => string | null;
  /** The event log's health, for the heartbeat. */
  storage?: () => Heartbeat['storage'];
  /** The UPS, when the box watches one. */
  power?: () => Heartbeat['power'];
  /** The box's ticket-key secret (device/ticket-keys.ts), for the cloud to check tickets' keys. */
  ticketKeySecret?: string;
  registry?: Registry;
  log: Logger;
  retry?: UplinkOptions['retry'];
}

/** Starts the uplink when the config asks for one and the box is enrolled; null otherwise (said in the log). */
export function startUplink(o: StartUplinkOptions): Uplink | null {
  const cloud = o.config.cloud;
  if (!cloud) return null;
  const file = credentialPath(o.config, o.dataDir);
  let credential;
  try {
    credential = readCredential(file);
  } catch (err) {
    o.log.error({ err: (err as Error).message, file }, 'uplink off: the credential file is unreadable');
    return null;
  }
  if (!credential) {
    o.log.error(
      { file, cloud: cloud.url },
      'uplink off: this box is not enrolled; run `lobby provision box --claim <code>` (events are kept meanwhile)',
    );
    return null;
  }
  if (credentialTooOpen(file))
    o.log.warn({ file }, 'the cloud credential file is readable by others: chmod 600 it');
  const uplink = new Uplink({
    store: o.store,
    config: cloud,
    credential: { ...credential, cloudUrl: cloud.url },
    officeId: o.config.office.id,
    version: VERSION,
    dataDir: o.dataDir,
    log: o.log,
    ...(o.registry ? { registry: o.registry } : {}),
    retry: o.retry ?? { baseMs: cloud.retryBaseMs, capMs: cloud.retryCapSeconds * 1000 },
    health: () => ({
      day: o.day(),
      peripherals: peripheralHealth(o.directory, o.broker),
      ...(o.storage ? { storage: o.storage() } : {}),
      ...(o.power ? { power: o.power() } : {}),
      ...(o.ticketKeySecret ? { ticketKeySecret: o.ticketKeySecret } : {}),
    }),
  });
  uplink.start();
  o.log.info(
    { cloud: cloud.url, box: credential.boxId, backlog: o.store.outboxBacklog().events },
    'uplink started',
  );
  return uplink;
}

/** Each configured peripheral: presence (null when never heard from) and its last status message. */
export function peripheralHealth(directory: PeripheralDirectory, broker: LobbyBroker): PeripheralHealth[] {
  return directory.all().map((p) => {
    const presence = broker.presenceOf(p.id);
    const status = broker.statusOf(p.id);
    const h: PeripheralHealth = {
      id: p.id,
      role: p.role,
      online: presence ? presence.online : null,
      status: status ? (status as Record<string, unknown>) : null,
    };
    if (p.counter !== undefined) h.counter = p.counter;
    return h;
  });
}
