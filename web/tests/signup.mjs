// The sign-up steps the page scenarios share: a new office manager signs up through the form with
// a card (the tokenizer's test numbers), follows the emailed link and lands logged in on the
// dashboard. `person`: name, email, phone, birth_date, company_name, address, password.

import { WAIT_MS } from './scenario.mjs';

export const GOOD_CARD = '4242 4242 4242 4242';
export const DECLINING_CARD = '4000 0000 0000 0002';  // the tokenizer's card that always declines

export async function signUpOfficeManager(scenario, page, person, { card = GOOD_CARD } = {}) {
  await page.goto('/signup.html');
  const banner = page.getByRole('button', { name: 'Strictly necessary only' });
  if (await banner.count()) await banner.click();
  for (const [id, value] of Object.entries({ name: person.name, email: person.email, phone: person.phone,
    birth_date: person.birth_date, company_name: person.company_name, address: person.address,
    password: person.password })) await page.fill(`#${id}`, value);
  await page.fill('#card-number', card);
  await page.fill('#card-expiry', '12/34');
  await page.fill('#card-cvc', '123');
  await page.click('#signup-submit');
  await page.locator('#signup-sent').waitFor({ timeout: WAIT_MS });
  const link = await scenario.linkMailedTo(person.email, 'confirm.html');
  await Promise.all([page.waitForURL('**/index.html', { timeout: WAIT_MS }), page.goto(link)]);
}
