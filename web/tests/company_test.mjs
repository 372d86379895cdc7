// Closing a company, in headless Chromium (issue 13 item 5), against the servers browser_test.sh
// started. A new office manager signs up; as her company's only office manager she is told, in
// words, that she cannot delete her account yet; she removes a line; she closes the company after
// a mistyped name is refused, sees when the service ends and that no line can be added meanwhile,
// and calls the closure off. Before that she gives the company its own music on hold: a WAV too
// short is refused at the file field, a six-second one is kept and offered for playing, and the
// default comes back when she asks. Screenshots land in $ARTIFACTS (prefix company-).
// Environment: PORTAL_URL, ARTIFACTS, MAILDIR (browser_test.sh sets them).

import { Scenario, WAIT_MS, check } from './scenario.mjs';
import { signUpOfficeManager } from './signup.mjs';

const scenario = new Scenario('company');
const RUN = Date.now().toString(36);
const PERSON = {
  name: 'Grace Hopper',
  email: `grace.${RUN}@example.com`,
  phone: '+44 20 7946 0031',
  birth_date: '1976-12-09',
  company_name: `Compilers ${RUN} Ltd`,
  address: '1 Harbour Road\nLondon E14 5AB',
  password: 'correct horse battery staple',
};

const step = (name) => scenario.step(name);
const screenshot = (page, name) => scenario.screenshot(page, name);

async function signUp(page) {
  step('1. an office manager signs up');
  await signUpOfficeManager(scenario, page, PERSON);
}

async function deletingIsRefusedInWords(page) {
  step('2. the only office manager cannot delete her account while the company goes on');
  await page.goto('/privacy.html');
  await page.click('#request-erase');
  check(/close[s]? the company/i.test(await page.locator('#erase-confirm-text').innerText()),
    'the confirmation should say how the phone service really ends');
  await page.click('#erase-yes');
  const refusal = page.locator('#requests .notice-error');
  await refusal.waitFor({ timeout: WAIT_MS });
  const text = await refusal.innerText();
  check(/only office manager/i.test(text) && /^[A-Z]/.test(text), `the refusal should say why, in words: ${text}`);
  await screenshot(page, 'erase-refused');
}

async function removeALine(page) {
  step('3. a line is added and removed');
  await page.goto('/extensions.html');
  await page.fill('#number', '401');
  await page.click('#add-form button[type="submit"]');
  const row = page.locator('#extensions tr[data-number="401"]');
  await row.waitFor({ timeout: WAIT_MS });
  page.once('dialog', (dialog) => dialog.accept());
  await row.locator('[data-remove="401"]').click();
  await row.waitFor({ state: 'detached', timeout: WAIT_MS });
  await page.locator('#extensions-empty').waitFor({ state: 'visible', timeout: WAIT_MS });
}

// A WAV of `seconds` of a quiet 440 Hz tone, 8 kHz mono 16-bit, as Playwright uploads a buffer.
function toneWav(seconds) {
  const samples = Math.round(8000 * seconds);
  const wav = Buffer.alloc(44 + samples * 2);
  wav.write('RIFF', 0);
  wav.writeUInt32LE(36 + samples * 2, 4);
  wav.write('WAVEfmt ', 8);
  wav.writeUInt32LE(16, 16);
  wav.writeUInt16LE(1, 20);
  wav.writeUInt16LE(1, 22);
  wav.writeUInt32LE(8000, 24);
  wav.writeUInt32LE(16000, 28);
  wav.writeUInt16LE(2, 32);
  wav.writeUInt16LE(16, 34);
  wav.write('data', 36);
  wav.writeUInt32LE(samples * 2, 40);
  for (let i = 0; i < samples; i += 1) wav.writeInt16LE(Math.round(3000 * Math.sin((2 * Math.PI * 440 * i) / 8000)), 44 + i * 2);
  return { name: 'hold.wav', mimeType: 'audio/wav', buffer: wav };
}

async function musicOnHold(page) {
  step('2b. the company\'s own music on hold: a short file refused, a good one kept, then the default again');
  await page.goto('/company.html');
  const section = page.locator('#music-on-hold');
  await section.locator('#music-state[data-music="default"]').waitFor({ timeout: WAIT_MS });
  await page.setInputFiles('#music-file', toneWav(2));
  await section.locator('button[type="submit"]').click();
  await section.locator('.field-error').waitFor({ timeout: WAIT_MS });
  check((await page.locator('#music-file').getAttribute('aria-invalid')) === 'true', 'a two-second file is refused at the file');
  await page.setInputFiles('#music-file', toneWav(6));
  await section.locator('button[type="submit"]').click();
  await section.locator('.form-ok', { hasText: 'Held callers now hear your music (0:06)' }).waitFor({ timeout: WAIT_MS });
  await section.locator('#music-player:not([hidden])').waitFor({ timeout: WAIT_MS });
  await screenshot(page, 'music');
  await page.reload();
  await page.locator('#music-state[data-music="own"]', { hasText: '0:06' }).waitFor({ timeout: WAIT_MS });
  await page.click('#music-default');
  await section.locator('#music-state[data-music="default"]').waitFor({ timeout: WAIT_MS });
  check(await page.locator('#music-player').isHidden(), 'no player without music of the company\'s own');
}

