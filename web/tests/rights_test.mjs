// A member's rights requests end to end in headless Chromium (issue 13), against the same `privox
// serve`, tokenizer and SMTP server as portal_test.mjs (browser_test.sh starts them):
//   1. a new member signs up (the link is read from MAILDIR);
//   2. "Download my data": the code arrives by email; a wrong code is refused with the tries left in
//      words; the right one produces the copy, downloaded as a ZIP holding manifest.json;
//   3. a second copy shows the fee "£10.00"; the declining test card is refused in words; another
//      card pays; the receipt is shown and emailed;
//   4. legal staff in the operator console extend, then refuse, a third request, and the member is
//      told by email and sees the refusal in the privacy centre.
// Environment: PORTAL_URL, ARTIFACTS, MAILDIR, LEGAL_EMAIL, LEGAL_PASSWORD.

import fs from 'node:fs';
import path from 'node:path';
import { Scenario, WAIT_MS, check } from './scenario.mjs';

const scenario = new Scenario('rights');
const env = (variable) => scenario.env(variable);
const ARTIFACTS = env('ARTIFACTS');  // where the downloaded copy is kept for inspection
const MAILDIR = env('MAILDIR');
const LEGAL_EMAIL = env('LEGAL_EMAIL');
const LEGAL_PASSWORD = env('LEGAL_PASSWORD');

const RUN = Date.now().toString(36);
const PERSON = {
  name: 'Grace Hopper',
  email: `grace.${RUN}@example.com`,
  phone: '+44 20 7946 0019',
  birth_date: '1986-12-09',
  company_name: `Compilers ${RUN} Ltd`,
  address: '1 Harvard Way\nCambridge CB1 1AA',
};
const PASSWORD = 'correct horse battery staple';
const DECLINING_CARD = '4000 0000 0000 0002';  // the stand-in provider's always-declining test card
const GOOD_CARD = '4242 4242 4242 4242';

const step = (name) => scenario.step(name);
const screenshot = (page, name) => scenario.screenshot(page, name);

