// The softphone in the portal (issue 16) in headless Chromium with a fake microphone, against the
// servers browser_test.sh started (privox with rtpengine as its media relay) and a real baresip:
//   1. an office manager signs up, adds line 501 for herself and line 502, whose login and
//      password go to a baresip that answers by itself;
//   2. the WebSocket at /sip refuses a page of another origin (403), a request without a session
//      (401) and one that does not ask for the "sip" subprotocol (400);
//   3. on the Phone page the browser registers over the WebSocket with the password the portal gave
//      it (never the line's device password);
//   4. the browser calls 502: baresip answers, and the browser's WebRTC statistics show audio
//      packets received and sent (through rtpengine, DTLS-SRTP on the browser's side); a key
//      pressed on the page goes as an RFC 4733 event, which rtpengine reports; hold and resume work;
//   5. baresip calls 501: the browser rings, answers, and again counts packets both ways; baresip
//      hangs up, and its BYE ends the call in the browser;
//   6. the call log records both calls, encrypted on the browser's leg;
//   7. line 501 also registers on a desk phone (a second baresip, which does not answer by
//      itself): a call rings both, each with the relay's offer for its kind; the browser answers
//      and hears audio both ways; the next call the desk phone answers, the browser stops ringing,
//      and the desk phone hears the caller's tone;
//   8. the browser calls 502 and transfers it to 503 (a third baresip, which answers by itself) from
//      the page: 502 calls 503, the browser's call ends once 503 answered, and 503 gets RTP;
//  8b. an attended transfer from the page: a second page, on line 504, calls 501; 501 holds it and
//      calls 503 first (audio both ways on that consultation call), then completes the transfer:
//      its REFER names 503 at privox's SIP service with the consultation call to replace (RFC
//      3891), 504 calls 503 with that Replaces header, both of 501's calls end once 503 answered,
//      and 504 and 503 have audio;
//   9. once the company requires encryption, the Phone page (ws: here, not TLS) says that privox
//      refused its registration, and why; then the requirement is lifted and it registers again;
//  10. a second Phone page whose network fails (Playwright's WebSocket routing) says so and tries
//      again: a WebSocket closed before it opens is retried after 1 s, an answered REGISTER lost on
//      an open one after the 10 s watchdog, and the third WebSocket registers;
//  11. logging out ends the softphone: its WebSocket is closed within the recheck interval.
// Environment: PORTAL_URL, SIP_PORT, ARTIFACTS, MAILDIR, WORK (browser_test.sh sets them).

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Scenario, WAIT_MS, check } from './scenario.mjs';
import { signUpOfficeManager } from './signup.mjs';

const scenario = new Scenario('softphone', {
  limitMs: 240_000,
  chromiumArgs: ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
    '--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns'],
});
const RUN = Date.now().toString(36);
const MANAGER = {
  name: 'Alexander Bell',
  email: `alex.${RUN}@example.com`,
  phone: '+44 20 7946 0071',
  birth_date: '1977-03-03',
  company_name: `Harmonic Telegraph ${RUN} Ltd`,
  address: '3 Volta Lane\nLondon E3 3GG',
  password: 'manager password eight',
};
const PORTAL_URL = scenario.env('PORTAL_URL');
const SIP_PORT = scenario.env('SIP_PORT');
const WORK = scenario.env('WORK');
const DTMF_LOG = scenario.env('DTMF_LOG');

// A registration takes a second; the page registers again when one is lost (10 s unanswered, see
// web/js/phone.js), and says so in a warning the scenario prints.
const REGISTERED_MS = 25_000;
const step = (name) => scenario.step(name);
const screenshot = (page, name) => scenario.screenshot(page, name);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function addLine(page, number, assignToManager) {
  await page.goto('/extensions.html');
  await page.fill('#number', number);
  await page.click('#add-form button[type="submit"]');
  await page.locator('#password-line', { hasText: number }).waitFor();
  const password = (await page.locator('#password-value').innerText()).trim();
  const row = page.locator(`#extensions tr[data-number="${number}"]`);
  const login = (await row.locator('td.sip-user').innerText()).trim();
  if (assignToManager) {
    await row.locator(`[data-edit="${number}"]`).click();
    await page.selectOption('#edit-member', { label: MANAGER.name });
    await page.click('#edit-form button[type="submit"]');
    await row.locator('.assignee', { hasText: MANAGER.name }).waitFor();
  }
  return { login, password };
}

