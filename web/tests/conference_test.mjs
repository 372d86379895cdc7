// Conference rooms in headless Chromium (issue 15), against the servers browser_test.sh started:
//   1. an office manager signs up and adds line 401, assigned to herself;
//   2. on Conference rooms she creates the company's room 880: a two-digit PIN is refused at the PIN
//      field, a good one is accepted, the room is listed and "Show PIN" shows it;
//   3. she creates line 401's own room, listed as *88401;
//   4. the call-flow picture on Call routing shows both rooms;
//   5. on her profile she changes her line's room PIN (a short one refused there too), and Show PIN
//      shows it there and Hide PIN takes it away;
//   6. she renames the company's room and removes it, and the picture follows.
// A screenshot after every step lands in $ARTIFACTS (prefix conference-); every wait is bounded.
// Environment: PORTAL_URL, ARTIFACTS, MAILDIR (browser_test.sh sets them).

import { Scenario, check } from './scenario.mjs';
import { signUpOfficeManager } from './signup.mjs';

const scenario = new Scenario('conference');
const RUN = Date.now().toString(36);
const MANAGER = {
  name: 'Radia Perlman',
  email: `radia.${RUN}@example.com`,
  phone: '+44 20 7946 0061',
  birth_date: '1985-12-18',
  company_name: `Spanning Trees ${RUN} Ltd`,
  address: '7 Bridge Row\nLondon E7 7GG',
  password: 'manager password seven',
};

const step = (name) => scenario.step(name);
const screenshot = (page, name) => scenario.screenshot(page, name);

async function managerWithLine(page) {
  step('1. an office manager signs up and adds line 401 for herself');
  await signUpOfficeManager(scenario, page, MANAGER);
  await page.goto('/extensions.html');
  await page.fill('#number', '401');
  await page.fill('#label', 'Desk');
  await page.click('#add-form button[type="submit"]');
  await page.locator('#password-line', { hasText: '401' }).waitFor();
  const row = page.locator('#extensions tr[data-number="401"]');
  await row.locator('[data-edit="401"]').click();
  await page.selectOption('#edit-member', { label: MANAGER.name });
  await page.click('#edit-form button[type="submit"]');
  await row.locator('.assignee', { hasText: MANAGER.name }).waitFor();
}

async function companyRoom(page) {
  step('2. the company\'s room 880: a short PIN refused at its field, then created and its PIN shown');
  await page.goto('/conference.html');
  await page.locator('#site-nav a[href="/conference.html"][aria-current="page"]').waitFor();
  await page.locator('#rooms-empty:not([hidden])').waitFor();
  await page.fill('#room-number', '880');
  await page.fill('#room-name', 'Board room');
  await page.fill('#room-pin', '12');
  await page.click('#room-submit');
  const refused = page.locator('#room-form .field-error');
  await refused.waitFor();
  check((await page.locator('#room-pin').getAttribute('aria-invalid')) === 'true',
    `the refusal is at the PIN: ${await refused.innerText()}`);
  check(/pin|digit/i.test(await refused.innerText()), `the refusal speaks of the PIN: ${await refused.innerText()}`);
  await screenshot(page, 'pin-refused');
  await page.fill('#room-pin', '482613');
  await page.click('#room-submit');
  await page.locator('#rooms-status .form-ok', { hasText: 'Room 880 created' }).waitFor();
  const row = page.locator('#rooms tr[data-room="880"]');
  await row.locator('.room-name', { hasText: 'Board room' }).waitFor();
  check(!(await page.locator('#rooms').innerText()).includes('482613'), 'the list shows no PIN');
  await row.locator('[data-show-pin="880"]').click();
  await row.locator('[data-pin]', { hasText: '482613' }).waitFor();
  await screenshot(page, 'room');
  await row.locator('[data-show-pin="880"]', { hasText: 'Hide PIN' }).click();
  check(await row.locator('[data-pin]').innerText() === '', 'Hide PIN takes it off the screen');
}

