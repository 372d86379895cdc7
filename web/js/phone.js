// The softphone: the member's line in the browser, over SIP on a WebSocket to the portal's own
// server (/sip), with SIP.js (web/vendor/sip.js, MIT). GET /me/softphone gives the WebSocket's
// address and a password that holds only for this portal session and only over that WebSocket
// (src/portal/softphone.cpp); audio goes through privox's media relay, DTLS-SRTP from the browser.
// The page shows the call's audio packet counts from WebRTC's statistics, so a one-way call is
// visible at a glance.

import { Invitation, UserAgent, Web } from '/vendor/sip.js/index.js';
import { ApiError, api } from './api.js';
import { $, el, replaceChildren } from './dom.js';
import { startPage } from './layout.js';

const KEYS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '0', '#'];

let phone = null;        // Web.SimpleUser, once connected
let domain = '';         // the host of the line's SIP address, for dialled numbers
let phoneServer = '';    // host:port of the SIP service, where a transfer's target is named
let audioTimer = null;

// Getting registered again. A REGISTER on a working WebSocket is answered within a second, so one
// unanswered for ANSWER_MS means the flow is broken (SIP.js itself would wait 32 s, Timer F, and
// then give up): the page opens a new WebSocket and registers again. So it does, after a back-off,
// when privox answers 408, 480 or 5xx (Retry-After honoured), or the WebSocket does not open; a
// refusal of the login itself (401, 403, 404) is shown and not retried, since trying again cannot
// change it.
const ANSWER_MS = 10_000;
const retry = { line: '', attempts: 0, timer: null, watchdog: null };
const FOR_GOOD = new Set([401, 403, 404]);

function showState(text) {
  $('#phone-state').textContent = text;
}

function showError(text) {
  $('#phone-error').textContent = text || '';
}

function peerConnection() {
  const handler = phone && phone.session && phone.session.sessionDescriptionHandler;
  return handler ? handler.peerConnection : null;
}

// Packets received and sent on the call's audio, from the browser's WebRTC statistics.
async function showAudio() {
  const connection = peerConnection();
  if (!connection) return;
  let received = 0;
  let sent = 0;
  (await connection.getStats()).forEach((report) => {
    if (report.kind !== 'audio') return;
    if (report.type === 'inbound-rtp') received += report.packetsReceived || 0;
    if (report.type === 'outbound-rtp') sent += report.packetsSent || 0;
  });
  const line = $('#call-audio');
  line.textContent = `Audio: ${received} packets received, ${sent} sent`;
  line.dataset.received = String(received);
  line.dataset.sent = String(sent);
}

// Who the other party is. A call from a colleague carries privox's P-Asserted-Identity with their
// extension (their From names their device's login); an outside caller's From has their number.
// Only privox's own assertion on a call received is believed: a phone's answer may carry its own.
function callerOf(session) {
  const asserted = session instanceof Invitation ? session.assertedIdentity : undefined;
  const identity = asserted || (session && session.remoteIdentity);
  if (!identity) return 'unknown';
  return identity.uri && identity.uri.user ? identity.uri.user : identity.displayName || 'withheld';
}

function showCall(active, party) {
  $('#in-call').hidden = !active;
  $('#incoming').hidden = true;
  $('#dial-form').hidden = active;
  $('#call-with').textContent = active && party ? `with ${party}` : '';
  clearInterval(audioTimer);
  audioTimer = null;
  if (active) {
    $('#mute').setAttribute('aria-pressed', 'false');
    $('#mute').textContent = 'Mute';
    $('#hold').setAttribute('aria-pressed', 'false');
    $('#hold').textContent = 'Hold';
    $('#transfer-state').textContent = '';
    $('#transfer').disabled = false;
    audioTimer = setInterval(() => showAudio().catch(() => {}), 1000);
  } else {
    $('#call-audio').textContent = '';
  }
}