function decoded(raw) {
  const text = raw.replace(/=\r?\n/g, '');
  if (!/Content-Transfer-Encoding: quoted-printable/i.test(text)) return text;
  const bytes = [];
  for (let i = 0; i < text.length; i += 1) {
    if (text[i] === '=' && /^[0-9A-F]{2}$/i.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(text[i], 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

// The newest mail to PERSON whose text matches `pattern` (10 s at most); the match.
async function mailMatching(pattern, what) {
  const deadline = Date.now() + WAIT_MS;
  while (Date.now() < deadline) {
    const dir = path.join(MAILDIR, 'new');
    const files = fs.existsSync(dir) ? fs.readdirSync(dir).map((f) => path.join(dir, f)) : [];
    files.sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
    for (const file of files) {
      const text = decoded(fs.readFileSync(file, 'utf8'));
      if (!text.toLowerCase().includes(PERSON.email.toLowerCase())) continue;
      const match = pattern.exec(text);
      if (match) return match;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`no mail to ${PERSON.email} with ${what}`);
}

async function signUp(page) {
  step('1. sign-up');
  await page.goto('/signup.html');
  await page.getByRole('button', { name: 'Strictly necessary only' }).click();
  await page.fill('#name', PERSON.name);
  await page.fill('#email', PERSON.email);
  await page.fill('#phone', PERSON.phone);
  await page.fill('#birth_date', PERSON.birth_date);
  await page.fill('#company_name', PERSON.company_name);
  await page.fill('#address', PERSON.address);
  await page.fill('#card-number', GOOD_CARD);
  await page.fill('#card-expiry', '12/34');
  await page.fill('#card-cvc', '123');
  await page.fill('#password', PASSWORD);
  await page.click('#signup-submit');
  await page.locator('#signup-sent').waitFor({ timeout: WAIT_MS });
  const [link] = await mailMatching(/https?:\/\/[^\s]+\/confirm\.html#[0-9a-f]{64}/, 'a confirmation link');
  await Promise.all([page.waitForURL('**/index.html', { timeout: WAIT_MS }), page.goto(link)]);
}

// Opens an access request; returns its card (located by id) and its id.
async function openAccess(page) {
  const before = await page.locator('#requests [data-id]').count();
  await page.click('#request-access');
  // Polled from here: the page's CSP forbids the eval that page.waitForFunction needs.
  const deadline = Date.now() + WAIT_MS;
  while (await page.locator('#requests [data-id]').count() <= before) {
    check(Date.now() < deadline, 'the new request should appear in the privacy centre');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const id = (await page.locator('#requests [data-id]').first().getAttribute('data-id')).trim();
  return { id, card: page.locator(`#requests [data-id="${id}"]`) };
}

async function codeFor(id) {
  const [, code] = await mailMatching(new RegExp(`reference ${id}\\)\\.[\\s\\S]*enter this code: (\\d{8})`), `the code of ${id}`);
  return code;
}

async function firstCopy(page) {
  step('2. identity code, then the download');
  await page.goto('/privacy.html');
  const { id, card } = await openAccess(page);
  await card.locator('.code-tries', { hasText: '5 tries left' }).waitFor({ timeout: WAIT_MS });
  const code = await codeFor(id);
  await card.locator('.code-input').fill(code === '00000000' ? '11111111' : '00000000');
  await card.getByRole('button', { name: 'Confirm' }).click();
  await card.locator('.notice-error', { hasText: 'wrong code; 4 tries left' }).waitFor({ timeout: WAIT_MS });
  await card.locator('.code-tries', { hasText: '4 tries left' }).waitFor({ timeout: WAIT_MS });
  await screenshot(page, 'wrong-code');

  await card.locator('.code-input').fill(code);
  await card.getByRole('button', { name: 'Confirm' }).click();
  const link = page.locator(`#requests [data-id="${id}"] .download-link`);
  await link.waitFor({ timeout: WAIT_MS });
  check(/Completed/.test(await page.locator(`#requests [data-id="${id}"] .request-state`).innerText()), 'the request should be completed');
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: WAIT_MS }), link.click()]);
  const file = path.join(ARTIFACTS, `rights-copy-${RUN}.zip`);
  await download.saveAs(file);
  const zip = fs.readFileSync(file);
  fs.rmSync(file);
  check(zip.subarray(0, 4).toString('binary') === 'PK\x03\x04', 'the download should be a ZIP');
  check(zip.includes(Buffer.from('manifest.json')), 'the ZIP should hold manifest.json');
  await mailMatching(/ready to download/, 'the ready-to-download notice');
  await screenshot(page, 'downloaded');
}

async function paidCopy(page) {
  step('3. a further copy: the fee, a decline, then a receipt');
  const { id, card } = await openAccess(page);
  await card.locator('.code-input').fill(await codeFor(id));
  await card.getByRole('button', { name: 'Confirm' }).click();
  const fresh = page.locator(`#requests [data-id="${id}"]`);
  await fresh.locator('.fee-due', { hasText: '£10.00' }).waitFor({ timeout: WAIT_MS });
  await screenshot(page, 'fee-due');

  await fresh.locator('.card-number').fill(DECLINING_CARD);
  await fresh.locator('.card-expiry').fill('12/34');
  await fresh.locator('.card-cvc').fill('123');
  await fresh.locator('.pay-card').click();
  await fresh.locator('.notice-error', { hasText: /declined/ }).waitFor({ timeout: WAIT_MS });
  check(/Awaiting fee/.test(await fresh.locator('.request-state').innerText()), 'a decline must leave the fee due');
  await screenshot(page, 'declined');

  await fresh.locator('.card-number').fill(GOOD_CARD);
  await fresh.locator('.pay-card').click();
  const receipt = page.locator(`#requests [data-id="${id}"] .receipt`);
  await receipt.waitFor({ timeout: WAIT_MS });
  const text = await receipt.innerText();
  const reference = /reference (ch_[a-z]+)/.exec(text);
  check(/Paid £10\.00/.test(text) && reference, `the receipt should show the amount and reference: ${text}`);
  await mailMatching(new RegExp(`Amount: £10\\.00\\s+Payment reference: ${reference[1]}\\s+Date: \\d{4}-\\d{2}-\\d{2}`),
    'the emailed receipt');
  await screenshot(page, 'receipt');
}

async function staffQueue(browser, page) {
  // A third copy: the person who signed up is the company's only office manager, whose deletion
  // request the portal refuses up front.
  step('4. legal staff extend and refuse a request');
  const { id } = await openAccess(page);

  const staff = await scenario.newPage(browser);
  try {
    await staff.goto('/login.html');
    await staff.getByRole('button', { name: 'Strictly necessary only' }).click();
    await staff.fill('#email', LEGAL_EMAIL);
    await staff.fill('#password', LEGAL_PASSWORD);
    await Promise.all([staff.waitForURL('**/operator.html', { timeout: WAIT_MS }), staff.click('#login-form button[type="submit"]')]);
    await staff.selectOption('#purpose', 'legal');
    await staff.click('#purpose-form button[type="submit"]');
    const row = staff.locator(`#queue tr[data-id="${id}"]`);
    await row.waitFor({ timeout: WAIT_MS });

    await staff.getByRole('button', { name: `Extend request ${id}` }).click();
    await staff.getByLabel(`Months to extend request ${id}`).selectOption('1');
    await staff.getByLabel(`Reason to extend request ${id}`).fill('records held by a supplier');
    await row.getByRole('button', { name: 'Confirm extend' }).click();
    await staff.getByText(`Deadline extended: request ${id}.`).waitFor({ timeout: WAIT_MS });
    check(/\+1 mo/.test(await row.innerText()), `the row should show the extension: ${await row.innerText()}`);
    await mailMatching(new RegExp(`reference ${id}\\)[\\s\\S]*Reason: records held by a supplier`), 'the extension notice');

    await staff.getByRole('button', { name: `Refuse request ${id}` }).click();
    await staff.getByLabel(`Reason to refuse request ${id}`).fill('an open bill must be settled first');
    await row.getByRole('button', { name: 'Confirm refuse' }).click();
    await row.locator('.queue-state', { hasText: 'Refused' }).waitFor({ timeout: WAIT_MS });
    await screenshot(staff, 'operator-queue');
  } finally {
    await staff.context().close();
  }
  await mailMatching(new RegExp(`reference ${id}\\)[\\s\\S]*Reason: an open bill must be settled first`), 'the refusal');
  await page.reload();
  await page.locator(`#requests [data-id="${id}"] .refusal`, { hasText: 'an open bill' }).waitFor({ timeout: WAIT_MS });
  await screenshot(page, 'refused');
}

await scenario.run(async (browser) => {
  const page = await scenario.newPage(browser, { acceptDownloads: true });
  await signUp(page);
  await firstCopy(page);
  await paidCopy(page);
  await staffQueue(browser, page);
});
