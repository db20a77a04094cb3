// Browser tests: a real box on ephemeral ports with a real config file (pairing writes to it), and Debian's
// Chromium driven by playwright-core. Never a downloaded browser.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { loadConfigFile } from '../../device/config/load.js';
import type { BoxOptions } from '../../device/daemon.js';
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
    /** Options of the box itself (its clock, poll intervals). */
    box?: Partial<BoxOptions>;
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
    ...opts.box,
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

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

// What the page functions below touch (they run in the browser; the project compiles without the DOM lib).
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any;
declare const window: any;
/* eslint-enable @typescript-eslint/no-explicit-any */

export interface AccessibilityReport {
  /** axe-core's critical and serious violations: rule, impact, first nodes. */
  violations: { id: string; impact: string; targets: string[] }[];
  /** Visible controls under 44 px high or wide (WCAG 2.5.5 target size). */
  small: { text: string; height: number; width: number }[];
  /** Visible text under 16 px (the screens are read at a distance or by the elderly). */
  tiny: { text: string; size: number }[];
  /** What a screen reader needs to find its way: one h1, a main landmark. */
  structure: string[];
}

/** axe-core on the page as it is, with target and text sizes: what a check of the screen finds. */
export async function accessibility(page: Page): Promise<AccessibilityReport> {
  // Evaluated through the DevTools protocol: the box's CSP (script-src 'self') rightly refuses an inline tag.
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SOURCE);
  const violations = (await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v: { id: string; impact: string; nodes: { target: string[] }[] }) => ({
      id: v.id,
      impact: v.impact,
      targets: v.nodes.slice(0, 3).map((n) => n.target.join(' ')),
    }));
  })) as AccessibilityReport['violations'];
  const small = (await page.$$eval(
    'button, a[href], input:not([type=hidden]), select',
    (els: { getBoundingClientRect(): { height: number; width: number }; textContent: string | null }[]) =>
      els
        .map((e) => {
          const r = e.getBoundingClientRect();
          return { text: (e.textContent ?? '').trim().slice(0, 40), height: r.height, width: r.width };
        })
        .filter((r) => r.height > 0 && (r.height < 44 || r.width < 44)),
  )) as AccessibilityReport['small'];
  const tiny = (await page.evaluate(() => {
    const out: { text: string; size: number }[] = [];
    for (const e of document.querySelectorAll('body *')) {
      const own = [...e.childNodes].some(
        (n: { nodeType: number; textContent: string }) => n.nodeType === 3 && n.textContent.trim() !== '',
      );
      if (!own || e.getClientRects().length === 0) continue;
      const size = parseFloat(window.getComputedStyle(e).fontSize);
      if (size < 16) out.push({ text: e.textContent.trim().slice(0, 40), size });
    }
    return out;
  })) as AccessibilityReport['tiny'];
  const structure = (await page.evaluate(() => {
    const missing: string[] = [];
    if (document.querySelectorAll('h1').length !== 1) missing.push('one h1');
    if (!document.querySelector('main, [role=main]')) missing.push('a main landmark');
    return missing;
  })) as string[];
  return {
    violations: violations.filter((v) => v.impact === 'critical' || v.impact === 'serious'),
    small,
    tiny,
    structure,
  };
}

/** Errors a page logs (CSP violations, failed loads such as a missing favicon) and its uncaught errors. */
export function pageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  return errors;
}
