// What the Playwright scenarios under web/tests share (browser_test.sh runs each against the servers
// it started): the environment they read, named steps with numbered screenshots, pages whose
// console errors and script errors are kept against the step they happened in, the one-time links
// mailed to the test SMTP server's Maildir, and the ending: any CSP violation or script error fails
// the scenario, and a failure screenshots every page, names its step, prints what each page's
// status lines said and the browser's warnings, and exits 1, as does a scenario that overruns its
// time. Every wait is bounded by WAIT_MS unless a step says otherwise.

import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const WAIT_MS = 10_000;

export function check(condition, message) {
  if (!condition) throw new Error(message);
}

// What a failed step's page showed: its address and the text of its status lines and alerts, which
// the CI log keeps where the screenshots are not.
async function pageSummary(page) {
  try {
    const lines = await page.locator('[role="status"], [role="alert"]').allInnerTexts();
    const shown = lines.map((t) => t.trim()).filter(Boolean).map((t) => JSON.stringify(t.slice(0, 200)));
    return `${page.url()} ${shown.join(' ') || '(no status or alert text)'}`;
  } catch (error) {
    return `(unreadable: ${error.message})`;
  }
}

export class Scenario {
  // `name` prefixes the screenshots and names the scenario in failures ("lines": lines_test.mjs).
  // `chromiumArgs`: flags the scenario's browser needs besides --no-sandbox (the softphone's fake
  // microphone, say).
  constructor(name, { limitMs = 120_000, chromiumArgs = [] } = {}) {
    this.name = name;
    this.chromiumArgs = chromiumArgs;
    this.shots = 0;
    this.currentStep = 'start';
    this.problems = [];
    this.warnings = [];
    this.pages = [];
    this.artifacts = this.env('ARTIFACTS');
    setTimeout(() => {
      console.error(`FAIL: the ${name} test did not finish within ${limitMs / 1000} s (last step: ${this.currentStep})`);
      process.exit(1);
    }, limitMs).unref();
  }

  env(variable) {
    const value = process.env[variable];
    if (!value) throw new Error(`${this.name}_test.mjs: ${variable} is not set; run it through browser_test.sh`);
    return value;
  }

  step(name) {
    this.currentStep = name;
    console.log(`-- ${name}`);
  }

  async screenshot(page, name) {
    this.shots += 1;
    const file = path.join(this.artifacts, `${this.name}-${String(this.shots).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
  }

  // A page in a browser context of its own (its own cookies, so one person per page).
  async newPage(browser, contextOptions = {}) {
    const context = await browser.newContext({ baseURL: this.env('PORTAL_URL'), ...contextOptions });
    context.setDefaultTimeout(WAIT_MS);
    context.setDefaultNavigationTimeout(15_000);
    const page = await context.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') this.problems.push(`[${this.currentStep}] console: ${message.text()}`);
      // Warnings (SIP.js's transport and registration trouble, say) explain a failure, so they are
      // kept and shown when the scenario fails; the pages' own ("privox: …") on a pass too.
      if (message.type() === 'warning') this.warnings.push(`[${this.currentStep}] ${message.text()}`);
    });
    page.on('pageerror', (error) => this.problems.push(`[${this.currentStep}] page error: ${error.message}`));
    this.pages.push(page);
    return page;
  }

  // The newest one-time link to `target` (e.g. "confirm.html") mailed to `to`, within WAIT_MS.
  async linkMailedTo(to, target) {
    const pattern = new RegExp(`(https?://[^\\s]+/${target.replace('.', '\\.')}#[0-9a-f]{64})`);
    const dir = path.join(this.env('MAILDIR'), 'new');
    const deadline = Date.now() + WAIT_MS;
    while (Date.now() < deadline) {
      const files = fs.existsSync(dir) ? fs.readdirSync(dir).map((f) => path.join(dir, f)) : [];
      files.sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
      for (const file of files) {
        const text = fs.readFileSync(file, 'utf8').replace(/=\r?\n/g, '');
        if (!text.toLowerCase().includes(to.toLowerCase())) continue;
        const match = pattern.exec(text);
        if (match) return match[1];
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`no ${target} link was mailed to ${to}`);
  }

  // Launches Chromium and runs `body(browser)`; then any CSP violation or script error seen on the
  // way fails the scenario too.
  async run(body) {
    fs.mkdirSync(this.artifacts, { recursive: true });
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', ...this.chromiumArgs], headless: true,
      timeout: 30_000 });
    try {
      await body(browser);
      const csp = this.problems.filter((p) => /Content Security Policy|Refused to/.test(p));
      check(!csp.length, `pages broke the Content Security Policy:\n${csp.join('\n')}`);
      const crashes = this.problems.filter((p) => p.includes('page error'));
      check(!crashes.length, `scripts threw:\n${crashes.join('\n')}`);
    } catch (error) {
      const slug = this.currentStep.replace(/[^a-z0-9]+/gi, '-');
      for (const [i, page] of this.pages.entries())
        await this.screenshot(page, `FAILED-${i + 1}-${slug}`).catch(() => {});
      console.error(`FAIL in step "${this.currentStep}": ${error.message}`);
      if (this.problems.length) console.error(`browser messages:\n${this.problems.join('\n')}`);
      if (this.warnings.length) console.error(`browser warnings (last 20):\n${this.warnings.slice(-20).join('\n')}`);
      for (const [i, page] of this.pages.entries()) console.error(`page ${i + 1}: ${await pageSummary(page)}`);
      await browser.close();
      process.exit(1);
    }
    await browser.close();
    // What the pages themselves warned of (a softphone that had to register again, say) is worth
    // seeing on a pass too: it passed by recovering.
    const notes = this.warnings.filter((w) => w.includes('privox:'));
    if (notes.length) console.log(`the pages warned:\n${notes.join('\n')}`);
    console.log(`${this.name}_test: all steps passed; ${this.shots} screenshots in ${this.artifacts}`);
  }
}
