// The softphone: the member's line in the browser, over SIP on a WebSocket to the portal's own
// server (/sip), with SIP.js (web/vendor/sip.js, MIT). GET /me/softphone gives the WebSocket's
// address and a password that holds only for this portal session and only over that WebSocket
// (src/portal/softphone.cpp); audio goes through privox's media relay, DTLS-SRTP from the browser.
// The page shows the call's audio packet counts from WebRTC's statistics, so a one-way call is
// visible at a glance. A call can be held while the member makes a consultation call, which an
// attended transfer then hands the held party on to.

import { Invitation, SessionState, UserAgent, Web } from '/vendor/sip.js/index.js';
import { ApiError, api } from './api.js';
import { $, el, replaceChildren } from './dom.js';
import { startPage } from './layout.js';

const KEYS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '0', '#'];

let phone = null;        // Web.SessionManager, once connected
let domain = '';         // the host of the line's SIP address, for dialled numbers
let phoneServer = '';    // host:port of the SIP service, where a transfer's target is named
let audioTimer = null;

// The page's sessions: the call, a consultation call made while the call is held (an attended
// transfer's), and a call ringing here. Any other call that arrives meanwhile hears busy.
const calls = { current: null, consultation: null, ringing: null };
// What the consultation call dials, and whether the session being created is that call.
const consultation = { destination: '', placing: false };

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

function peerConnection(session) {
  const handler = session && session.sessionDescriptionHandler;
  return handler ? handler.peerConnection : null;
}

// Packets received and sent on a session's audio, from the browser's WebRTC statistics.
async function showAudioOf(session, line, label = 'Audio') {
  const connection = peerConnection(session);
  if (!connection) return;
  let received = 0;
  let sent = 0;
  (await connection.getStats()).forEach((report) => {
    if (report.kind !== 'audio') return;
    if (report.type === 'inbound-rtp') received += report.packetsReceived || 0;
    if (report.type === 'outbound-rtp') sent += report.packetsSent || 0;
  });
  line.textContent = `${label}: ${received} packets received, ${sent} sent`;
  line.dataset.received = String(received);
  line.dataset.sent = String(sent);
}

async function showAudio() {
  await showAudioOf(calls.current, $('#call-audio'));
  if (calls.consultation) {
    await showAudioOf(calls.consultation, $('#consultation-audio'), `Audio with ${consultation.destination}`);
  }
}

// Where the member's voice goes: to the consultation while there is one, else to the call.
function speakingTo() {
  return calls.consultation || calls.current;
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
    $('#consult').disabled = false;
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
  const session = calls.current;
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
  return referWithProgress(session, target, destination, failed, () => {
    says(`Transferred to ${destination}`);
    phone.hangup(session).catch(() => {});
  });
}

// Sends the REFER, and follows the transfer's progress: NOTIFYs holding the target's status line
// (message/sipfrag, RFC 3515). `answered` runs on a 2xx; `failed` on a refusal or a failed target.
function referWithProgress(session, target, destination, failed, answered) {
  return session.refer(target, {
    requestDelegate: {
      onReject: (response) => failed(`The transfer was refused: ${response.message.statusCode} ${response.message.reasonPhrase}`),
    },
    onNotify: (notification) => {
      notification.accept();
      const progress = /^SIP\/2\.0 (\d{3})(.*)/.exec(notification.request.body || '');
      if (!progress) return;
      const status = Number(progress[1]);
      if (status >= 200 && status < 300) answered();
      else if (status >= 300) failed(`The transfer to ${destination} failed: ${status}${progress[2]}`);
    },
  });
}

// An attended transfer, first step: the call is held and the member calls `destination`, to
// speak to them before handing the call on (completeTransfer) or going back (endConsultation).
async function consult(destination) {
  const held = calls.current;
  if (!held) throw new Error('there is no call to transfer');
  if (calls.consultation) throw new Error('a consultation call is already in progress');
  if (!phone.isHeld(held)) await phone.hold(held);
  consultation.destination = destination;
  showConsultation(`Calling ${destination}; the call is on hold`);
  consultation.placing = true;
  try {
    await phone.call(`sip:${destination}@${domain}`);
  } finally {
    consultation.placing = false;
  }
}

