// Voicemail in the portal, in headless Chromium, against the servers browser_test.sh started:
//   1. an office manager signs up and adds two lines, A and B, and takes line A as her own; no
//      device registers on either;
//   2. line B calls line A with sipp (uac_voicemail.xml here: digest-authenticated INVITE, PCMU
//      and telephone-event offered). privox's voicemail answers the unregistered line, and the
//      caller streams real audio as RTP: an in-band DTMF '1' (697 + 1209 Hz, 150 ms) that skips the
//      greeting straight to the tone, then 3 s of a 440 Hz tone, then hangs up. One message of
//      about 3 s is filed in line A's box;
//   3. she opens Voicemail from the navigation: exactly one row, from line B's number, "New"; she
//      plays it in the page (Ogg Opus from the authenticated audio route) to its end: the audio
//      element reports a duration (Infinity until the end: the route serves no byte ranges), then
//      as long as the message; decoded in the page, it holds the caller's 3 s of 440 Hz; the row
//      then says "Heard", still after a reload;
//   4. she deletes it: the table is empty and says "No messages.";
//   5. she uploads her own greeting (a WAV) for line A, the only line of hers the page offers: it
//      reads back as Ogg; a file that is not a WAV is refused with the reason;
//   6. she chooses an email notice for line A's box (kept after a reload) and sets its PIN; a PIN of
//      one digit repeated is refused with the reason, which does not repeat it.
// A screenshot after every step lands in $ARTIFACTS (prefix voicemail-); every wait is bounded.
// Environment: PORTAL_URL, SIP_PORT, ARTIFACTS, MAILDIR, WORK (a scratch folder for sipp's logs
// and the caller's audio); browser_test.sh sets them. Its serve has no media relay, so the RTP
// goes between sipp and privox's media endpoint directly.

import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Scenario, WAIT_MS, check } from './scenario.mjs';

const scenario = new Scenario('voicemail');
const env = (variable) => scenario.env(variable);
const SIP_PORT = env('SIP_PORT');
const WORK = env('WORK');
const HERE = path.dirname(fileURLToPath(import.meta.url));
const RUN = Date.now().toString(36);
const MANAGER = {
  name: 'Grace Hopper',
  email: `grace.${RUN}@example.com`,
  phone: '+44 20 7946 0051',
  birth_date: '1986-12-09',
  company_name: `Compilers ${RUN} Ltd`,
  address: '5 Cobol Court\nLondon E5 5EE',
  password: 'manager password five',
};
const LINE_A = '301';
const LINE_B = '302';

const step = (name) => scenario.step(name);
const screenshot = (page, name) => scenario.screenshot(page, name);

async function eventually(probe, ms, what) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await probe();
      if (last) return last;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
}

// ---------------------------------------------------------------------------------------------
// The caller's audio: G.711 mu-law at 8 kHz in a WAV file, what sipp's rtp_stream sends as
// payload type 0, 160 bytes every 20 ms.

const RATE = 8000;
const LEAD_S = 0.15;  // the key '1' pressed at once: the greeting is skipped
const GAP_S = 0.6;    // silence while the key is detected and the 0.5 s tone plays
const SPEECH_S = 3.0; // what the message holds: a 440 Hz tone
const TAIL_S = 0.25;
const HANG_UP_MS = Math.round((LEAD_S + GAP_S + SPEECH_S + TAIL_S) * 1000) + 100;