async function closeAndCallOff(page) {
  step('4. closing needs the exact name, ends the service later, and can be called off');
  await page.goto('/company.html');
  const state = page.locator('#company-state');
  await page.locator('#company-name', { hasText: PERSON.company_name }).waitFor({ timeout: WAIT_MS });
  check((await state.getAttribute('data-state')) === 'open', 'a new company is open');

  // How the company's phones sign in: SHA-256 only, kept after a reload, then back to the default.
  check(await page.locator('#sip_digest').inputValue() === '', 'a new company follows the service\'s default');
  await page.selectOption('#sip_digest', 'sha256');
  await page.click('#digest-form button[type="submit"]');
  await page.locator('#digest-form .form-ok', { hasText: 'SHA-256 only' }).waitFor({ timeout: WAIT_MS });
  await page.reload();
  await page.locator('#company-name', { hasText: PERSON.company_name }).waitFor({ timeout: WAIT_MS });
  for (let i = 0; i < 40 && (await page.locator('#sip_digest').inputValue()) !== 'sha256'; i += 1) await page.waitForTimeout(250);
  check(await page.locator('#sip_digest').inputValue() === 'sha256', 'the saved choice is shown after a reload');
  await page.selectOption('#sip_digest', '');
  await page.click('#digest-form button[type="submit"]');
  await page.locator('#digest-form .form-ok', { hasText: 'default' }).waitFor({ timeout: WAIT_MS });

  // Encryption on the wire (issue 16): required, kept after a reload, then optional again.
  check(!(await page.locator('#require_encryption').isChecked()), 'a new company does not require encryption');
  await page.check('#require_encryption');
  await page.click('#encryption-form button[type="submit"]');
  await page.locator('#encryption-form .form-ok', { hasText: 'must now use TLS and SRTP' }).waitFor({ timeout: WAIT_MS });
  await page.reload();
  await page.locator('#company-name', { hasText: PERSON.company_name }).waitFor({ timeout: WAIT_MS });
  for (let i = 0; i < 40 && !(await page.locator('#require_encryption').isChecked()); i += 1) await page.waitForTimeout(250);
  check(await page.locator('#require_encryption').isChecked(), 'the requirement is shown after a reload');
  await page.uncheck('#require_encryption');
  await page.click('#encryption-form button[type="submit"]');
  await page.locator('#encryption-form .form-ok', { hasText: 'may use TLS and SRTP' }).waitFor({ timeout: WAIT_MS });

  check(await page.locator('#time_zone').inputValue() === 'UTC', 'a new company keeps its hours in UTC');
  await page.fill('#time_zone', 'Europe/Londres');
  await page.click('#zone-form button[type="submit"]');
  await page.locator('#time_zone-error').waitFor({ timeout: WAIT_MS });
  check(/Europe\/Londres/.test(await page.locator('#time_zone-error').innerText()), 'an unknown time zone is refused by name');
  await page.fill('#time_zone', 'Europe/London');
  await page.click('#zone-form button[type="submit"]');
  await page.locator('#zone-form .form-ok', { hasText: 'Europe/London' }).waitFor({ timeout: WAIT_MS });

  await page.fill('#confirm', 'Compilers');
  await page.click('#close-form button[type="submit"]');
  await page.locator('#confirm-error').waitFor({ timeout: WAIT_MS });
  check(/company's name/i.test(await page.locator('#confirm-error').innerText()), 'a mistyped name is refused in words');
  await page.fill('#confirm', PERSON.company_name);
  await page.click('#close-form button[type="submit"]');
  await page.locator('#company-state[data-state="closing"]').waitFor({ timeout: WAIT_MS });
  check(/service ends on/i.test(await state.innerText()), 'the page says when the service ends');
  await screenshot(page, 'closing');

  await page.goto('/extensions.html');
  await page.fill('#number', '402');
  await page.click('#add-form button[type="submit"]');
  const refused = page.locator('#add-form .field-error, #add-form .form-error');
  await refused.waitFor({ timeout: WAIT_MS });
  check(/closing/i.test(await refused.innerText()), 'a closing company takes no new lines, and says so');

  await page.goto('/company.html');
  await page.click('#reopen-form button[type="submit"]');
  await page.locator('#company-state[data-state="open"]').waitFor({ timeout: WAIT_MS });
  await screenshot(page, 'called-off');
}

await scenario.run(async (browser) => {
  const page = await scenario.newPage(browser);
  await signUp(page);
  await deletingIsRefusedInWords(page);
  await musicOnHold(page);
  await removeALine(page);
  await closeAndCallOff(page);
});
