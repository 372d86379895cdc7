// People end to end in headless Chromium, after portal_test.mjs and against the same servers
// (browser_test.sh): issue 13, item 4.
//   1. an office manager signs up (the emailed link logs her in) and opens People;
//   2. she invites a person by email; the invitation is listed as pending;
//   3. the invitee opens the emailed link in her own browser, gives her mandatory data (her card to
//      the tokenizer only) and her own password, and logs in as a member of that company;
//   4. the manager makes her an office manager and back to member; demoting herself, now the
//      company's last office manager, is refused in words that say why;
//   5. the invitee forgets her password: the login page's "Forgot password?" emails a link, whose
//      page sets a new one; her other session ends, the old password is refused, the new works.
// A screenshot after every step lands in $ARTIFACTS; every wait is bounded.
//
// Environment: PORTAL_URL, TOKENIZER_URL, ARTIFACTS, MAILDIR (the test SMTP server's Maildir).

import { Scenario, WAIT_MS, check } from './scenario.mjs';

const scenario = new Scenario('people');
const env = (variable) => scenario.env(variable);
const PORTAL = env('PORTAL_URL');
const TOKENIZER = env('TOKENIZER_URL');

const CARD = '4242 4242 4242 4242';
const CARD_DIGITS = CARD.replace(/ /g, '');
const RUN = Date.now().toString(36);
const MANAGER = {
  name: 'Grace Hopper',
  email: `grace.${RUN}@example.com`,
  phone: '+44 20 7946 0031',
  birth_date: '1980-12-09',
  company_name: `Compilers ${RUN} Ltd`,
  address: '1 Harbour Road\nLondon E1 1AA',
  password: 'manager password one',
};
const INVITEE = {
  name: 'Katherine Johnson',
  email: `katherine.${RUN}@example.com`,
  phone: '+44 20 7946 0032',
  birth_date: '1990-08-26',
  address: '2 Orbit Close\nLondon E2 2BB',
  password: 'invitee password one',
  new_password: 'invitee password two',
};

const step = (name) => scenario.step(name);
const screenshot = (page, name) => scenario.screenshot(page, name);
const linkMailedTo = (to, target) => scenario.linkMailedTo(to, target);
const newPage = (browser) => scenario.newPage(browser);

async function declineCookies(page) {
  await page.getByRole('button', { name: 'Strictly necessary only' }).click({ timeout: 5_000 }).catch(() => {});
  await page.locator('#cookie-banner').waitFor({ state: 'detached', timeout: WAIT_MS });
}

async function fillCard(page) {
  await page.fill('#card-number', CARD);
  await page.fill('#card-expiry', '12/34');
  await page.fill('#card-cvc', '123');
}

async function logIn(page, email, password) {
  await page.goto('/login.html');
  await page.fill('#email', email);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL('**/index.html', { timeout: WAIT_MS }), page.click('#login-form button[type="submit"]')]);
}

async function managerSignsUp(page) {
  step('1. the office manager signs up and opens People');
  await page.goto('/signup.html');
  await declineCookies(page);
  for (const [id, value] of [['#name', MANAGER.name], ['#email', MANAGER.email], ['#phone', MANAGER.phone],
    ['#birth_date', MANAGER.birth_date], ['#company_name', MANAGER.company_name], ['#address', MANAGER.address],
    ['#password', MANAGER.password]]) await page.fill(id, value);
  await fillCard(page);
  await page.click('#signup-submit');
  await page.locator('#signup-sent').waitFor();
  const link = await linkMailedTo(MANAGER.email, 'confirm.html');
  await Promise.all([page.waitForURL('**/index.html', { timeout: WAIT_MS }), page.goto(link)]);
  await Promise.all([page.waitForURL('**/people.html', { timeout: WAIT_MS }),
    page.locator('#site-nav a', { hasText: 'People' }).click()]);
  await page.locator(`#people tr[data-email="${MANAGER.email}"] .role`, { hasText: 'Office manager' }).waitFor();
  await screenshot(page, 'people-alone');
}

async function managerInvites(page) {
  step('2. the manager invites a person');
  await page.fill('#invite-email', INVITEE.email);
  await page.click('#invite-submit');
  await page.locator('#invite-form .form-ok', { hasText: 'sent the invitation' }).waitFor();
  await page.locator(`#invites tr[data-email="${INVITEE.email}"]`).waitFor();
  await screenshot(page, 'invitation-pending');
}