function ulaw(sample) {
  const BIAS = 0x84;
  const CLIP = 32635;
  const sign = sample < 0 ? 0x80 : 0;
  let magnitude = Math.min(Math.abs(sample), CLIP) + BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (magnitude & mask) === 0 && exponent > 0; exponent -= 1, mask >>= 1);
  const mantissa = (magnitude >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

function callerAudio(file) {
  const samples = [];
  const tone = (freqs, seconds, amplitude) => {
    for (let i = 0; i < Math.round(seconds * RATE); i += 1)
      samples.push(Math.round(freqs.reduce((sum, f) => sum + amplitude * Math.sin((2 * Math.PI * f * i) / RATE), 0)));
  };
  tone([697, 1209], LEAD_S, 6000);
  tone([], GAP_S, 0);
  tone([440], SPEECH_S, 8000);
  tone([], TAIL_S, 0);
  const data = Buffer.from(samples.map(ulaw));
  // RIFF/WAVE, format 7 (mu-law), mono, 8 kHz, 8 bits a sample; a fact chunk, as non-PCM WAVs have.
  const header = Buffer.alloc(58);
  header.write('RIFF', 0);
  header.writeUInt32LE(50 + data.length, 4);
  header.write('WAVE', 8);
  header.write('fmt ', 12);
  header.writeUInt32LE(18, 16);
  header.writeUInt16LE(7, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(RATE, 24);
  header.writeUInt32LE(RATE, 28);
  header.writeUInt16LE(1, 32);
  header.writeUInt16LE(8, 34);
  header.writeUInt16LE(0, 36);
  header.write('fact', 38);
  header.writeUInt32LE(4, 42);
  header.writeUInt32LE(data.length, 46);
  header.write('data', 50);
  header.writeUInt32LE(data.length, 54);
  fs.writeFileSync(file, Buffer.concat([header, data]));
}

// ---------------------------------------------------------------------------------------------
// sipp, as in portal_test.mjs: bounded by a kill timer, its messages kept in WORK.

function freeUdpPort() {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    socket.on('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

const running = new Set();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

// Runs sipp in `cwd` (where rtp_stream finds its file); resolves with what the run left.
function sipp(name, scenarioFile, args, limitS, cwd) {
  const logs = path.join(WORK, name);
  const argv = ['-sf', scenarioFile, '-i', '127.0.0.1', '-nostdin', '-trace_msg', '-trace_err',
    '-message_file', `${logs}.msg`, '-error_file', `${logs}.err`, '-timeout', `${limitS}s`, '-timeout_error', ...args];
  const child = spawn('sipp', argv, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(child);
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const timer = setTimeout(() => child.kill('SIGKILL'), (limitS + 5) * 1000);
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      running.delete(child);
      clearTimeout(timer);
      const tail = (file) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).slice(-30).join('\n') : '');
      resolve({ code, signal, evidence: `sipp ${name} failed (exit ${code}${signal ? `, signal ${signal}` : ''})\n`
        + `stderr: ${stderr.slice(-800)}\nerrors: ${tail(`${logs}.err`)}\nmessages:\n${tail(`${logs}.msg`)}` });
    });
  });
}

// ---------------------------------------------------------------------------------------------

async function declineCookies(page) {
  await page.getByRole('button', { name: 'Strictly necessary only' }).click({ timeout: 5_000 }).catch(() => {});
  await page.locator('#cookie-banner').waitFor({ state: 'detached', timeout: WAIT_MS });
}

async function addLine(page, number) {
  await page.fill('#number', number);
  await page.click('#add-form button[type="submit"]');
  await page.locator('#password-line', { hasText: number }).waitFor();
  const password = (await page.locator('#password-value').innerText()).trim();
  check(password.length >= 12, `line ${number} should come with a device password`);
  const row = page.locator(`#extensions tr[data-number="${number}"]`);
  await row.waitFor();
  const login = (await row.locator('.sip-user').innerText()).trim();
  return { number, password, login };
}

async function signUpAndAddLines(page) {
  step('1. an office manager signs up, adds lines A and B and takes line A; no device registers');
  await page.goto('/signup.html');
  await declineCookies(page);
  for (const [id, value] of [['#name', MANAGER.name], ['#email', MANAGER.email], ['#phone', MANAGER.phone],
    ['#birth_date', MANAGER.birth_date], ['#company_name', MANAGER.company_name], ['#address', MANAGER.address],
    ['#password', MANAGER.password], ['#card-number', '4242 4242 4242 4242'], ['#card-expiry', '12/34'],
    ['#card-cvc', '123']]) await page.fill(id, value);
  await page.click('#signup-submit');
  await page.locator('#signup-sent').waitFor();
  const link = await scenario.linkMailedTo(MANAGER.email, 'confirm.html');
  await Promise.all([page.waitForURL('**/index.html', { timeout: WAIT_MS }), page.goto(link)]);

  await page.goto('/extensions.html');
  await page.locator('#add-extension').waitFor({ state: 'visible' });
  const a = await addLine(page, LINE_A);
  const b = await addLine(page, LINE_B);
  check(a.password !== b.password, 'each line gets its own password');
  // A box is its line holder's: line A becomes the manager's own.
  const rowA = page.locator(`#extensions tr[data-number="${LINE_A}"]`);
  await rowA.locator(`[data-edit="${LINE_A}"]`).click();
  await page.locator('#edit-line').waitFor({ state: 'visible' });
  await page.selectOption('#edit-member', { label: MANAGER.name });
  await page.click('#edit-form button[type="submit"]');
  await rowA.locator('.assignee', { hasText: MANAGER.name }).waitFor();
  for (const number of [LINE_A, LINE_B]) {
    const registration = await page.locator(`#extensions tr[data-number="${number}"] .registration`).innerText();
    check(!/^Registered/.test(registration.trim()), `line ${number} has no device: ${registration}`);
  }
  await screenshot(page, 'lines');
  return { a, b };
}

