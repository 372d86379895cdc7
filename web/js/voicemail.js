// The voicemail page: the member's messages (GET /voicemail), each played in the page from its
// authenticated audio route (every listen is audited by the server), marked heard once played or on
// request, downloaded, or deleted. A caller who withheld their number is shown as "withheld": the
// API never sends their number.

import { api } from './api.js';
import { $, el, formatDuration, formatTime, replaceChildren } from './dom.js';
import { startPage } from './layout.js';

const AUDIO = (id) => `/api/v1/voicemail/${encodeURIComponent(id)}/audio`;

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

async function main() {
  await startPage();
  await load();
}

main();