async function lineRoom(page) {
  step('3. line 401\'s own room, dialled as *88401');
  await page.selectOption('#room-kind', 'line');
  await page.selectOption('#room-line', '401');
  await page.fill('#room-name', 'Desk huddle');
  await page.fill('#room-pin', '1357');
  await page.click('#room-submit');
  await page.locator('#rooms-status .form-ok', { hasText: 'Room *88401 created' }).waitFor();
  await page.locator('#rooms tr[data-room="*88401"] td', { hasText: 'line 401' }).waitFor();
  await screenshot(page, 'line-room');
}

async function picture(page) {
  step('4. the call-flow picture shows both rooms');
  await page.goto('/routing.html');
  await page.locator('#call-flow figure.flow[data-kind="conference"][data-number="880"] .flow-node[data-type="conference"]',
    { hasText: 'Board room' }).waitFor();
  await page.locator('#call-flow figure.flow[data-kind="conference"][data-number="*88401"] .flow-node[data-type="conference"]',
    { hasText: 'Desk huddle' }).waitFor();
  check(!(await page.locator('#call-flow').innerText()).includes('482613'), 'the picture shows no PIN');
  await screenshot(page, 'picture');
}

async function ownRoom(page) {
  step('5. on her profile she changes her line\'s room PIN');
  await page.goto('/profile.html');
  const panel = page.locator('#my-rooms .line-room[data-line="401"]');
  await panel.locator('.room-state', { hasText: 'Desk huddle: dial *88401' }).waitFor();
  await panel.locator('input[name="pin"]').fill('99');
  await panel.locator('button[type="submit"]', { hasText: 'Change PIN' }).click();
  await panel.locator('.field-error').waitFor();
  check((await panel.locator('input[name="pin"]').getAttribute('aria-invalid')) === 'true', 'a short PIN is refused at its field');
  await panel.locator('input[name="pin"]').fill('246810');
  await panel.locator('button[type="submit"]').click();
  await panel.locator('.form-ok', { hasText: 'PIN saved for your room *88401' }).waitFor();
  check(await panel.locator('[data-pin]').textContent() === '', 'the saved PIN is not left on the screen');
  await panel.locator('[data-show-pin]').click();
  await panel.locator('[data-pin]', { hasText: '246810' }).waitFor();
  await panel.locator('[data-show-pin]', { hasText: 'Hide PIN' }).click();
  await panel.locator('[data-show-pin]', { hasText: 'Show PIN' }).waitFor();
  check(await panel.locator('[data-pin]').textContent() === '', 'Hide PIN takes it off the screen');
  await screenshot(page, 'own-room');
  await page.goto('/conference.html');
  const row = page.locator('#rooms tr[data-room="*88401"]');
  await row.locator('[data-show-pin="*88401"]').click();
  await row.locator('[data-pin]', { hasText: '246810' }).waitFor();
}

async function changeAndRemove(page) {
  step('6. she renames the company\'s room, removes it, and the picture follows');
  const row = page.locator('#rooms tr[data-room="880"]');
  await row.locator('[data-edit-room="880"]').click();
  check(await page.inputValue('#room-pin') === '', 'the form never holds the PIN');
  await page.fill('#room-name', 'Boardroom');
  await page.click('#room-submit');
  await page.locator('#rooms-status .form-ok', { hasText: 'Room 880 saved' }).waitFor();
  await row.locator('.room-name', { hasText: 'Boardroom' }).waitFor();
  await row.locator('[data-show-pin="880"]').click();
  await row.locator('[data-pin]', { hasText: '482613' }).waitFor();  // a change without a PIN keeps it
  await row.locator('[data-remove-room="880"]').click();
  await page.locator('#rooms-status .form-ok', { hasText: 'Room 880 removed' }).waitFor();
  await row.waitFor({ state: 'detached' });
  await page.goto('/routing.html');
  await page.locator('#call-flow figure.flow[data-number="*88401"]').waitFor();
  check(await page.locator('#call-flow figure.flow[data-number="880"]').count() === 0, 'the removed room left the picture');
  await screenshot(page, 'removed');
}

await scenario.run(async (browser) => {
  const manager = await scenario.newPage(browser);
  await managerWithLine(manager);
  await companyRoom(manager);
  await lineRoom(manager);
  await picture(manager);
  await ownRoom(manager);
  await changeAndRemove(manager);
});