async function leaveMessage(page, { b }) {
  step('2. line B calls line A with sipp: voicemail answers, the caller keys 1 and speaks 3 s');
  const dir = fs.mkdtempSync(path.join(WORK, 'voicemail-caller-'));
  callerAudio(path.join(dir, 'voicemail_caller.wav'));
  const started = Date.now();
  const run = await sipp('voicemail-uac', path.join(HERE, 'uac_voicemail.xml'),
    [`127.0.0.1:${SIP_PORT}`, '-p', String(await freeUdpPort()), '-mp', String(await freeUdpPort()), '-m', '1',
      '-s', LINE_A, '-key', 'caller', b.login, '-au', b.login, '-ap', b.password,
      '-auth_uri', `${LINE_A}@127.0.0.1:${SIP_PORT}`, '-d', String(HANG_UP_MS)], 25, dir);
  check(run.code === 0, run.evidence);
  console.log(`   the call lasted ${((Date.now() - started) / 1000).toFixed(1)} s (hang-up after ${HANG_UP_MS} ms of media)`);

  // The recording is filed once privox has the BYE: within a few seconds.
  const items = await eventually(async () => {
    const res = await page.request.get('/api/v1/voicemail');
    check(res.ok(), `GET /api/v1/voicemail: ${res.status()}`);
    const body = await res.json();
    return body.items.length ? body.items : null;
  }, WAIT_MS, 'the message in the manager\'s box');
  check(items.length === 1, `exactly one message: ${JSON.stringify(items)}`);
  const [message] = items;
  check(message.caller === LINE_B && !message.caller_withheld, `the message is from line ${LINE_B}: ${JSON.stringify(message)}`);
  check(!message.heard, 'the message is new');
  // The hang-up came at about 4 s, well inside the 12 s greeting: a message at all means the key
  // skipped the greeting, and one ended by the hang-up holds what came after the tone.
  check(message.end_reason === 'hangup', `the hang-up ended the message: ${JSON.stringify(message)}`);
  check(Math.abs(message.duration_ms - SPEECH_S * 1000) <= 1000,
    `the message lasts about ${SPEECH_S} s (the greeting was skipped, the hang-up ended it): ${JSON.stringify(message)}`);
  console.log(`   the message: ${message.duration_ms} ms, ended by ${message.end_reason}`);
  await screenshot(page, 'message-left');
  return message;
}

