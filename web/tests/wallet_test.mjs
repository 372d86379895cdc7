// The international calls page, in headless Chromium, against the servers browser_test.sh started: a
// new office manager signs up, finds International calls in the navigation, and the page loads the
// company's balance, cap and ledger from the API under the strict CSP (nothing topped up yet). She
// tops up from the card on file and sees the new balance and the ledger's top-up row; an amount
// out of bounds is refused beside the field; another office manager, whose card declines, sees
// the decline in words and nothing added.
// Screenshots land in $ARTIFACTS (prefix wallet-).
// Environment: PORTAL_URL, ARTIFACTS, MAILDIR (browser_test.sh sets them).

import { Scenario, WAIT_MS, check } from './scenario.mjs';
import { DECLINING_CARD, signUpOfficeManager } from './signup.mjs';

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
  await signUpOfficeManager(scenario, page, PERSON);
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

async function topsUp(page) {
  scenario.step('3. she tops up from the card on file and sees the balance and the ledger row');
  await page.fill('#top-up-amount', '1000.00');
  await page.click('#top-up-form button[type="submit"]');
  const tooMuch = page.locator('#top-up-form .field-error');
  await tooMuch.waitFor({ timeout: WAIT_MS });
  check(/500\.00/.test(await tooMuch.innerText()), `an amount over the most says the bounds: ${await tooMuch.innerText()}`);
  await page.fill('#top-up-amount', '25.00');
  await page.click('#top-up-form button[type="submit"]');
  await page.locator('#top-up-form .form-ok').waitFor({ timeout: WAIT_MS });
  await page.locator('#ledger tbody tr').first().waitFor({ timeout: WAIT_MS });
  check(await page.locator('#wallet-balance').innerText() === '25.00 GBP', 'the balance shows the top-up');
  check(await page.locator('#ledger tbody tr').count() === 1, 'one ledger row, charged once');
  const cells = await page.locator('#ledger tbody tr').first().locator('td').allInnerTexts();
  check(cells[1] === 'Top-up' && cells[2] === '25.00 GBP' && cells[3] === '25.00 GBP', `the ledger row: ${cells.join(' | ')}`);
  check(await page.locator('#top-up-form .field-error, #top-up-form .form-error, #top-up-form .notice-error').count() === 0,
    'no error is left');
  await scenario.screenshot(page, 'topped-up');
}

async function aDeclinedCardAddsNothing(browser) {
  scenario.step('4. an office manager whose card declines is told so, and nothing is added');
  const page = await scenario.newPage(browser);
  await signUpOfficeManager(scenario, page, { ...PERSON, email: `declined.${RUN}@example.com`,
    phone: '+44 20 7946 0034', company_name: `Declined ${RUN} Ltd` }, { card: DECLINING_CARD });
  await page.goto('/wallet.html');
  await page.locator('#ledger-empty:not([hidden])').waitFor({ timeout: WAIT_MS });
  await page.fill('#top-up-amount', '25.00');
  await page.click('#top-up-form button[type="submit"]');
  const refusal = page.locator('#top-up-form .notice-error');
  await refusal.waitFor({ timeout: WAIT_MS });
  check(/declined/i.test(await refusal.innerText()), `the decline in words: ${await refusal.innerText()}`);
  check(await page.locator('#wallet-balance').innerText() === '0.00', 'nothing is added');
  check(await page.locator('#ledger tbody tr').count() === 0, 'and the ledger is still empty');
  await scenario.screenshot(page, 'declined');
}

await scenario.run(async (browser) => {
  const page = await scenario.newPage(browser);
  await signUp(page);
  await seesTheBalance(page);
  await topsUp(page);
  await aDeclinedCardAddsNothing(browser);
});
