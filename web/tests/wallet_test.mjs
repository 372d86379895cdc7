// The international calls page, in headless Chromium, against the servers browser_test.sh started: a
// new office manager signs up, finds International calls in the navigation, and the page loads the
// company's balance, cap and ledger from the API under the strict CSP (nothing topped up yet).
// Screenshots land in $ARTIFACTS (prefix wallet-).
// Environment: PORTAL_URL, ARTIFACTS, MAILDIR (browser_test.sh sets them).

import { Scenario, WAIT_MS, check } from './scenario.mjs';

const scenario = new Scenario('wallet');
const RUN = Date.now().toString(36);
const PERSON = {
  name: 'Grace Hopper',
  email: `grace.${RUN}@example.com`,
  phone: '+44 20 7946 0033',
  birth_date: '1976-12-09',
  company_name: `Compilers ${RUN} Ltd`,
  address: '3 Harbour Road\nLondon E14 5AB',
  password: 'correct horse battery staple',
};

async function signUp(page) {
  scenario.step('1. an office manager signs up');
  await page.goto('/signup.html');
  const banner = page.getByRole('button', { name: 'Strictly necessary only' });
  if (await banner.count()) await banner.click();
  for (const [id, value] of Object.entries({ name: PERSON.name, email: PERSON.email, phone: PERSON.phone,
    birth_date: PERSON.birth_date, company_name: PERSON.company_name, address: PERSON.address,
    password: PERSON.password })) await page.fill(`#${id}`, value);
  await page.fill('#card-number', '4242 4242 4242 4242');
  await page.fill('#card-expiry', '12/34');
  await page.fill('#card-cvc', '123');
  await page.click('#signup-submit');
  await page.locator('#signup-sent').waitFor({ timeout: WAIT_MS });
  const link = await scenario.linkMailedTo(PERSON.email, 'confirm.html');
  await Promise.all([page.waitForURL('**/index.html', { timeout: WAIT_MS }), page.goto(link)]);
}

async function seesTheBalance(page) {
  scenario.step('2. the navigation leads an office manager to the international balance');
  const link = page.locator('#site-nav a[href="/wallet.html"]');
  await link.waitFor({ timeout: WAIT_MS });
  await Promise.all([page.waitForURL('**/wallet.html', { timeout: WAIT_MS }), link.click()]);
  await page.locator('#ledger-empty:not([hidden])').waitFor({ timeout: WAIT_MS });
  check(await page.locator('#wallet-balance').innerText() === '0.00', 'a new company has nothing to spend');
  check(await page.locator('#wallet-cap').innerText() === 'None', 'and no daily cap');
  check(/no changes yet/i.test(await page.locator('#ledger-empty').innerText()), 'an empty ledger says so');
  check(await page.locator('.notice-error').count() === 0, 'the page loads without an error');
  await scenario.screenshot(page, 'empty');
}

await scenario.run(async (browser) => {
  const page = await scenario.newPage(browser);
  await signUp(page);
  await seesTheBalance(page);
});
