// The invoices page, in headless Chromium, against the servers browser_test.sh started: a new
// office manager signs up, finds Invoices in the navigation, and the page loads the company's list
// from the API under the strict CSP (no invoice yet: the operator issues them after a month).
// Screenshots land in $ARTIFACTS (prefix invoices-).
// Environment: PORTAL_URL, ARTIFACTS, MAILDIR (browser_test.sh sets them).

import { Scenario, WAIT_MS, check } from './scenario.mjs';
import { signUpOfficeManager } from './signup.mjs';

const scenario = new Scenario('invoices');
const RUN = Date.now().toString(36);
const PERSON = {
  name: 'Ada Byron',
  email: `ada.${RUN}@example.com`,
  phone: '+44 20 7946 0032',
  birth_date: '1975-12-10',
  company_name: `Engines ${RUN} Ltd`,
  address: '2 Harbour Road\nLondon E14 5AB',
  password: 'correct horse battery staple',
};

async function signUp(page) {
  scenario.step('1. an office manager signs up');
  await signUpOfficeManager(scenario, page, PERSON);
}

async function seesTheInvoicesPage(page) {
  scenario.step('2. the navigation leads an office manager to the company\'s invoices');
  const link = page.locator('#site-nav a[href="/invoices.html"]');
  await link.waitFor({ timeout: WAIT_MS });
  await Promise.all([page.waitForURL('**/invoices.html', { timeout: WAIT_MS }), link.click()]);
  await page.locator('#invoices-empty:not([hidden])').waitFor({ timeout: WAIT_MS });
  check(/no invoices yet/i.test(await page.locator('#invoices-empty').innerText()), 'an empty list says so');
  check(await page.locator('.notice-error').count() === 0, 'the page loads its list without an error');
  await scenario.screenshot(page, 'empty');
}

await scenario.run(async (browser) => {
  const page = await scenario.newPage(browser);
  await signUp(page);
  await seesTheInvoicesPage(page);
});