// The Refer-To of an attended transfer: the target named at privox's SIP service, as a blind
// transfer names it (so a desk phone with no outbound proxy still calls through privox), with the
// consultation call it replaces (RFC 3891: to-tag is the target's tag, from-tag ours). SIP.js's
// own attended transfer names the target's Contact, which a phone behind NAT or a browser cannot
// be reached at; and it writes a URI target bare, where headers need the name-addr's brackets.
function replacingTarget(destination, session) {
  const target = UserAgent.makeURI(`sip:${destination}@${phoneServer}`);
  const { callId, remoteTag, localTag } = session.dialog;
  const replaces = encodeURIComponent(`${callId};to-tag=${remoteTag};from-tag=${localTag}`);
  const nameAddr = `<${target}?Replaces=${replaces}>`;
  target.toString = () => nameAddr;
  return target;
}

// An attended transfer, second step: the held party is asked (REFER with Replaces) to call the
// consultation's party, whose phone swaps the consultation call for the held party. Once the
// NOTIFY says the target answered, the page ends both its calls; a refusal leaves them as they
// were, and the page says why.
function completeTransfer() {
  const held = calls.current;
  const talking = calls.consultation;
  if (!held || !talking || talking.state !== SessionState.Established || !talking.dialog) {
    return Promise.reject(new Error('the consultation call has not been answered yet'));
  }
  const { destination } = consultation;
  const says = (text) => { $('#consultation-state').textContent = text; };
  const failed = (text) => {
    $('#complete-transfer').disabled = false;
    says(`On the line with ${destination}; the call is on hold`);
    showError(text);
  };
  $('#complete-transfer').disabled = true;
  says(`Transferring the call to ${destination}…`);
  return referWithProgress(held, replacingTarget(destination, talking), destination, failed, () => {
    // The target replaced our consultation call (and ends it, if it has not yet): both of the
    // page's calls are over.
    calls.consultation = null;
    showConsultation(null);
    $('#transfer-state').textContent = `Transferred to ${destination}`;
    for (const session of [held, talking]) phone.hangup(session).catch(() => {});
  });
}

// Back to the held call: the consultation is hung up, and its end resumes the call.
function endConsultation() {
  if (!calls.consultation) return Promise.resolve();
  return phone.hangup(calls.consultation);
}

// The consultation's part of the page: `state` is what it says, null once there is none.
function showConsultation(state) {
  $('#consultation').hidden = state === null;
  $('#transfer-form').hidden = state !== null;
  $('#consultation-state').textContent = state || '';
  $('#complete-transfer').disabled = true;
  if (state === null) $('#consultation-audio').textContent = '';
}