// A blind transfer (RFC 3515): the other party is asked to call `destination` itself, through
// privox (which carries the transfer out when that party is an outside caller on the trunk, since
// carriers refuse REFER). The page hangs up once the transfer's progress (a NOTIFY holding the
// target's status line) says the target answered; a refusal or a failed target leaves the call
// up, and the page says why.
function transfer(destination) {
  const { session } = phone;
  // The other party dials the target itself: a desk phone set up without an outbound proxy sends
  // to the URI's own address, which must then be privox's SIP service, port and all.
  const target = UserAgent.makeURI(`sip:${destination}@${phoneServer}`);
  if (!session || !target) return Promise.reject(new Error('there is no call to transfer'));
  const says = (text) => { $('#transfer-state').textContent = text; };
  const failed = (text) => {
    $('#transfer').disabled = false;
    says('');
    showError(text);
  };
  $('#transfer').disabled = true;
  says(`Transferring to ${destination}…`);
  return session.refer(target, {
    requestDelegate: {
      onReject: (response) => failed(`The transfer was refused: ${response.message.statusCode} ${response.message.reasonPhrase}`),
    },
    onNotify: (notification) => {
      notification.accept();
      const progress = /^SIP\/2\.0 (\d{3})(.*)/.exec(notification.request.body || '');
      if (!progress) return;
      const status = Number(progress[1]);
      if (status >= 200 && status < 300) {
        says(`Transferred to ${destination}`);
        phone.hangup().catch(() => {});
      } else if (status >= 300) {
        failed(`The transfer to ${destination} failed: ${status}${progress[2]}`);
      }
    },
  });
}

function delegate(lineNumber) {
  // Once the WebSocket is gone (the portal session ended, say), that is what the page says: the
  // registration's failure to end over it is not news.
  let disconnected = false;
  return {
    onServerConnect: () => { disconnected = false; },
    onRegistered: () => {
      clearTimeout(retry.watchdog);
      retry.attempts = 0;
      showState(`Ready: line ${lineNumber} rings here`);
    },
    onUnregistered: () => { if (!disconnected) showState('Not registered'); },
    onServerDisconnect: () => {
      disconnected = true;
      clearTimeout(retry.watchdog);  // SIP.js reconnects, and registers again once it has
      showState('Disconnected from privox; log in and reload the page to reconnect');
    },
    onCallReceived: () => {
      $('#incoming-from').textContent = callerOf(phone.session);
      $('#incoming').hidden = false;
    },
    onCallAnswered: () => showCall(true, callerOf(phone.session)),
    onCallHangup: () => showCall(false),
    onCallHold: (held) => {
      $('#hold').setAttribute('aria-pressed', String(held));
      $('#hold').textContent = held ? 'Resume' : 'Hold';
    },
  };
}

// Tries again in a while: `why` says what went wrong, on the page and in the browser's console.
function retryLater(why, afterSeconds) {
  clearTimeout(retry.timer);
  clearTimeout(retry.watchdog);
  const seconds = afterSeconds ?? Math.min(30, 2 ** retry.attempts);
  retry.attempts += 1;
  showState(`Not registered: ${why}; trying again in ${seconds} s`);
  console.warn(`privox: the softphone is not registered (${why}); trying again in ${seconds} s`);
  // A new WebSocket would end a call in progress (a refresh can fail mid-call): wait for its end.
  const again = () => {
    if (phone && phone.session) retry.timer = setTimeout(again, 5000);
    else connectOrRetry(retry.line);
  };
  retry.timer = setTimeout(again, seconds * 1000);
}

// What to do with a refused REGISTER (after SIP.js has answered any digest challenge).
function registrationRefused(response) {
  clearTimeout(retry.watchdog);
  const { statusCode: code, reasonPhrase: reason } = response.message;
  if (FOR_GOOD.has(code)) return showState(`Not registered: privox answered ${code} ${reason}`);
  const after = Number.parseInt(response.message.getHeader('retry-after') || '', 10);
  retryLater(`privox answered ${code} ${reason}`, Number.isFinite(after) && after > 0 ? Math.min(after, 300) : undefined);
}

// The portal's own refusal (no line, the session ended) stands; a WebSocket that did not open is
// tried again.
function connectFailed(error) {
  if (error instanceof ApiError && error.status >= 400 && error.status < 500) {
    showState('Not connected');
    showError(error.message);
  } else {
    retryLater(error.message);
  }
}

