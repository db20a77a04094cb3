// Config of the byte-stream drivers (serial port, RS-485 bus, TCP, device file): ticket printer, LED boards,
// serial keypads, barcode scanners. Owned by the serial drivers; referenced from ../config.ts.
// Defaults are written in each description and applied by the drivers (TypeBox does not fill defaults
// inside a union).
import { Type, type Static } from '@sinclair/typebox';
import type { Role, SchemaIssue } from '../index.js';
import type { BoxConfig } from './schema.js';

const Ms = (description: string, minimum = 10) => Type.Integer({ minimum, maximum: 3_600_000, description });

/** Where the bytes go: chosen by config, never by code. */
export const LinkConfig = Type.Union(
  [
    Type.Object(
      {
        path: Type.String({ minLength: 1, description: 'Serial port, e.g. /dev/ttyUSB0 or /dev/ttyAMA0' }),
        baudRate: Type.Integer({ minimum: 300, maximum: 4_000_000, description: 'e.g. 9600, 115200' }),
        dataBits: Type.Optional(Type.Union([Type.Literal(7), Type.Literal(8)])),
        parity: Type.Optional(
          Type.Union([Type.Literal('none'), Type.Literal('even'), Type.Literal('odd')], {
            description: 'Default none',
          }),
        ),
        stopBits: Type.Optional(Type.Union([Type.Literal(1), Type.Literal(2)])),
      },
      { additionalProperties: false },
    ),
    Type.Object(
      {
        tcp: Type.String({
          pattern: '^[^\\s:]+:[0-9]{1,5}$',
          description:
            'host:port of a raw TCP byte stream: a network printer (9100), an RS-485-to-Ethernet ' +
            'converter or ser2net, or a simulator',
        }),
      },
      { additionalProperties: false },
    ),
    Type.Object(
      {
        file: Type.String({
          minLength: 1,
          description: 'A character device opened read-write, e.g. /dev/usb/lp0 (USB printer class)',
        }),
      },
      { additionalProperties: false },
    ),
  ],
  { description: 'A byte stream: {path, baudRate} | {tcp: "host:port"} | {file}' },
);
export type LinkConfig = Static<typeof LinkConfig>;

const Reconnect = Type.Object(
  {
    minMs: Type.Optional(Ms('First delay before reconnecting a dropped link. Default 500')),
    maxMs: Type.Optional(Ms('Longest delay between attempts (the delay doubles). Default 10000')),
  },
  { additionalProperties: false },
);
export type ReconnectConfig = Static<typeof Reconnect>;

export const EscposDriverConfig = Type.Object(
  {
    kind: Type.Literal('escpos'),
    link: LinkConfig,
    reconnect: Type.Optional(Reconnect),
    paper: Type.Optional(
      Type.Union([Type.Literal('58mm'), Type.Literal('80mm')], {
        description: 'Roll width: 58mm prints 384 dots, 80mm 576 dots. Default 80mm',
      }),
    ),
    dots: Type.Optional(
      Type.Integer({
        minimum: 128,
        maximum: 1024,
        multipleOf: 8,
        description: 'Printable width in dots when the model differs from its paper (e.g. 512)',
      }),
    ),
    text: Type.Optional(
      Type.Union([Type.Literal('raster'), Type.Literal('codepage'), Type.Literal('ascii')], {
        description:
          'raster (default): the whole ticket is one image (GS v 0), Vietnamese on any printer. ' +
          'codepage: printer fonts with a Vietnamese code page (see codepages). ascii: printer fonts, ' +
          'diacritics removed',
      }),
    ),
    codepages: Type.Optional(
      Type.Record(Type.String({ pattern: '^[a-z0-9-]+$' }), Type.Integer({ minimum: 0, maximum: 255 }), {
        description:
          'codepage mode: code page name -> the ESC t number of this model. Default the Epson ' +
          'numbering {tcvn3: 30, tcvn3capitals: 31}; e.g. {windows1258: 52} for other vendors',
      }),
    ),
    status: Type.Optional(
      Type.Boolean({
        description:
          'Poll real-time status (DLE EOT). Default true, false on a {file} link; when false the printer is ' +
          'taken as ready while the link is open',
      }),
    ),
    statusPollMs: Type.Optional(Ms('How often to read the printer status. Default 2000')),
    statusTimeoutMs: Type.Optional(Ms('No status reply within this: the printer is offline. Default 1000')),
    retryWindowMs: Type.Optional(
      Ms(
        'A ticket the printer could not finish is printed again if it comes back within this window, ' +
          'else dropped with an error. Default 60000',
        0,
      ),
    ),
    cut: Type.Optional(
      Type.Union([Type.Literal('full'), Type.Literal('partial')], { description: 'Default partial' }),
    ),
  },
  { additionalProperties: false },
);
export type EscposDriverConfig = Static<typeof EscposDriverConfig>;