// A session that ended: what it was decides what the page shows next.
function callEnded(session) {
  if (session === calls.ringing) {
    calls.ringing = null;
    $('#incoming').hidden = true;
  } else if (session === calls.consultation) {
    calls.consultation = null;
    showConsultation(null);
    // The consultation is over without a transfer: the member is back with the held party.
    if (calls.current && phone.isHeld(calls.current)) phone.unhold(calls.current).catch((error) => showError(error.message));
  } else if (session === calls.current) {
    calls.current = null;
    // The held party hung up during the consultation: that call is now the only one.
    const next = calls.consultation;
    calls.consultation = null;
    showConsultation(null);
    calls.current = next;
    showCall(Boolean(next) && next.state === SessionState.Established, next ? callerOf(next) : '');
  }
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
    // Outgoing sessions: the consultation call, or else the page's call (also one placed because
    // the other party transferred this browser). Incoming ones are taken in onCallReceived.
    onCallCreated: (session) => {
      if (session instanceof Invitation) return;
      if (consultation.placing) calls.consultation = session;
      else calls.current = session;
    },
    onCallReceived: (invitation) => {
      if (calls.current || calls.consultation || calls.ringing) {
        invitation.reject({ statusCode: 486 }).catch(() => {});
        return;
      }
      calls.ringing = invitation;
      $('#incoming-from').textContent = callerOf(invitation);
      $('#incoming').hidden = false;
    },
    onCallAnswered: (session) => {
      if (session === calls.consultation) {
        showConsultation(`On the line with ${consultation.destination}; the call is on hold`);
        $('#complete-transfer').disabled = false;
        return;
      }
      if (session === calls.ringing) calls.ringing = null;
      calls.current = session;
      showCall(true, callerOf(session));
    },
    onCallHangup: (session) => callEnded(session),
    onCallHold: (session, held) => {
      if (session !== calls.current) return;
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
    if (calls.current || calls.consultation) retry.timer = setTimeout(again, 5000);
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
  phone = new Web.SessionManager(credential.websocket_url, {
    aor: credential.uri,
    delegate: delegate(credential.line.number),
    // The call and its consultation: two sessions at once, each heard through its own element.
    maxSimultaneousSessions: 2,
    media: {
      constraints: { audio: true, video: false },
      remote: (session) => ({ audio: session === calls.consultation ? $('#consultation-remote') : $('#remote-audio') }),
    },
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
  $('#answer').addEventListener('click', () => {
    if (calls.ringing) phone.answer(calls.ringing).catch((error) => showError(error.message));
  });
  $('#decline').addEventListener('click', () => {
    $('#incoming').hidden = true;
    if (calls.ringing) phone.decline(calls.ringing).catch((error) => showError(error.message));
  });
  $('#hangup').addEventListener('click', () => {
    if (calls.current) phone.hangup(calls.current).catch((error) => showError(error.message));
  });
  $('#transfer-form').addEventListener('submit', (event) => {
    event.preventDefault();
    showError('');
    const destination = $('#transfer-to').value.trim();
    if (!/^[0-9+*#]+$/.test(destination)) return showError('Transfer to digits, and + * # only.');
    return transfer(destination).catch((error) => showError(`The call could not be transferred: ${error.message}`));
  });
  $('#consult').addEventListener('click', () => {
    showError('');
    const destination = $('#transfer-to').value.trim();
    if (!/^[0-9+*#]+$/.test(destination)) return showError('Transfer to digits, and + * # only.');
    return consult(destination).catch((error) => {
      showConsultation(null);
      showError(`The consultation call could not be made: ${error.message}`);
      // Back to the call, as when a consultation ends.
      if (calls.current && phone.isHeld(calls.current)) phone.unhold(calls.current).catch(() => {});
    });
  });
  $('#complete-transfer').addEventListener('click', () => {
    showError('');
    completeTransfer().catch((error) => showError(`The call could not be transferred: ${error.message}`));
  });
  $('#cancel-consultation').addEventListener('click', () => {
    endConsultation().catch((error) => showError(error.message));
  });
  $('#mute').addEventListener('click', () => {
    const session = speakingTo();
    if (!session) return;
    const muted = !phone.isMuted(session);
    if (muted) phone.mute(session);
    else phone.unmute(session);
    $('#mute').setAttribute('aria-pressed', String(muted));
    $('#mute').textContent = muted ? 'Unmute' : 'Mute';
  });
  $('#hold').addEventListener('click', () => {
    const session = calls.current;
    if (!session) return;
    const action = phone.isHeld(session) ? phone.unhold(session) : phone.hold(session);
    action.catch((error) => showError(error.message));
  });
  replaceChildren($('#keypad'), ...KEYS.map((key) => {
    const button = el('button', { type: 'button', class: 'secondary', 'data-key': key }, key);
    button.addEventListener('click', () => {
      const session = speakingTo();
      if (session) phone.sendDTMF(session, key).catch((error) => showError(error.message));
    });
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
