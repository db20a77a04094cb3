// What both accessibility suites do to a screen (accessibility.test.ts, accessibility-views.test.ts): open it
// paired at its size until it is online, then hold it to the bar — no axe-core violation, targets ≥ 44 px, text
// ≥ 16 px, one h1 and a main landmark, and nothing logged as an error. `A11Y_LOG=<file>` appends each report.
import { appendFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { expect } from 'vitest';
import { accessibility, pageErrors, pairedPage, type WebBox } from './support.js';

/** A screen paired as `device` at its size, reloaded and online; its page errors collected from the start. */
export async function onlineScreen(
  browser: Browser,
  box: WebBox,
  device: string,
  path: string,
  viewport: { width: number; height: number },
): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport });
  const page = await pairedPage(context, box, device, path, path === '/tv' ? '?chime=0' : '');
  const errors = pageErrors(page);
  await page.reload();
  await expect
    .poll(() => page.locator('.link-banner').getAttribute('data-state'), { timeout: 15_000, interval: 100 })
    .toBe('online');
  return { page, errors };
}

/** The page as it is meets the bar, and logged no error. */
export async function expectAccessible(page: Page, errors: string[]): Promise<void> {
  const report = await accessibility(page);
  if (process.env.A11Y_LOG)
    appendFileSync(process.env.A11Y_LOG, `${JSON.stringify({ url: page.url(), ...report, errors })}\n`);
  expect({ ...report, errors }).toEqual({ violations: [], small: [], tiny: [], structure: [], errors: [] });
}