export const LedRs485DriverConfig = Type.Object(
  {
    kind: Type.Literal('led-rs485'),
    bus: Type.String({ minLength: 1, description: 'Id of a bus in hardware.serial.buses' }),
    address: Type.Integer({ minimum: 1, maximum: 247, description: 'The board address on the bus' }),
    columns: Type.Integer({ minimum: 1, maximum: 64, description: 'Characters per line' }),
    lines: Type.Integer({ minimum: 1, maximum: 4, description: 'Text lines' }),
    glyphs: Type.Optional(
      Type.Union([Type.Literal('vi'), Type.Literal('ascii')], {
        description: 'vi: the board has Vietnamese letters; ascii (default): diacritics are removed',
      }),
    ),
    brightness: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 100,
        description: 'Cap on the brightness the box asks for, percent (a board facing a dark corridor)',
      }),
    ),
  },
  { additionalProperties: false },
);
export type LedRs485DriverConfig = Static<typeof LedRs485DriverConfig>;

const LineDeviceFields = {
  link: LinkConfig,
  reconnect: Type.Optional(Reconnect),
  maxLineBytes: Type.Optional(
    Type.Integer({
      minimum: 8,
      maximum: 1024,
      description:
        'Longer lines are rejected as noise. Default 128 (keypad), 64 (scanner: a dossier code is at most 64)',
    }),
  ),
};

export const SerialKeypadDriverConfig = Type.Object(
  { kind: Type.Literal('serial-keypad'), ...LineDeviceFields },
  { additionalProperties: false },
);
export type SerialKeypadDriverConfig = Static<typeof SerialKeypadDriverConfig>;

export const SerialScannerDriverConfig = Type.Object(
  { kind: Type.Literal('serial-scanner'), ...LineDeviceFields },
  { additionalProperties: false },
);
export type SerialScannerDriverConfig = Static<typeof SerialScannerDriverConfig>;

/**
 * A receipt scanner on a dossier lookup station, wired to the box (serial, USB-CDC or a line stream): each
 * line is a code to look up as the station; its screen, logged in as the same peripheral, shows the answer.
 */
export const SerialLookupScannerDriverConfig = Type.Object(
  { kind: Type.Literal('serial-lookup-scanner'), ...LineDeviceFields },
  { additionalProperties: false },
);
export type SerialLookupScannerDriverConfig = Static<typeof SerialLookupScannerDriverConfig>;

export const SERIAL_DRIVER_CONFIGS = [
  EscposDriverConfig,
  LedRs485DriverConfig,
  SerialKeypadDriverConfig,
  SerialScannerDriverConfig,
  SerialLookupScannerDriverConfig,
] as const;

export const Rs485BusConfig = Type.Object(
  {
    id: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,31}$' }),
    link: LinkConfig,
    reconnect: Type.Optional(Reconnect),
    replyTimeoutMs: Type.Optional(Ms('How long a board has to answer a frame. Default 300')),
    retries: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 10, description: 'Resends after a timeout or NAK. Default 2' }),
    ),
    pollMs: Type.Optional(
      Ms('Every board is pinged this often; a dead board is found and a revived one resynced. Default 10000'),
    ),
  },
  { additionalProperties: false },
);
export type Rs485BusConfig = Static<typeof Rs485BusConfig>;

/** Box-level resources shared by several peripherals: the RS-485 buses the LED boards hang on. */
export const SerialHardware = Type.Object(
  { buses: Type.Optional(Type.Array(Rs485BusConfig, { maxItems: 16 })) },
  { additionalProperties: false },
);
export type SerialHardware = Static<typeof SerialHardware>;

/** The role each byte-stream driver kind acts as (checked for all drivers in ../config.ts). */
export const SERIAL_KIND_ROLE: Record<string, Role> = {
  escpos: 'kiosk',
  'led-rs485': 'ledboard',
  'serial-keypad': 'keypad',
  'serial-scanner': 'scanner',
  'serial-lookup-scanner': 'lookup',
};

/** What the schema cannot say: bus references, one address per board on a bus. */
export function serialConfigIssues(cfg: BoxConfig): SchemaIssue[] {
  const issues: SchemaIssue[] = [];
  const buses = cfg.hardware?.serial?.buses ?? [];
  const busIds = new Set<string>();
  buses.forEach((b, i) => {
    if (busIds.has(b.id))
      issues.push({ path: `hardware.serial.buses[${i}].id`, message: `duplicate bus id "${b.id}"` });
    busIds.add(b.id);
  });
  const addresses = new Map<string, string>();
  cfg.peripherals.forEach((p, i) => {
    const d = p.driver as ({ kind: string } & Record<string, unknown>) | undefined;
    if (!d || !(d.kind in SERIAL_KIND_ROLE)) return;
    const path = `peripherals[${i}].driver`;
    if (d.kind !== 'led-rs485') return;
    const led = d as unknown as LedRs485DriverConfig;
    if (!busIds.has(led.bus))
      issues.push({ path: `${path}.bus`, message: `no bus "${led.bus}" in hardware.serial.buses` });
    const key = `${led.bus}/${led.address}`;
    const owner = addresses.get(key);
    if (owner)
      issues.push({
        path: `${path}.address`,
        message: `address ${led.address} on bus ${led.bus} is already ${owner}'s`,
      });
    else addresses.set(key, p.id);
  });
  return issues;
}