async function listenToIt(page, message) {
  step('3. the Voicemail page: one new message from line B, played in the page, then heard');
  await page.goto('/index.html');
  await Promise.all([page.waitForURL('**/voicemail.html', { timeout: WAIT_MS }),
    page.locator('#site-nav').getByRole('link', { name: 'Voicemail' }).click()]);
  const rows = page.locator('#voicemail tbody tr[data-id]');
  await rows.first().waitFor();
  check(await rows.count() === 1, `exactly one row:\n${await page.locator('#voicemail').innerText()}`);
  const row = page.locator(`#voicemail tr[data-id="${message.id}"]`);
  check((await row.locator('.party-source').innerText()).trim() === LINE_B, `the row names the caller, line ${LINE_B}`);
  check((await row.locator('.state').innerText()).trim() === 'New', 'the row says New');
  check(await page.locator('#voicemail-empty').isHidden(), '"No messages." is hidden while there is one');
  await screenshot(page, 'new-message');

  // Played from the authenticated route: the element loads only now (preload="none").
  const audio = row.locator('audio');
  check(await audio.evaluate((el) => el.preload) === 'none', 'the audio loads only when asked');
  // The route answers 200 without ranges, so Chromium streams the Ogg: its duration is Infinity
  // until the end is reached. It is played to the end (about 3.5 s) to learn its length.
  const played = await audio.evaluate((el) => new Promise((resolve) => {
    const seen = {};
    const timer = setTimeout(() => resolve({ ...seen, error: 'not played to its end within 15 s', networkState: el.networkState,
      readyState: el.readyState, currentTime: el.currentTime }), 15_000);
    el.addEventListener('loadedmetadata', () => { seen.metadataDuration = el.duration; }, { once: true });
    el.addEventListener('ended', () => { clearTimeout(timer); resolve({ ...seen, duration: el.duration }); }, { once: true });
    el.addEventListener('error', () => { clearTimeout(timer); resolve({ error: `media error ${el.error && el.error.code}: ${el.error && el.error.message}` }); }, { once: true });
    el.play().catch((error) => { clearTimeout(timer); resolve({ error: `play(): ${error.message}` }); });
  }));
  check(!played.error, `the message plays in the page: ${JSON.stringify(played)}`);
  check(played.metadataDuration > 0, `the audio element reports a duration once its metadata is in: ${JSON.stringify(played)}`);
  check(Number.isFinite(played.duration) && Math.abs(played.duration * 1000 - message.duration_ms) <= 300,
    `played to its end, the audio lasts as long as the message (${message.duration_ms} ms): ${JSON.stringify(played)}`);
  console.log(`   the audio element reports ${played.metadataDuration} s at first, ${played.duration.toFixed(2)} s played to its end`);
  // What was recorded is the caller's tone, not the greeting: the page decodes the Ogg Opus itself
  // and counts the 20 ms blocks where 440 Hz holds most of the energy (Goertzel).
  const tone = await audio.evaluate(async (el) => {
    const response = await fetch(el.src, { credentials: 'same-origin' });
    const context = new OfflineAudioContext(1, 8000, 8000);
    const decoded = await context.decodeAudioData(await response.arrayBuffer());
    const pcm = decoded.getChannelData(0);
    const rate = decoded.sampleRate;
    const size = Math.round(rate / 50);
    const k = 2 * Math.cos((2 * Math.PI * 440) / rate);
    let blocks = 0;
    for (let i = 0; i + size <= pcm.length; i += size) {
      let s1 = 0;
      let s2 = 0;
      let energy = 0;
      for (let j = i; j < i + size; j += 1) {
        [s1, s2] = [pcm[j] + k * s1 - s2, s1];
        energy += pcm[j] * pcm[j];
      }
      const power = s1 * s1 + s2 * s2 - k * s1 * s2;
      if (energy > 1e-3 && power > 0.5 * energy * size / 2) blocks += 1;
    }
    return { seconds: pcm.length / rate, toneSeconds: blocks / 50 };
  });
  console.log(`   decoded: ${tone.seconds.toFixed(2)} s, of which ${tone.toneSeconds.toFixed(2)} s the caller's 440 Hz tone`);
  check(tone.toneSeconds >= SPEECH_S - 0.8 && tone.toneSeconds <= SPEECH_S + 0.2,
    `the message holds the caller's ${SPEECH_S} s tone: ${JSON.stringify(tone)}`);
  await row.locator('.state', { hasText: /^Heard$/ }).waitFor();
  await screenshot(page, 'heard');
  // The server agrees: heard after a reload.
  await page.reload();
  await row.locator('.state', { hasText: /^Heard$/ }).waitFor();
}

async function deleteIt(page, message) {
  step('4. the message is deleted: "No messages."');
  const row = page.locator(`#voicemail tr[data-id="${message.id}"]`);
  await row.getByRole('button', { name: 'Delete' }).click();
  await page.locator('#voicemail-empty').waitFor({ state: 'visible' });
  check(await page.locator('#voicemail tbody tr').count() === 0, 'the table is empty');
  check((await page.locator('#voicemail-empty').innerText()).trim() === 'No messages.', 'the page says "No messages."');
  const res = await page.request.get('/api/v1/voicemail');
  check(res.ok() && (await res.json()).items.length === 0, 'the API lists no message either');
  await screenshot(page, 'deleted');
}

