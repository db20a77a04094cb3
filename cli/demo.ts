// `lobby demo`: a whole office on this machine with nothing to install. Each part adds itself here.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import type { Role } from '../protocol/index.js';
import { randomBytes } from 'node:crypto';
import { loadConfigFile, setInConfigFile } from '../device/config/load.js';
import { startBox, type Box } from '../device/daemon.js';
import { hashAdminPassword } from '../device/web/admin-auth.js';
import { addPeripheral, createPeripheral } from '../provisioning/peripherals.js';
import { manageDemoOffice, startDemoCloud } from './demo-cloud.js';
import { DEMO_DAY_SPEED, demoBoxLog, startDemoHardware, withDemoHardware } from './demo-hardware.js';

export interface DemoOptions {
  dataDir: string;
  mqttPort?: number;
  httpPort?: number;
  cloudPort?: number;
  /** First port of the simulated hardware (0: any free ports); default the ports in the demo config. */
  hardwarePort?: number;
  /** Pace of the simulated office day (x real time); 0: no simulated day. */
  daySpeed?: number;
}

interface Credential {
  id: string;
  role: Role;
  counter?: number;
  secret: string;
}

const here = dirname(fileURLToPath(import.meta.url));
/** config/ sits at the package root: two levels up from dist/cli, one from cli/. */
function templatePath(): string {
  for (const up of ['..', '../..']) {
    const p = resolve(here, up, 'config', 'demo-office.yaml');
    if (existsSync(p)) return p;
  }
  throw new Error('config/demo-office.yaml not found next to the lobby package');
}

/** The demo's peripherals: one of each per counter, as a district office's equipment list has. */
function demoPeripherals(counters: number[]): { id: string; role: Role; counter?: number }[] {
  const list: { id: string; role: Role; counter?: number }[] = [
    { id: 'kiosk-1', role: 'kiosk' },
    { id: 'display-tv', role: 'display' },
    { id: 'announcer-1', role: 'announcer' },
    { id: 'led-entrance', role: 'ledboard' },
  ];
  for (const n of counters) {
    list.push({ id: `keypad-${n}`, role: 'keypad', counter: n });
    list.push({ id: `led-${n}`, role: 'ledboard', counter: n });
    list.push({ id: `rating-${n}`, role: 'rating', counter: n });
  }
  list.push({ id: 'clerk-panel-1', role: 'clerk-panel', counter: 1 });
  return list;
}

/** First run: copy the demo office and create its peripherals; the secrets are kept for the demo only. */
async function prepare(dataDir: string): Promise<{ configFile: string; credentials: Credential[] }> {
  mkdirSync(dataDir, { recursive: true });
  const configFile = join(dataDir, 'office.yaml');
  const credFile = join(dataDir, 'demo-credentials.json');
  if (existsSync(configFile) && existsSync(credFile)) {
    return { configFile, credentials: JSON.parse(readFileSync(credFile, 'utf8')) as Credential[] };
  }
  const doc = parseDocument(readFileSync(templatePath(), 'utf8'));
  const counters = (doc.toJS() as { counters: { number: number }[] }).counters.map((c) => c.number);
  const credentials: Credential[] = [];
  const peripherals = [];
  for (const p of demoPeripherals(counters)) {
    const { peripheral, secret } = await createPeripheral(p);
    peripherals.push(peripheral);
    credentials.push({ ...p, secret });
  }
  doc.setIn(['peripherals'], peripherals);
  writeFileSync(configFile, doc.toString(), { mode: 0o600 });
  writeFileSync(credFile, JSON.stringify(credentials, null, 2), { mode: 0o600 });
  return { configFile, credentials };
}

/** The browser screens of the demo: each its own peripheral, paired by a one-time URL printed at start. */
const DEMO_SCREENS: { id: string; role: Role; counter?: number; page: string; what: string }[] = [
  { id: 'tv-lobby', role: 'display', page: '/tv', what: 'Lobby TV (màn hình sảnh)' },
  { id: 'kiosk-screen', role: 'kiosk', page: '/kiosk', what: 'Kiosk (lấy số)' },
  { id: 'clerk-screen-1', role: 'clerk-panel', counter: 1, page: '/clerk', what: 'Clerk panel, counter 1' },
  { id: 'rating-screen-1', role: 'rating', counter: 1, page: '/rating', what: 'Rating tablet, counter 1' },
];

/**
 * Adds the screens' peripherals (older demo folders lack them) and a random admin password, kept for the
 * demo only: a real box has no admin password until someone sets one.
 */
