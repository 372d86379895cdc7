// The voicemail page: the member's messages (GET /voicemail), each played in the page from its
// authenticated audio route (every listen is audited by the server), marked heard once played or on
// request, downloaded, or deleted; then each own line's greeting and box options (email notice,
// PIN). A caller who withheld their number is shown as "withheld": the API never sends their
// number.

import { api, apiUpload } from './api.js';
import { $, el, formatDuration, formatTime, replaceChildren, say } from './dom.js';
import { startPage } from './layout.js';

const AUDIO = (id) => `/api/v1/voicemail/${encodeURIComponent(id)}/audio`;
const GREETING = (line) => `/voicemail/greetings/${encodeURIComponent(line)}`;

function caller(message) {
  if (message.caller_withheld) return el('em', {}, 'withheld');
  return message.caller || '—';
}

function status(text) {
  $('#voicemail-status').textContent = text;
}

async function markHeard(message, cell) {
  if (message.heard) return;
  await api('POST', `/voicemail/${encodeURIComponent(message.id)}/heard`);
  message.heard = true;
  cell.textContent = 'Heard';
}

function row(message) {
  const state = el('td', { class: 'state' }, message.heard ? 'Heard' : 'New');
  // The audio element loads only when asked to play: a listen is a read of personal data.
  const player = el('audio', { controls: '', preload: 'none', src: AUDIO(message.id), 'aria-label': 'Play the message' });
  player.addEventListener('play', () => markHeard(message, state).catch((error) => status(error.message)));
  const heard = el('button', { type: 'button', class: 'secondary' }, 'Mark heard');
  heard.addEventListener('click', () => markHeard(message, state).catch((error) => status(error.message)));
  const download = el('a', { href: AUDIO(message.id), download: `voicemail-${message.id}.opus` }, 'Download');
  const remove = el('button', { type: 'button', class: 'danger' }, 'Delete');
  remove.addEventListener('click', async () => {
    try {
      await api('DELETE', `/voicemail/${encodeURIComponent(message.id)}`);
      status('Message deleted.');
      await load();
    } catch (error) {
      status(error.message);
    }
  });
  return el('tr', { 'data-id': message.id },
    el('td', {}, formatTime(message.received_at)),
    el('td', { class: 'party-source' }, caller(message)),
    el('td', { class: 'num' }, formatDuration(message.duration_ms)),
    state,
    el('td', {}, player),
    el('td', { class: 'actions' }, heard, ' ', download, ' ', remove));
}

async function load() {
  try {
    const page = await api('GET', '/voicemail');
    const items = (page && page.items) || [];
    replaceChildren($('#voicemail tbody'), items.map(row));
    $('#voicemail-empty').hidden = items.length > 0;
  } catch (error) {
    status(error.message);
  }
}

// One form per line of the member's: upload a WAV (the server checks it and names what is wrong),
// hear the greeting in force, or go back to the default one.
function greetingForm(line) {
  const input = el('input', { type: 'file', accept: '.wav,audio/wav,audio/x-wav', id: `greeting-${line.id}` });
  const player = el('audio', { controls: '', preload: 'none', hidden: '' });
  const upload = el('button', { type: 'submit' }, 'Upload greeting');
  const reset = el('button', { type: 'button', class: 'secondary' }, 'Use the default');
  const form = el('form', { class: 'panel greeting', 'data-line': line.id },
    el('div', { class: 'field' }, el('label', { for: input.id }, `Line ${line.number}${line.label ? ` (${line.label})` : ''}`), input),
    player, el('div', { class: 'actions' }, upload, ' ', reset));
  const showCurrent = () => {
    player.src = `/api/v1${GREETING(line.id)}?t=${Date.now()}`;
    player.hidden = false;
  };
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const file = input.files[0];
    if (!file) return say(form, 'Choose a WAV file first.', 'error');
    try {
      const answer = await apiUpload('PUT', GREETING(line.id), file, 'audio/wav');
      say(form, `Greeting saved (${formatDuration(answer && answer.duration_ms)}).`);
      showCurrent();
    } catch (error) {
      say(form, error.message, 'error');
    }
  });
  reset.addEventListener('click', async () => {
    try {
      await api('DELETE', GREETING(line.id));
      player.hidden = true;
      say(form, 'Callers hear the default greeting again.');
    } catch (error) {
      say(form, error.message, 'error');
    }
  });
  return form;
}

