// The fraud alerts page, in headless Chromium, against the servers browser_test.sh started: an
// office manager signs up and adds a line; the line (sipp) places a burst of calls past the
// velocity limit (fraud.velocity.line_calls_per_minute, 30 by default) and is suspended: its
// calls get 403. The manager is emailed, finds the alert under Fraud alerts, lifts it, and the
// line's next call is routed again (404 for a number nobody has, not 403).
// Screenshots land in $ARTIFACTS (prefix fraud-).
// Environment: PORTAL_URL, SIP_PORT, ARTIFACTS, MAILDIR, WORK (browser_test.sh sets them).

import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { Scenario, WAIT_MS, check } from './scenario.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const scenario = new Scenario('fraud');
const SIP_PORT = scenario.env('SIP_PORT');
const WORK = scenario.env('WORK');
const RUN = Date.now().toString(36);
const LINE = '301';
const NOBODY = '7';  // a number no line has: each call is refused, and counted
const MANAGER = {
  name: 'Grace Hopper',
  email: `grace.${RUN}@example.com`,
  phone: '+44 20 7946 0047',
  birth_date: '1976-12-09',
  company_name: `Compilers ${RUN} Ltd`,
  address: '3 Harbour Road\nLondon E14 5AB',
  password: 'manager password seven',
};

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

// Runs sipp bounded by a kill timer; resolves with its exit and the messages it traced.
async function sipp(name, calls, rate, login, password, source = '127.0.0.1') {
  const logs = path.join(WORK, name);
  const argv = ['-sf', path.join(HERE, 'uac_call_refused.xml'), `127.0.0.1:${SIP_PORT}`, '-i', source,
    '-p', String(await freeUdpPort()), '-mp', String(await freeUdpPort()), '-nostdin', '-trace_msg',
    '-message_file', `${logs}.msg`, '-m', String(calls), '-r', String(rate), '-s', NOBODY, '-key', 'caller', login,
    '-au', login, '-ap', password, '-auth_uri', `${NOBODY}@127.0.0.1:${SIP_PORT}`, '-timeout', '20s', '-timeout_error'];
  const child = spawn('sipp', argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const timer = setTimeout(() => child.kill('SIGKILL'), 25_000);
  const code = await new Promise((resolve) => child.on('exit', (c) => resolve(c)));
  clearTimeout(timer);
  const messages = fs.existsSync(`${logs}.msg`) ? fs.readFileSync(`${logs}.msg`, 'utf8') : '';
  return { code, messages, evidence: `sipp ${name} exit ${code}: ${stderr.slice(-600)}\n${messages.slice(-1500)}` };
}

async function signUpAndAddLine(page) {
  scenario.step('1. an office manager signs up and adds a line');
  await page.goto('/signup.html');
  const banner = page.getByRole('button', { name: 'Strictly necessary only' });
  if (await banner.count()) await banner.click();
  for (const [id, value] of Object.entries({ name: MANAGER.name, email: MANAGER.email, phone: MANAGER.phone,
    birth_date: MANAGER.birth_date, company_name: MANAGER.company_name, address: MANAGER.address,
    password: MANAGER.password })) await page.fill(`#${id}`, value);
  await page.fill('#card-number', '4242 4242 4242 4242');
  await page.fill('#card-expiry', '12/34');
  await page.fill('#card-cvc', '123');
  await page.click('#signup-submit');
  await page.locator('#signup-sent').waitFor({ timeout: WAIT_MS });
  const link = await scenario.linkMailedTo(MANAGER.email, 'confirm.html');
  await Promise.all([page.waitForURL('**/index.html', { timeout: WAIT_MS }), page.goto(link)]);
  await page.goto('/extensions.html');
  await page.locator('#add-extension').waitFor({ state: 'visible' });
  await page.fill('#number', LINE);
  await page.click('#add-form button[type="submit"]');
  await page.locator('#password-line', { hasText: LINE }).waitFor();
  const password = (await page.locator('#password-value').innerText()).trim();
  const row = page.locator(`#extensions tr[data-number="${LINE}"]`);
  await row.waitFor();
  const login = (await row.locator('.sip-user').innerText()).trim();
  return { login, password };
}

async function burstSuspendsTheLine(line) {
  scenario.step('2. the line places 35 calls in a few seconds: past 30 a minute it is suspended (403)');
  // Seven phones of the line, 5 calls each: one source alone would meet the SIP source guard's
  // rate limit first (sip.guard.*), which is not what this test is about.
  const runs = await Promise.all([0, 1, 2, 3, 4, 5, 6].map((i) =>
    sipp(`fraud-burst-${i}`, 5, 5, line.login, line.password, `127.0.0.${40 + i}`)));
  for (const run of runs) check(run.code === 0, run.evidence);
  const refused = runs.reduce((n, run) =>
    n + (run.messages.match(/SIP\/2\.0 403 line suspended for suspected fraud/g) || []).length, 0);
  check(refused >= 3, `the calls past the limit are refused as suspended (${refused} were)\n${runs[6].evidence}`);
}

async function liftsTheAlert(page) {
  scenario.step('3. the manager finds the alert under Fraud alerts and lifts it');
  const mail = path.join(scenario.env('MAILDIR'), 'new');
  const deadline = Date.now() + WAIT_MS;
  let mailed = false;
  while (!mailed && Date.now() < deadline) {
    mailed = fs.existsSync(mail) && fs.readdirSync(mail).some((f) => {
      const text = fs.readFileSync(path.join(mail, f), 'utf8');
      return text.includes(MANAGER.email) && text.includes(`Fraud alert on line ${LINE}`);
    });
    if (!mailed) await new Promise((resolve) => setTimeout(resolve, 200));
  }
  check(mailed, 'the office manager is emailed the alert');
  await page.goto('/index.html');
  const link = page.locator('#site-nav a[href="/fraud.html"]');
  await link.waitFor({ timeout: WAIT_MS });
  await Promise.all([page.waitForURL('**/fraud.html', { timeout: WAIT_MS }), link.click()]);
  const open = page.locator('#alerts tr[data-state="open"]');
  await open.first().waitFor({ timeout: WAIT_MS });
  check(await open.count() === 1, 'one open alert');
  const text = await open.innerText();
  check(text.includes(LINE), `the alert names line ${LINE}: ${text}`);
  check(/line suspended/i.test(text), `the alert says the line is suspended: ${text}`);
  check(/calls per minute of one line/.test(text), `the alert names the rule: ${text}`);
  await scenario.screenshot(page, 'open');
  await open.locator('button[data-lift]').click();
  await page.locator('#alerts tr[data-state="lifted"]').waitFor({ timeout: WAIT_MS });
  check(await page.locator('#alerts tr[data-state="open"]').count() === 0, 'no alert is open after the lift');
  check(/lifted/i.test(await page.locator('#alerts-status').innerText()), 'the page says it was lifted');
  await scenario.screenshot(page, 'lifted');
}

async function theLineCallsAgain(line) {
  scenario.step('4. within the proxy\'s refresh the line calls again (routed: 404, not 403)');
  await new Promise((resolve) => setTimeout(resolve, 2_500));
  const run = await sipp('fraud-after', 1, 1, line.login, line.password);
  check(run.code === 0, run.evidence);
  check(/SIP\/2\.0 404/.test(run.messages) && !/403 line suspended/.test(run.messages),
    `the call is routed, not refused as suspended\n${run.evidence}`);
}

await scenario.run(async (browser) => {
  const page = await scenario.newPage(browser);
  const line = await signUpAndAddLine(page);
  await burstSuspendsTheLine(line);
  await liftsTheAlert(page);
  await theLineCallsAgain(line);
});