// A mono 8 kHz tone for baresip to send (aufile source), as scripts/test-lib.sh's baresip_phone.
function toneWav(file, seconds) {
  const samples = 8000 * seconds;
  const data = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i += 1) data.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 8000)), i * 2);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVEfmt ', 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(8000, 24);
  header.writeUInt32LE(16000, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(data.length, 40);
  fs.writeFileSync(file, Buffer.concat([header, data]));
}

// A baresip for a line, which answers every call by itself unless `manual` (then `/accept` on its
// stdin does); its output is kept for the checks.
function startBaresip({ login, password }, name = 'softphone-baresip', manual = false) {
  const dir = path.join(WORK, name);
  fs.mkdirSync(dir, { recursive: true });
  toneWav(path.join(dir, 'tone.wav'), 30);
  const listen = 20000 + Math.floor(Math.random() * 20000);
  fs.writeFileSync(path.join(dir, 'config'), [
    'poll_method   epoll', `sip_listen    127.0.0.1:${listen}`, `audio_source  aufile,${dir}/tone.wav`,
    `audio_player  aufile,${dir}/out.wav`, `audio_alert   aufile,${dir}/alert.wav`,
    'module_path   /usr/lib/baresip/modules', 'module        stdio.so', 'module        g711.so',
    'module        aufile.so', 'module        account.so', 'module        menu.so', ''].join('\n'));
  fs.writeFileSync(path.join(dir, 'accounts'),
    `<sip:${login}@127.0.0.1:${SIP_PORT}>;auth_pass=${password};regint=600;answermode=${manual ? 'manual' : 'auto'}\n`);
  const child = spawn('baresip', ['-f', dir], { stdio: ['pipe', 'pipe', 'pipe'] });
  const phone = { child, output: '' };
  for (const stream of [child.stdout, child.stderr]) stream.on('data', (chunk) => { phone.output += chunk.toString(); });
  return phone;
}

async function waitOutput(phone, pattern, from = 0, ms = WAIT_MS) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (pattern.test(phone.output.slice(from))) return;
    await sleep(100);
  }
  throw new Error(`baresip never printed ${pattern}; its output:\n${phone.output.slice(-1500)}`);
}

// Until rtpengine has reported the key `digit` (its DTMF log, one JSON datagram a line).
async function waitDtmf(digit) {
  const deadline = Date.now() + WAIT_MS;
  let lines = [];
  while (Date.now() < deadline) {
    lines = fs.readFileSync(DTMF_LOG, 'utf8').split('\n').filter(Boolean);
    if (lines.some((line) => { try { return JSON.parse(line).event === digit; } catch { return false; } })) return;
    await sleep(100);
  }
  throw new Error(`rtpengine reported no key ${digit}; its DTMF log:\n${lines.join('\n')}`);
}

// The upgrade request's answer: 101 when it became a WebSocket, else the refusal's status.
function upgradeStatus(headers) {
  return new Promise((resolve, reject) => {
    const request = http.request(`${PORTAL_URL}/sip`, {
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': Buffer.from(RUN.padEnd(16, 'x')).toString('base64'), ...headers },
    });
    request.on('upgrade', (response, socket) => {
      socket.destroy();
      resolve(response.statusCode);
    });
    request.on('response', (response) => {
      response.resume();
      resolve(response.statusCode);
    });
    request.on('error', reject);
    request.end();
  });
}

