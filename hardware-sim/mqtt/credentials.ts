// Device credentials as `lobby demo` keeps them (demo-credentials.json): [{id, role, counter?, secret}],
// and the simulated device for each role.
import { readFileSync } from 'node:fs';
import { Type, type Static } from '@sinclair/typebox';
import { DEVICE_ID_PATTERN, ROLES, schemaIssues, isValid } from '../../protocol/index.js';
import type { SimDevice, SimDeviceOptions } from './device.js';
import { SimKiosk } from './kiosk.js';
import { SimKeypad } from './keypad.js';
import { SimRatingBox } from './rating-box.js';
import { SimScanner } from './scanner.js';
import { SimAnnouncer, SimLedBoard } from './outputs.js';
import { SimDisplay } from './display.js';
import { SimLookupStation } from './lookup-station.js';

export const DeviceCredential = Type.Object(
  {
    id: Type.String({ pattern: DEVICE_ID_PATTERN }),
    role: Type.Union(ROLES.map((r) => Type.Literal(r))),
    counter: Type.Optional(Type.Integer({ minimum: 1, maximum: 9999 })),
    secret: Type.String({ minLength: 1 }),
    name: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);
export type DeviceCredential = Static<typeof DeviceCredential>;
const CredentialList = Type.Array(DeviceCredential);

/** Reads a credentials file; the error names the file and the entry that is wrong. */
export function loadCredentials(file: string): DeviceCredential[] {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: cannot read credentials (${(e as Error).message})`);
  }
  if (!isValid(CredentialList, value)) {
    const issues = schemaIssues(CredentialList, value)
      .slice(0, 3)
      .map((i) => `${i.path}: ${i.message}`);
    throw new Error(
      `${file}: not a credentials list [{"id","role","counter"?,"secret"}]: ${issues.join('; ')}`,
    );
  }
  return value;
}

export type AnySimDevice =
  | SimKiosk
  | SimKeypad
  | SimRatingBox
  | SimScanner
  | SimLedBoard
  | SimAnnouncer
  | SimDisplay
  | SimLookupStation;

/** The simulated device for a credential (a clerk panel acts as a keypad). */
export function simDeviceFor(
  cred: DeviceCredential,
  url: string,
  opts: Partial<SimDeviceOptions> = {},
): AnySimDevice {
  const base: SimDeviceOptions = { url, id: cred.id, secret: cred.secret, ...opts };
  const counter = cred.counter ?? 0;
  switch (cred.role) {
    case 'kiosk':
      return new SimKiosk(base);
    case 'keypad':
    case 'clerk-panel':
      return new SimKeypad({ ...base, counter });
    case 'rating':
      return new SimRatingBox({ ...base, counter });
    case 'scanner':
      return new SimScanner({ ...base, counter });
    case 'ledboard':
      return new SimLedBoard(base);
    case 'announcer':
      return new SimAnnouncer(base);
    case 'display':
      return new SimDisplay(base);
    case 'lookup':
      return new SimLookupStation(base);
  }
}

export type { SimDevice };