async function prepareScreens(dataDir: string, configFile: string): Promise<string> {
  const existing = new Set(loadConfigFile(configFile).peripherals.map((p) => p.id));
  for (const s of DEMO_SCREENS)
    if (!existing.has(s.id)) await addPeripheral(configFile, { id: s.id, role: s.role, counter: s.counter });
  const passwordFile = join(dataDir, 'demo-admin-password.txt');
  if (!existsSync(passwordFile) || !loadConfigFile(configFile).admin?.passwordHash) {
    const password = randomBytes(12).toString('base64url');
    setInConfigFile(configFile, ['admin', 'passwordHash'], await hashAdminPassword(password));
    writeFileSync(passwordFile, password + '\n', { mode: 0o600 });
  }
  return readFileSync(passwordFile, 'utf8').trim();
}

export async function runDemo(opts: DemoOptions): Promise<Box> {
  const { configFile, credentials } = await prepare(opts.dataDir);
  const adminPassword = await prepareScreens(opts.dataDir, configFile);
  const demoCloud = await startDemoCloud({ dataDir: opts.dataDir, configFile, port: opts.cloudPort });
  const hardware = await startDemoHardware({ ...opts, configFile });
  await manageDemoOffice(demoCloud.cloud, configFile, opts.dataDir);
  const config = loadConfigFile(configFile);
  const box = await startBox({
    config,
    configFile,
    dataDir: opts.dataDir,
    log: demoBoxLog(opts.dataDir),
    mqttPort: opts.mqttPort,
    httpPort: opts.httpPort,
  });
  const cred = (id: string) => credentials.find((c) => c.id === id) as Credential;
  const kiosk = cred('kiosk-1');
  const keypad = cred('keypad-1');
  const display = cred('display-tv');
  const m = `-h 127.0.0.1 -p ${box.mqttPort}`;
  const web = `http://127.0.0.1:${box.httpPort}`;
  // One-time codes: the first browser to open each URL becomes that screen (it keeps its credential).
  const screens = DEMO_SCREENS.map((s) => {
    const { code } = box.web.pairing.create(s.id, 12 * 3_600_000);
    return `  ${s.what.padEnd(26)} ${web}/pair?code=${code}`;
  }).join('\n');
  console.log(`
${config.office.name} — demo office is running

Open the screens in a browser (each link pairs once, then goes to ${web}${DEMO_SCREENS[0]?.page ?? '/tv'} etc.):
${screens}
  Admin page                 ${web}/admin   (password: ${adminPassword})
  Add ?lang=en for English. Links printed at each start; a browser already paired just opens the page.

  MQTT (devices)      mqtt://127.0.0.1:${box.mqttPort}
  MQTT (browser apps) ws://127.0.0.1:${box.httpPort}/mqtt
  Health, metrics     http://127.0.0.1:${box.httpPort}/healthz   http://127.0.0.1:${box.httpPort}/metrics
  Data and config     ${resolve(opts.dataDir)}  (demo secrets: demo-credentials.json; the box's log: box.log)

Watch the office as the lobby TV would:
  mosquitto_sub ${m} -i ${display.id} -u ${display.id} -P '${display.secret}' -t 'lobby/v1/state/#' -t 'lobby/v1/events/ticket/#' -v

Take a ticket as the kiosk (service "ho-tich"), and read the reply:
  mosquitto_sub ${m} -i ${kiosk.id}.sub -u ${kiosk.id} -P '${kiosk.secret}' -t 'lobby/v1/devices/${kiosk.id}/#' -v &
  mosquitto_pub ${m} -i ${kiosk.id} -u ${kiosk.id} -P '${kiosk.secret}' -q 1 -t lobby/v1/tickets/request -m '{"id":"k1","service":"ho-tich"}'
  (the client id is the device id, or <device id>.<tag> for a second connection; protocol/README.md)

Call the next number at counter 1 as its keypad:
  mosquitto_pub ${m} -i ${keypad.id} -u ${keypad.id} -P '${keypad.secret}' -q 1 -t lobby/v1/counters/1/cmd/next -m '{"id":"n1"}'

The cloud (SQLite in ${resolve(opts.dataDir, 'cloud')}), with this box enrolled and uplinking:
  Admin console       ${demoCloud.cloud.url}/console/
  Login               ${demoCloud.admin.username} / ${demoCloud.admin.password ?? '(printed at the first run; new one: lobby cloud admin reset-password --db ' + join(resolve(opts.dataDir), 'cloud', 'cloud.db') + ' --username demo)'}${demoCloud.admin.password ? '   (shown once: only its hash is stored)' : ''}
  Office config       managed by this cloud: change it in the console, or with
                      PUT ${demoCloud.cloud.url}/api/v1/fleet/offices/${config.office.id}/config — the box applies it live
  API documentation   ${demoCloud.cloud.url}/docs
  A ticket's QR page  ${demoCloud.cloud.url}/t/${config.office.id}/<day>/<number>

Press Ctrl+C to stop. The queue survives restarts: run npm start again and it continues.
`);
  await hardware.run(box, credentials, opts.daySpeed ?? DEMO_DAY_SPEED);
  const withHardware = withDemoHardware(box, hardware);
  return {
    ...withHardware,
    async close() {
      await withHardware.close();
      await demoCloud.cloud.close();
    },
  };
}