// Audio packets the browser counted on its call (or its consultation call), from the page's
// WebRTC statistics.
async function packets(page, where = '#call-audio') {
  const line = page.locator(where);
  return { received: Number(await line.getAttribute('data-received') || 0), sent: Number(await line.getAttribute('data-sent') || 0) };
}

// The office manager requires encryption of the company's phones, or lifts it, on the Company page.
async function setEncryptionRequired(page, required) {
  await page.goto('/company.html');
  await page.locator('#wire-encryption').waitFor();  // shown once the company is loaded, box and all
  await page.locator('#require_encryption').setChecked(required);
  await page.click('#encryption-form button[type="submit"]');
  await page.locator('#encryption-form .form-ok', { hasText: required ? 'must now use TLS' : 'may use TLS' }).waitFor();
}

// Opens the Phone page until its status settles on `pattern`. The company's setting reaches the
// SIP service a moment after it is saved, and a registration before that goes the old way, so a
// page that settled the other way (registered, or refused) is opened again, for 20 s at most.
async function phoneStateOnceSettled(page, pattern) {
  const deadline = Date.now() + 20_000;
  let shown = '';
  while (Date.now() < deadline) {
    await page.goto('/phone.html');
    const settleBy = Date.now() + REGISTERED_MS;
    while (Date.now() < settleBy && Date.now() < deadline) {
      shown = (await page.locator('#phone-state').innerText()).trim();
      if (pattern.test(shown)) return shown;
      if (/^Ready|^Not registered: privox answered/.test(shown)) break;
      await sleep(200);
    }
  }
  throw new Error(`the Phone page's status never matched ${pattern}: "${shown}"`);
}

// The devices registered on line `number`, as the portal lists them, once there are `wanted` (or
// what there are after WAIT_MS).
async function devicesOf(page, number, wanted) {
  const deadline = Date.now() + WAIT_MS;
  let devices = [];
  while (Date.now() < deadline) {
    const answer = await page.request.get('/api/v1/extensions');
    check(answer.ok(), `GET /api/v1/extensions answered ${answer.status()}`);
    const line = (await answer.json()).items.find((x) => x.number === number);
    devices = (line && line.devices) || [];
    if (devices.length >= wanted) break;
    await sleep(250);
  }
  return devices;
}

async function waitAudioBothWays(page, what, where = '#call-audio') {
  const deadline = Date.now() + 15_000;
  let last = { received: 0, sent: 0 };
  while (Date.now() < deadline) {
    last = await packets(page, where);
    if (last.received >= 50 && last.sent >= 50) return last;
    await sleep(250);
  }
  throw new Error(`${what}: the browser counted ${last.received} audio packets received and ${last.sent} sent`);
}