const OPTIONS = (line) => `/voicemail/options/${encodeURIComponent(line)}`;
const NOTICES = [
  ['off', 'Off'],
  ['notice', 'Notice only'],
  ['audio', 'Notice with the recording attached'],
];

function pinState(options) {
  return options.has_pin ? 'A PIN is set.' : 'No PIN: the box opens from this line only.';
}

// One form per line of the member's: the email notice, and the PIN (sent, never shown back).
function optionsForm(line, options) {
  const select = el('select', { id: `notice-${line.id}`, name: 'email_notice' },
    ...NOTICES.map(([value, label]) => el('option', { value }, label)));
  select.value = options.email_notice;
  const pin = el('input', { type: 'password', id: `pin-${line.id}`, name: 'pin', inputmode: 'numeric',
    autocomplete: 'off', minlength: '4', maxlength: '12', pattern: '[0-9]*' });
  const state = el('p', { class: 'muted pin-state' }, pinState(options));
  const save = el('button', { type: 'submit' }, 'Save email choice');
  const setPin = el('button', { type: 'button', class: 'secondary' }, 'Set PIN');
  const clearPin = el('button', { type: 'button', class: 'secondary' }, 'Remove PIN');
  const form = el('form', { class: 'panel box-options', 'data-line': line.id },
    el('h3', {}, `Line ${line.number}${line.label ? ` (${line.label})` : ''}`),
    el('div', { class: 'field' }, el('label', { for: select.id }, 'Email me when a caller leaves a message'), select),
    el('div', { class: 'actions' }, save),
    el('div', { class: 'field' }, el('label', { for: pin.id }, 'PIN (4 to 12 digits)'), pin),
    state, el('div', { class: 'actions' }, setPin, ' ', clearPin));
  const change = async (body, done) => {
    try {
      const answer = await api('PUT', OPTIONS(line.id), { body });
      state.textContent = pinState(answer);
      select.value = answer.email_notice;
      say(form, done);
    } catch (error) {
      say(form, error.message, 'error');
    }
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    change({ email_notice: select.value }, select.value === 'audio'
      ? 'Saved: new messages are emailed to you with the recording attached.'
      : select.value === 'notice' ? 'Saved: you get an email, without the recording, for each new message.'
        : 'Saved: no email.');
  });
  setPin.addEventListener('click', async () => {
    const value = pin.value;
    pin.value = '';
    await change({ pin: value }, 'PIN set.');
  });
  clearPin.addEventListener('click', () => change({ pin: null }, 'PIN removed.'));
  return form;
}

async function loadOwnLines(user) {
  let own = [];
  try {
    const lines = await api('GET', '/extensions');
    own = ((lines && lines.items) || []).filter((line) => line.member_id === user.subject_id);
    replaceChildren($('#greetings'), own.length ? own.map(greetingForm) : el('p', { class: 'muted' }, 'You have no line yet.'));
  } catch (error) {
    replaceChildren($('#greetings'), el('p', { class: 'notice-error' }, error.message));
    return;
  }
  try {
    const forms = await Promise.all(own.map(async (line) => optionsForm(line, await api('GET', OPTIONS(line.id)))));
    replaceChildren($('#options'), forms.length ? forms : el('p', { class: 'muted' }, 'You have no line yet.'));
  } catch (error) {
    replaceChildren($('#options'), el('p', { class: 'notice-error' }, error.message));
  }
}

async function main() {
  const user = await startPage();
  await load();
  if (user) await loadOwnLines(user);
}

main();
