// What the console's browser tests share: logging in as an admin, going to a page and waiting until it is drawn,
// and the accessibility check (axe-core: no critical or serious violation; each visible control ≥ 44 px high).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { expect } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { createAdmin } from '../../cloud/admin/provisioning.js';
import type { CloudService } from '../../cloud/service.js';
import type { TestDatabase } from './helpers.js';

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

// What the page functions below touch (they run in the browser; the project compiles without the DOM lib).
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any;
declare const window: any;
/* eslint-enable @typescript-eslint/no-explicit-any */

/** A new 1440×900 page logged in to the console; `failures` collects page errors and console errors. */
export async function consoleLogin(
  browser: Browser,
  url: string,
  username: string,
  password: string,
): Promise<{ page: Page; failures: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  // The report the console loads at sign-in is held back 200 ms, as a province's report on a busy server is
  // slower than the page a test opens next: a helper that let a test act before the first page was drawn would
  // fail every time here, not once in three CI runs (the page drawn twice, the second passing for an action's).
  await page.route(
    /\/api\/v1\/reports\?/,
    async (r) => {
      await new Promise((res) => setTimeout(res, 200));
      await r.continue();
    },
    { times: 1 },
  );
  const failures: string[] = [];
  page.on('pageerror', (e) => failures.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 4(09|22)/.test(m.text())) failures.push(m.text());
  });
  await page.goto(`${url}/console/`);
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', password);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#app:not([hidden])');
  // The first page drawn too: a page opened while it is still loading would be drawn twice, and the second
  // draw would pass for the next action's.
  await page.waitForSelector('body[data-ready=true]');
  return { page, failures };
}

const renders = (page: Page) => page.evaluate(() => Number(document.body.dataset.renders ?? 0));

/** Goes to a page by its address and waits until it is drawn (again). */
export async function openPage(page: Page, hash: string): Promise<void> {
  const before = await renders(page);
  // The same address again draws the page again (as the browser's reload of it would).
  await page.evaluate((h) => {
    if (window.location.hash === h) window.dispatchEvent(new window.HashChangeEvent('hashchange'));
    else window.location.hash = h;
  }, hash);
  await page.waitForFunction((n) => Number(document.body.dataset.renders ?? 0) > n, before);
  expect(await page.textContent('#page-error')).toBe('');
}

/** Clicks and waits until the page is drawn again. */
export async function clickAndWait(page: Page, selector: string): Promise<void> {
  const before = await renders(page);
  await page.click(selector);
  await page.waitForFunction((n) => Number(document.body.dataset.renders ?? 0) > n, before);
}

/** axe-core on the page as it is: no critical or serious violation; each visible control ≥ 44 px high. */
export async function accessible(page: Page): Promise<void> {
  // Evaluated through the DevTools protocol: the console's CSP (script-src 'self') rightly refuses an inline tag.
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SOURCE);
  const violations = (await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v: { id: string; impact: string; nodes: { target: string[] }[] }) => ({
      id: v.id,
      impact: v.impact,
      targets: v.nodes.slice(0, 3).map((n) => n.target.join(' ')),
    }));
  })) as { id: string; impact: string }[];
  expect(violations.filter((v) => v.impact === 'critical' || v.impact === 'serious')).toEqual([]);
  const small = await page.$$eval(
    'main button, main a, main input:not([type=checkbox]), main select, header a, header button, dialog button',
    (els: { getBoundingClientRect(): { height: number; width: number }; textContent: string | null }[]) =>
      els
        .map((e) => ({ text: e.textContent?.trim().slice(0, 40), ...e.getBoundingClientRect() }))
        .filter((r) => r.height > 0 && r.height < 44),
  );
  expect(small).toEqual([]);
}

/** Console users made for a suite, each with its generated password (by username). */
export async function consoleUsers(
  cloud: CloudService,
  users: readonly (readonly [username: string, unitId: string, role: 'admin' | 'viewer'])[],
): Promise<Record<string, string>> {
  const passwords: Record<string, string> = {};
  for (const [username, unitId, role] of users)
    passwords[username] = (
      await createAdmin(cloud.store.db, { username, unitId, role }, Date.now())
    ).password;
  return passwords;
}

/** A console suite's teardown: the browser, then the cloud with its open page connections cut, then the database. */
export async function closeConsoleSuite(o: {
  browser?: Browser;
  cloud?: CloudService;
  db?: TestDatabase;
}): Promise<void> {
  await o.browser?.close();
  const closing = o.cloud?.close();
  o.cloud?.app.server.closeAllConnections();
  await closing;
  await o.db?.cleanup();
}