await scenario.run(async (browser) => {
  const page = await scenario.newPage(browser);
  // What the page sends over its WebSockets, for the attended transfer's REFER (step 8b).
  const sentFrames = [];
  page.on('websocket', (socket) => socket.on('framesent', ({ payload }) => sentFrames.push(String(payload))));
  step('1. an office manager signs up; line 501 is hers, line 502 goes to a baresip that answers');
  await signUpOfficeManager(scenario, page, MANAGER);
  // 502 first: once the browser has registered 501, the SIP service has both (the directory's
  // changes arrive in order), and baresip's REGISTER is never refused as an unknown login.
  const desk = await addLine(page, '502', false);
  const third = await addLine(page, '503', false);
  const own = await addLine(page, '501', true);
  await screenshot(page, 'lines');
  let baresip = null;
  let deskPhone = null;
  let transferTarget = null;
  try {

    step('2. /sip refuses another origin, no session and no "sip" subprotocol');
    const cookie = (await page.context().cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
    const good = { Cookie: cookie, Origin: PORTAL_URL, 'Sec-WebSocket-Protocol': 'sip' };
    check(await upgradeStatus({ ...good, Origin: 'http://attacker.example' }) === 403, 'another origin is refused 403');
    check(await upgradeStatus({ ...good, Cookie: '' }) === 401, 'no session is refused 401');
    check(await upgradeStatus({ ...good, 'Sec-WebSocket-Protocol': 'chat' }) === 400, 'another subprotocol is refused 400');
    check(await upgradeStatus(good) === 101, 'the portal\'s own origin with a session is upgraded (101)');

    step('3. the Phone page registers line 501 over the WebSocket');
    await page.goto('/phone.html');
    await page.locator('#site-nav a[href="/phone.html"][aria-current="page"]').waitFor();
    await page.locator('#phone-state', { hasText: 'Ready: line 501' }).waitFor({ timeout: REGISTERED_MS });
    await screenshot(page, 'registered');
    baresip = startBaresip(desk);
    await waitOutput(baresip, /200 OK.*\[[0-9]+ binding/);

    step('4. the browser calls 502; baresip answers, audio flows both ways, a key press and hold work');
    let mark = baresip.output.length;
    await page.fill('#destination', '502');
    await page.click('#call');
    await page.locator('#in-call:not([hidden])').waitFor({ timeout: 15_000 });
    await waitOutput(baresip, /Call established/, mark);
    const outbound = await waitAudioBothWays(page, 'the browser\'s call to 502');
    await screenshot(page, 'calling-502');
    // A key press goes as an RFC 4733 event in the audio: rtpengine, which relays it, reports it.
    await page.click('#keypad button[data-key="5"]');
    await waitDtmf(5);
    // Hold and resume: each a re-INVITE through the relay, the browser's ICE kept.
    await page.click('#hold');
    await page.locator('#hold[aria-pressed="true"]').waitFor();
    await page.click('#hold');
    await page.locator('#hold[aria-pressed="false"]').waitFor();
    await page.click('#hangup');
    await page.locator('#in-call').waitFor({ state: 'hidden' });
    console.log(`   browser → 502: ${outbound.received} packets received, ${outbound.sent} sent`);

    step('5. baresip calls 501; the browser rings, answers, and audio flows both ways');
    mark = baresip.output.length;
    baresip.child.stdin.write(`/dial sip:501@127.0.0.1:${SIP_PORT}\n`);
    await page.locator('#incoming:not([hidden])').waitFor({ timeout: 15_000 });
    // The caller's From names baresip's SIP login; privox asserts its extension, which the page shows.
    const shown = (await page.locator('#incoming-from').innerText()).trim();
    check(shown === '502' && shown !== desk.login, `the browser shows who calls by extension: ${shown}`);
    await screenshot(page, 'ringing');
    await page.click('#answer');
    await page.locator('#in-call:not([hidden])').waitFor();
    await waitOutput(baresip, /Call established/, mark);
    const inbound = await waitAudioBothWays(page, 'the call from 502');
    // baresip hangs up: its BYE reaches the browser over the WebSocket the browser registered.
    baresip.child.stdin.write('/hangup\n');
    await page.locator('#in-call').waitFor({ state: 'hidden' });
    console.log(`   502 → browser: ${inbound.received} packets received, ${inbound.sent} sent`);

    step('6. the call log has both calls, encrypted on the browser\'s leg only');
    const answered = [];
    const deadline = Date.now() + WAIT_MS;
    while (Date.now() < deadline && answered.length < 2) {
      const answer = await page.request.get('/api/v1/calls');
      check(answer.ok(), `GET /api/v1/calls answered ${answer.status()}`);
      answered.splice(0, answered.length, ...(await answer.json()).items.filter((r) => r.answered_at));
      if (answered.length < 2) await sleep(250);
    }
    const call = (from, to) => answered.find((r) => r.source === from && r.destination === to);
    const out = call('501', '502');
    const into = call('502', '501');
    check(out && into, `both answered calls are in the log: ${JSON.stringify(answered)}`);
    check(out.caller_encrypted === true && out.callee_encrypted === false,
      `501 → 502: the browser's leg encrypted, baresip's not: ${JSON.stringify(out)}`);
    check(into.caller_encrypted === false && into.callee_encrypted === true,
      `502 → 501: baresip's leg plain, the browser's encrypted: ${JSON.stringify(into)}`);
    await page.goto('/calls.html');
    await page.locator('#records tbody tr').nth(1).waitFor();
    await screenshot(page, 'call-log');

    step('7. 501 on the browser and a desk phone: both ring; the browser answers one call, the desk phone the next');
    // The desk phone registers first, then the page.
    deskPhone = startBaresip(own, 'softphone-desk-501', true);
    await waitOutput(deskPhone, /200 OK.*\[[0-9]+ binding/);
    await page.goto('/phone.html');
    await page.locator('#phone-state', { hasText: 'Ready: line 501' }).waitFor({ timeout: REGISTERED_MS });
    const devices = await devicesOf(page, '501', 2);
    check(devices.length === 2, `line 501 lists the browser and the desk phone: ${JSON.stringify(devices)}`);
    let deskMark = deskPhone.output.length;
    mark = baresip.output.length;
    baresip.child.stdin.write(`/dial sip:501@127.0.0.1:${SIP_PORT}\n`);
    await page.locator('#incoming:not([hidden])').waitFor({ timeout: 15_000 });
    await waitOutput(deskPhone, /Incoming call from/, deskMark);
    await page.click('#answer');
    await page.locator('#in-call:not([hidden])').waitFor();
    await waitOutput(baresip, /Call established/, mark);
    const mixed = await waitAudioBothWays(page, 'the call from 502 answered in the browser while a desk phone rang too');
    check(!/Call established/.test(deskPhone.output.slice(deskMark)), 'the desk phone did not answer that call');
    baresip.child.stdin.write('/hangup\n');
    await page.locator('#in-call').waitFor({ state: 'hidden' });
    console.log(`   502 → 501, the browser answering: ${mixed.received} packets received, ${mixed.sent} sent`);

    deskMark = deskPhone.output.length;
    mark = baresip.output.length;
    baresip.child.stdin.write(`/dial sip:501@127.0.0.1:${SIP_PORT}\n`);
    await page.locator('#incoming:not([hidden])').waitFor({ timeout: 15_000 });
    await waitOutput(deskPhone, /Incoming call from/, deskMark);
    deskPhone.child.stdin.write('/accept\n');
    await waitOutput(deskPhone, /Call established/, deskMark);
    await waitOutput(baresip, /Call established/, mark);
    await page.locator('#incoming').waitFor({ state: 'hidden', timeout: 15_000 });
    // Each baresip says when the relay's RTP reaches it (Debian's baresip cannot record what it
    // hears: its aufile module is a source only).
    const media = /incoming rtp for 'audio' established/;
    await waitOutput(deskPhone, media, deskMark);
    await waitOutput(baresip, media, mark);
    baresip.child.stdin.write('/hangup\n');
    await waitOutput(deskPhone, /session closed|terminated/, deskMark);
    console.log('   502 → 501, the desk phone answering: RTP reached both phones through the relay');

    step('8. the browser calls 502 and transfers it to 503 from the page');
    transferTarget = startBaresip(third, 'softphone-baresip-503');
    await waitOutput(transferTarget, /200 OK.*\[[0-9]+ binding/);
    mark = baresip.output.length;
    await page.fill('#destination', '502');
    await page.click('#call');
    await page.locator('#in-call:not([hidden])').waitFor({ timeout: 15_000 });
    await waitOutput(baresip, /Call established/, mark);
    await waitAudioBothWays(page, 'the browser\'s call to 502 before its transfer');
    const targetMark = transferTarget.output.length;
    await page.fill('#transfer-to', '503');
    await page.click('#transfer');
    // 502 is asked (REFER) to call 503 itself; the page hangs up once 503 answered (NOTIFY 200).
    await waitOutput(transferTarget, /Call established/, targetMark);
    await page.locator('#in-call').waitFor({ state: 'hidden', timeout: 15_000 });
    await waitOutput(transferTarget, /incoming rtp for 'audio' established/, targetMark);
    await screenshot(page, 'transferred');
    baresip.child.stdin.write('/hangup\n');
    await waitOutput(transferTarget, /session closed|terminated/, targetMark);
    console.log('   browser → 502, transferred to 503: 502 and 503 talk, the browser\'s call ended');

    step('8b. a second page on line 504 calls 501; 501 holds it, calls 503 first, then transfers it to 503 (attended)');
    // The transferee is a browser too: it turns the Refer-To's Replaces into the INVITE's header
    // (RFC 3891), as Debian's baresip 1.0 does not (it sends the header inside its Request-URI,
    // which privox refuses 400, like RFC 4475's escruri).
    await addLine(page, '504', true);
    await page.goto('/phone.html');
    await page.locator('#phone-state', { hasText: 'Ready: line 501' }).waitFor({ timeout: REGISTERED_MS });
    const transferee = await page.context().newPage();
    const transfereeFrames = [];
    transferee.on('websocket', (socket) => socket.on('framesent', ({ payload }) => transfereeFrames.push(String(payload))));
    await transferee.goto('/phone.html');
    await transferee.locator('#line-form:not([hidden])').waitFor({ timeout: REGISTERED_MS });
    await transferee.selectOption('#line', { label: '504' });
    await transferee.locator('#phone-state', { hasText: 'Ready: line 504' }).waitFor({ timeout: REGISTERED_MS });
    await transferee.fill('#destination', '501');
    await transferee.click('#call');
    await page.locator('#incoming:not([hidden])').waitFor({ timeout: 15_000 });
    await page.bringToFront();  // a page behind another is not drawn, nor screenshotted
    await page.click('#answer');
    await page.locator('#in-call:not([hidden])').waitFor({ timeout: 15_000 });
    await waitAudioBothWays(page, '504 → 501 before its attended transfer');
    const framesBefore = sentFrames.length;
    let targetFrom = transferTarget.output.length;
    await page.fill('#transfer-to', '503');
    await page.click('#consult');
    await page.locator('#hold[aria-pressed="true"]').waitFor({ timeout: 15_000 });
    await waitOutput(transferTarget, /Call established/, targetFrom);
    await page.locator('#complete-transfer:not([disabled])').waitFor({ timeout: 15_000 });
    await waitAudioBothWays(page, 'the consultation call to 503', '#consultation-audio');
    await screenshot(page, 'consulting-503');
    const consultInvite = sentFrames.slice(framesBefore).find((frame) => /^INVITE sip:503@/.test(frame));
    check(Boolean(consultInvite), 'the consultation call is an INVITE to 503 from the browser');
    const consultCallId = /\r\nCall-ID: *([^\r]+)/i.exec(consultInvite)[1];
    targetFrom = transferTarget.output.length;
    const referFrom = sentFrames.length;
    const replacingFrom = transfereeFrames.length;
    await page.click('#complete-transfer');
    await waitOutput(transferTarget, /Call established/, targetFrom);
    await page.locator('#in-call').waitFor({ state: 'hidden', timeout: 15_000 });
    check(await page.locator('#consultation').isHidden(), 'the consultation part of the page is gone');
    const refer = sentFrames.slice(referFrom).find((frame) => /^REFER /.test(frame));
    const referTo = refer ? /\r\nRefer-To: *([^\r]+)/i.exec(refer)[1] : '';
    const expected = `<sip:503@127.0.0.1:${SIP_PORT}?Replaces=${encodeURIComponent(consultCallId)}%3Bto-tag%3D`;
    check(referTo.startsWith(expected) && /%3Bfrom-tag%3D[^>]+>$/.test(referTo),
      `the REFER names 503 at privox with the consultation call to replace: ${referTo}`);
    const replacing = transfereeFrames.slice(replacingFrom).find((frame) => /^INVITE sip:503@/.test(frame));
    const replaces = replacing ? /\r\nReplaces: *([^\r]+)/i.exec(replacing) : null;
    check(Boolean(replaces) && replaces[1].startsWith(`${consultCallId};to-tag=`),
      `504's INVITE to 503 replaces the consultation call: ${replaces ? replaces[1] : 'no Replaces header'}`);
    await waitAudioBothWays(transferee, '504 after the transfer, with 503');
    await waitOutput(transferTarget, /incoming rtp for 'audio' established/, targetFrom);
    await screenshot(page, 'attended-transferred');
    await transferee.bringToFront();
    await screenshot(transferee, 'attended-transferee');
    await transferee.click('#hangup');
    await waitOutput(transferTarget, /session closed|terminated/, targetFrom);
    await transferee.close();
    await page.bringToFront();
    console.log('   504 → 501, 501 consulted 503 and transferred: 504 and 503 talk, both of 501\'s calls ended');

    step('9. when the company requires encryption, the Phone page over ws: says why it is not registered');
    await setEncryptionRequired(page, true);
    const refused = await phoneStateOnceSettled(page, /Not registered: privox answered 403 Forbidden: this company requires TLS/);
    console.log(`   the page says: ${refused}`);
    await screenshot(page, 'tls-required');
    await setEncryptionRequired(page, false);
    await phoneStateOnceSettled(page, /Ready: line 501/);

    step('10. the Phone page tries again when its WebSocket does not open, and when a REGISTER goes unanswered');
    // The network between browser and privox is what fails here, through Playwright's WebSocket
    // routing in a second page of the same session: the first WebSocket is closed before it
    // opens; on the second, privox gets the first REGISTER (and challenges it) but never the
    // answered one; the third reaches privox untouched.
    const retrying = await page.context().newPage();
    let sockets = 0;
    await retrying.routeWebSocket(/\/sip(\?|$)/, (ws) => {
      sockets += 1;
      if (sockets === 1) return ws.close();
      const privox = ws.connectToServer();
      if (sockets === 2) {
        ws.onMessage((message) => {
          if (!/^REGISTER [^]*\r\nAuthorization:/i.test(String(message))) privox.send(message);
        });
      }
    });
    await retrying.goto('/phone.html');
    await retrying.locator('#phone-state', { hasText: /Not registered: .*; trying again in 1 s/ }).waitFor({ timeout: WAIT_MS });
    console.log(`   first: "${(await retrying.locator('#phone-state').innerText()).trim()}"`);
    await retrying.locator('#phone-state', { hasText: 'no answer to the registration in 10 s' }).waitFor({ timeout: 20_000 });
    console.log(`   then: "${(await retrying.locator('#phone-state').innerText()).trim()}"`);
    await retrying.locator('#phone-state', { hasText: 'Ready: line 501' }).waitFor({ timeout: REGISTERED_MS });
    check(sockets === 3, `registered on the third WebSocket (opened ${sockets})`);
    await retrying.close();
    await page.bringToFront();

    step('11. logging out closes the softphone\'s WebSocket');
    await page.goto('/phone.html');
    await page.locator('#phone-state', { hasText: 'Ready: line 501' }).waitFor({ timeout: REGISTERED_MS });
    const other = await page.context().newPage();
    await other.goto('/index.html');
    await other.click('#logout');
    await other.waitForURL('**/login.html');
    await other.close();
    await page.bringToFront();  // a page behind another is not drawn, nor screenshotted
    await page.locator('#phone-state', { hasText: 'Disconnected' }).waitFor({ timeout: 25_000 });
    check(await upgradeStatus(good) === 401, 'the ended session opens no WebSocket (401)');
    await screenshot(page, 'logged-out');
  } finally {
    // SIGKILL: a baresip still unregistering when this process exits finds its stdin ended, and
    // then spins a whole core, deaf to SIGTERM, through the rest of the suite.
    for (const phone of [baresip, deskPhone, transferTarget]) if (phone) phone.child.kill('SIGKILL');
  }
});