function connectOrRetry(lineId) {
  return connect(lineId).catch(connectFailed);
}

async function connect(lineId) {
  retry.line = lineId;
  clearTimeout(retry.timer);
  clearTimeout(retry.watchdog);
  if (phone) {
    await phone.disconnect().catch(() => {});
    phone = null;
  }
  showState('Connecting…');
  const credential = await api('GET', '/me/softphone', { query: { line_id: lineId } });
  domain = credential.uri.slice(credential.uri.indexOf('@') + 1);
  phoneServer = credential.phone_server;
  phone = new Web.SimpleUser(credential.websocket_url, {
    aor: credential.uri,
    delegate: delegate(credential.line.number),
    media: { constraints: { audio: true, video: false }, remote: { audio: $('#remote-audio') } },
    // Key presses as RFC 4733 events in the audio, which the receptionist and voicemail read.
    sendDTMFUsingSessionDescriptionHandler: true,
    userAgentOptions: {
      authorizationUsername: credential.authorization_user,
      authorizationPassword: credential.password,
      logLevel: 'warn',
      sessionDescriptionHandlerFactoryOptions: { iceGatheringTimeout: 2000, peerConnectionConfiguration: { iceServers: [] } },
    },
  });
  showLines(credential);
  await phone.connect();
  await phone.register({ requestDelegate: { onReject: registrationRefused } });
  retry.watchdog = setTimeout(() => retryLater(`no answer to the registration in ${ANSWER_MS / 1000} s`, 1),
    ANSWER_MS);
  return credential;
}

function wireControls() {
  $('#dial-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    showError('');
    const destination = $('#destination').value.trim();
    if (!/^[0-9+*#]+$/.test(destination)) return showError('Dial digits, and + * # only.');
    try {
      await phone.call(`sip:${destination}@${domain}`);
    } catch (error) {
      showError(`The call could not be made: ${error.message}`);
    }
  });
  $('#answer').addEventListener('click', () => phone.answer().catch((error) => showError(error.message)));
  $('#decline').addEventListener('click', () => {
    $('#incoming').hidden = true;
    phone.decline().catch((error) => showError(error.message));
  });
  $('#hangup').addEventListener('click', () => phone.hangup().catch((error) => showError(error.message)));
  $('#transfer-form').addEventListener('submit', (event) => {
    event.preventDefault();
    showError('');
    const destination = $('#transfer-to').value.trim();
    if (!/^[0-9+*#]+$/.test(destination)) return showError('Transfer to digits, and + * # only.');
    return transfer(destination).catch((error) => showError(`The call could not be transferred: ${error.message}`));
  });
  $('#mute').addEventListener('click', () => {
    const muted = !phone.isMuted();
    if (muted) phone.mute();
    else phone.unmute();
    $('#mute').setAttribute('aria-pressed', String(muted));
    $('#mute').textContent = muted ? 'Unmute' : 'Mute';
  });
  $('#hold').addEventListener('click', () => {
    const action = phone.isHeld() ? phone.unhold() : phone.hold();
    action.catch((error) => showError(error.message));
  });
  replaceChildren($('#keypad'), ...KEYS.map((key) => {
    const button = el('button', { type: 'button', class: 'secondary', 'data-key': key }, key);
    button.addEventListener('click', () => phone.sendDTMF(key).catch((error) => showError(error.message)));
    return button;
  }));
}

// The member's lines, to pick from when there are several (every credential lists them).
function showLines(credential) {
  const items = Array.isArray(credential.lines) ? credential.lines : [];
  if (items.length < 2 || !$('#line-form').hidden) return;
  replaceChildren($('#line'), ...items.map((line) =>
    el('option', { value: line.id, selected: line.id === credential.line.id ? '' : null }, line.number)));
  $('#line-form').hidden = false;
  $('#line').addEventListener('change', () => connectOrRetry($('#line').value));
}

async function main() {
  const user = await startPage();
  if (!user) return;
  wireControls();
  await connectOrRetry('');
}

main();
