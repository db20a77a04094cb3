// Browser tests: a real box on ephemeral ports with a real config file (pairing writes to it), and Debian's
// Chromium driven by playwright-core. Never a downloaded browser.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { loadConfigFile } from '../../device/config/load.js';
import { hashAdminPassword } from '../../device/web/admin-auth.js';
import {
  DEVICES,
  officeConfig,
  peripheralsFor,
  startTestBox,
  type DeviceSpec,
  type TestBox,
} from '../support/office.js';

export const CHROMIUM = '/usr/bin/chromium';
export const ADMIN_PASSWORD = 'mat-khau-quan-tri-2026';

/**
 * Chromium is required: CI installs it (.ci/run), and there a missing browser fails the run. On a developer
 * machine without it the browser suites skip, saying so.
 */
export function chromiumPresent(): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.CI)
    throw new Error(`${CHROMIUM} is missing: the browser tests need Debian's chromium package`);
  console.warn(`SKIPPED: browser tests need ${CHROMIUM} (apt-get install chromium)`);
  return false;
}

export function launchChromium(): Promise<Browser> {
  // playwright's launch() runs the browser on a fresh temporary profile (user-data-dir) and removes it after.
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export const SCREEN_DEVICES: DeviceSpec[] = [
  ...DEVICES,
  { id: 'clerk-panel-1', role: 'clerk-panel', counter: 1 },
  { id: 'tv-2', role: 'display' },
  { id: 'kiosk-2', role: 'kiosk' },
];

export interface WebBox extends TestBox {
  configFile: string;
  base: string;
}

/** A box whose config lives in a file (the source of truth pairing and the admin page write to). */
export async function startWebBox(
  opts: {
    dataDir?: string;
    configFile?: string;
    adminPassword?: string | null;
    notice?: string;
    httpPort?: number;
    mqttPort?: number;
    /** Changes to the config object before it is written. */
    edit?: (cfg: Record<string, unknown>, dataDir: string) => void;
  } = {},
): Promise<WebBox> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'lobby-web-'));
  let configFile = opts.configFile;
  if (!configFile) {
    configFile = join(dataDir, 'office.json');
    const cfg = officeConfig(await peripheralsFor(SCREEN_DEVICES)) as unknown as Record<string, unknown>;
    if (opts.adminPassword !== null)
      cfg.admin = { passwordHash: await hashAdminPassword(opts.adminPassword ?? ADMIN_PASSWORD) };
    cfg.screens = {
      ...(cfg.screens as object),
      notice: opts.notice ?? 'Giờ làm việc: sáng 7:30–11:30, chiều 13:30–17:00. Vui lòng giữ trật tự.',
    };
    opts.edit?.(cfg, dataDir);
    writeFileSync(configFile, JSON.stringify(cfg, null, 2));
  }
  const config = loadConfigFile(configFile);
  const tb = await startTestBox({
    config,
    configFile,
    dataDir,
    ...(opts.httpPort !== undefined ? { httpPort: opts.httpPort } : {}),
    ...(opts.mqttPort !== undefined ? { mqttPort: opts.mqttPort } : {}),
  });
  if (!tb.box.web.assets) {
    await tb.close();
    throw new Error('the screens are not built: run `npm run build` before the browser tests');
  }
  return { ...tb, configFile, base: `http://127.0.0.1:${tb.box.httpPort}` };
}

/** Pairs a page as a device by the one-time code URL; resolves on the device's screen. */
export async function pairedPage(
  context: BrowserContext,
  box: WebBox,
  deviceId: string,
  screen: string,
  query = '',
): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error(`[${deviceId}] page error:`, err.message));
  const { code } = box.box.web.pairing.create(deviceId);
  await page.goto(`${box.base}/pair?code=${code}`);
  await page.waitForURL(`${box.base}${screen}`);
  if (query) await page.goto(`${box.base}${screen}${query}`);
  return page;
}

/** Screenshots for docs/screens, only when asked: `SCREENSHOTS=1 npx vitest run test/web`. */
export async function screenshot(page: Page, name: string, fullPage = false): Promise<void> {
  if (!process.env.SCREENSHOTS) return;
  await page.screenshot({ path: join(import.meta.dirname, '../../docs/screens', `${name}.png`), fullPage });
}

/** Signs in to the admin API as the admin page does; returns the session cookie. */
export async function adminCookie(box: WebBox, password = ADMIN_PASSWORD): Promise<string> {
  const r = await fetch(`${box.base}/api/admin/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ password }),
  });
  if (!r.ok) throw new Error(`admin login failed: ${r.status} ${await r.text()}`);
  return (r.headers.get('set-cookie') ?? '').split(';')[0] as string;
}
