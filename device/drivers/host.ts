// What a box-side hardware driver gets from the daemon. A driver acts for one configured peripheral (a
// keypad on GPIO, an LED board on the RS-485 bus, the kiosk's thermal printer): it turns the peripheral's
// wire protocol into the same requests an MQTT-native device would publish, and the same outputs
// (LED text, print jobs, announcements, rating sessions) into bytes on its wire. So the ACL, the request
// desk and the topics are the ones of protocol/, whichever way the hardware is attached.
import type { Logger } from 'pino';
import type { DeviceStatus, Reply } from '../../protocol/index.js';
import type { BoxConfig, PeripheralConfig } from '../config/schema.js';

export interface DriverHost {
  readonly config: BoxConfig;
  readonly log: Logger;
  readonly clock: () => number;
  /** The key a ticket's QR code carries (issue 14; absent: the QR code holds the public address only). */
  readonly ticketKey?: (ticketId: string) => string;
  /**
   * Submits a request as `peripheral` on a request topic (e.g. `topics.counterCommand(3, 'next')`), with
   * the same ACL and ledger path as an MQTT publish. Resolves with the reply once the events are durable.
   */
  request(peripheral: PeripheralConfig, topic: string, payload: object): Promise<Reply>;
  /**
   * Subscribes in-process to a topic filter, typically `lobby/v1/devices/<id>/#` (the outputs addressed to
   * the peripheral) or a state topic. Retained messages are delivered. Returns the unsubscribe function.
   */
  subscribe(filter: string, handler: (topic: string, payload: Buffer) => void): () => void;
  /** Publishes (retained) the driven peripheral's health on `lobby/v1/status/<id>`. */
  reportStatus(id: string, status: DeviceStatus): Promise<void>;
  /** Publishes (retained) the driven peripheral's presence: online while its hardware answers. */
  reportPresence(id: string, online: boolean): Promise<void>;
}

/** A running driver. */
export interface Driver {
  close(): Promise<void>;
}

/** Starts the driver for one peripheral whose `driver` config has this factory's kind. */
export type DriverFactory = (host: DriverHost, peripheral: PeripheralConfig) => Promise<Driver>;