async function inviteeJoins(page) {
  step('3. the invitee follows her link, gives her data and password, and logs in');
  const portalBodies = [];
  const tokenizerCalls = [];
  page.on('request', (request) => {
    const url = request.url();
    if (url.startsWith(PORTAL)) portalBodies.push(`${request.method()} ${url} ${request.postData() || ''}`);
    if (url.startsWith(TOKENIZER) && request.method() === 'POST') tokenizerCalls.push(url);
  });
  const link = await linkMailedTo(INVITEE.email, 'invite.html');
  check(link.startsWith(PORTAL), `the invitation should lead to the portal: ${link}`);
  await page.goto(link);
  await declineCookies(page);
  check(!(await page.locator('#marketing_email').isChecked()), 'marketing must start unticked');
  for (const [id, value] of [['#name', INVITEE.name], ['#birth_date', INVITEE.birth_date], ['#address', INVITEE.address],
    ['#password', INVITEE.password]]) await page.fill(id, value);
  await fillCard(page);
  // The phone is left out: the server's error names it next to the field.
  await page.click('#invite-submit');
  await page.locator('#phone-error').waitFor();
  await page.fill('#phone', INVITEE.phone);
  await page.click('#invite-submit');
  await page.locator('#invite-done').waitFor();
  await screenshot(page, 'invitee-joined');
  check(tokenizerCalls.length >= 1, 'the card should have gone to the tokenizer');
  const leaked = portalBodies.filter((b) => b.includes(CARD_DIGITS) || b.includes(CARD) || /"cvc"/.test(b));
  check(!leaked.length, `card details reached privox: ${leaked.join('\n')}`);
  await logIn(page, INVITEE.email, INVITEE.password);
  await page.locator('#who-role', { hasText: 'Member' }).waitFor();
  await page.locator('#who-company', { hasText: MANAGER.company_name }).waitFor();
  check(await page.locator('#site-nav a', { hasText: 'People' }).count() === 0, 'a member has no People page');
}

async function rolesChange(page) {
  step('4. the manager makes her an office manager and back; the last manager stays');
  await page.reload();
  const row = page.locator(`#people tr[data-email="${INVITEE.email}"]`);
  await row.locator('.role', { hasText: 'Member' }).waitFor();
  check(await page.locator('#invites tbody tr').count() === 0, 'the accepted invitation should be gone');
  await row.getByRole('button', { name: 'Make office manager' }).click();
  await row.locator('.role', { hasText: 'Office manager' }).waitFor();
  await screenshot(page, 'two-managers');
  await row.getByRole('button', { name: 'Make member' }).click();
  await row.locator('.role', { hasText: /^Member$/ }).waitFor();
  const me = page.locator(`#people tr[data-email="${MANAGER.email}"]`);
  await me.getByRole('button', { name: 'Make member' }).click();
  await page.locator('#role-status', { hasText: 'last office manager' }).waitFor();
  await me.locator('.role', { hasText: 'Office manager' }).waitFor();
  await screenshot(page, 'last-manager-refused');
}

async function forgottenPassword(browser, inviteePage) {
  step('5. forgot password: the emailed link sets a new one, and her other session ends');
  const page = await newPage(browser);
  await page.goto('/login.html');
  await declineCookies(page);
  await page.click('#forgot-open');
  await page.fill('#forgot-email', INVITEE.email);
  await page.click('#forgot-submit');
  await page.locator('#forgot-form .form-ok', { hasText: 'If it has a privox login' }).waitFor();
  await screenshot(page, 'forgot-sent');
  const link = await linkMailedTo(INVITEE.email, 'reset.html');
  await page.goto(link);
  await page.fill('#password', INVITEE.new_password);
  await page.click('#reset-submit');
  await page.locator('#reset-done').waitFor();
  await screenshot(page, 'password-reset');
  // The session she had elsewhere is over.
  await Promise.all([inviteePage.waitForURL('**/login.html**', { timeout: WAIT_MS }), inviteePage.goto('/index.html')]);
  // The old password is refused, the new one works.
  await page.goto('/login.html');
  await page.fill('#email', INVITEE.email);
  await page.fill('#password', INVITEE.password);
  await page.click('#login-form button[type="submit"]');
  await page.locator('#login-form .form-error, #login-form .field-error').waitFor();
  await logIn(page, INVITEE.email, INVITEE.new_password);
  await page.locator('#who-name', { hasText: INVITEE.name }).waitFor();
  await screenshot(page, 'new-password-works');
}

await scenario.run(async (browser) => {
  const manager = await newPage(browser);
  const invitee = await newPage(browser);
  await managerSignsUp(manager);
  await managerInvites(manager);
  await inviteeJoins(invitee);
  await rolesChange(manager);
  await forgottenPassword(browser, invitee);
});