async function uploadGreeting(page) {
  step('5. her own greeting: a WAV is taken and can be heard; a file that is not a WAV is refused with the reason');
  await page.goto('/voicemail.html');
  const form = page.locator('form.greeting', { hasText: `Line ${LINE_A}` });
  await form.waitFor();
  check(await page.locator('form.greeting').count() === 1, 'only her own line (A) offers a greeting');
  const wav = path.join(WORK, 'greeting.wav');
  callerAudio(wav);
  await form.locator('input[type="file"]').setInputFiles(wav);
  await form.getByRole('button', { name: 'Upload greeting' }).click();
  await form.locator('.form-ok', { hasText: /^Greeting saved/ }).waitFor();
  const res = await page.request.get(`/api/v1/voicemail/greetings/${encodeURIComponent(await form.getAttribute('data-line'))}`);
  check(res.ok() && res.headers()['content-type'] === 'audio/ogg', `the greeting reads back as Ogg: ${res.status()}`);
  check((await res.body()).subarray(0, 4).toString() === 'OggS', 'and is an Ogg stream');
  await screenshot(page, 'greeting');

  await form.locator('input[type="file"]').setInputFiles({ name: 'note.wav', mimeType: 'audio/wav', buffer: Buffer.from('not a wav at all, only text') });
  await form.getByRole('button', { name: 'Upload greeting' }).click();
  const refusal = form.locator('.notice-error');
  await refusal.waitFor();
  check(/WAV|audio/i.test(await refusal.innerText()), `the refusal names the problem: ${await refusal.innerText()}`);
  await screenshot(page, 'greeting-refused');
}

async function chooseOptions(page) {
  step('6. her box options: the email notice chosen and kept; a PIN set, a guessable one refused with the reason');
  await page.goto('/voicemail.html');
  const form = page.locator('form.box-options', { hasText: `Line ${LINE_A}` });
  await form.waitFor();
  check(await page.locator('form.box-options').count() === 1, 'only her own line (A) offers options');
  const options = `/api/v1/voicemail/options/${encodeURIComponent(await form.getAttribute('data-line'))}`;
  const select = form.getByLabel('Email me when a caller leaves a message');
  check(await select.inputValue() === 'off', 'the email notice is off until she chooses');
  await select.selectOption('notice');
  await form.getByRole('button', { name: 'Save email choice' }).click();
  await form.locator('.form-ok', { hasText: /^Saved/ }).waitFor();
  let res = await page.request.get(options);
  check(res.ok() && (await res.json()).email_notice === 'notice', 'the server keeps her choice');
  const pin = form.getByLabel('PIN (4 to 12 digits)');
  await pin.fill('1111');
  await form.getByRole('button', { name: 'Set PIN' }).click();
  const refusal = form.locator('.notice-error');
  await refusal.waitFor();
  check(/digit/i.test(await refusal.innerText()) && !(await refusal.innerText()).includes('1111'),
    `a guessable PIN is refused with the reason, not echoed: ${await refusal.innerText()}`);
  await pin.fill('4826');
  await form.getByRole('button', { name: 'Set PIN' }).click();
  await form.locator('.form-ok', { hasText: /^PIN set/ }).waitFor();
  check((await form.locator('.pin-state').innerText()).startsWith('A PIN is set'), 'the form says a PIN is set');
  res = await page.request.get(options);
  check(res.ok() && (await res.json()).has_pin === true, 'and the server has it');
  await page.reload();
  await form.waitFor();
  check(await form.getByLabel('Email me when a caller leaves a message').inputValue() === 'notice',
    'the choice is still there after a reload');
  await screenshot(page, 'options');
}

await scenario.run(async (browser) => {
  const page = await scenario.newPage(browser);
  const lines = await signUpAndAddLines(page);
  const message = await leaveMessage(page, lines);
  await listenToIt(page, message);
  await deleteIt(page, message);
  await uploadGreeting(page);
  await chooseOptions(page);
});
