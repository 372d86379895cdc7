// The privacy centre: current consents with their history, each given or withdrawn in one click
// (PUT /consents/{purpose}), and the rights requests "Download my data" (access) and "Delete my
// account" (erase), whose id, state and due date are shown once opened.

import { api } from './api.js';
import { $, el, formatDate, formatTime, replaceChildren, say } from './dom.js';
import { rememberChoice } from './cookie-banner.js';
import { startPage } from './layout.js';

const PURPOSES = [
  ['marketing_email', 'News and offers by email'],
  ['marketing_sms', 'News and offers by text message'],
  ['cookies_performance', 'Performance cookie on this portal'],
  ['contacts_sync', 'Contacts synchronised from the mobile app'],
  ['location', 'Location from the mobile app'],
  ['social_profile', 'Social media profile'],
];
const LABELS = Object.fromEntries(PURPOSES);
const METHOD_NAMES = { form: 'web form', link: 'email link', sms_reply: 'text reply', operator: 'by our staff' };

function byPurpose(current) {
  if (Array.isArray(current)) return Object.fromEntries(current.map((c) => [c.purpose, c]));
  return current || {};
}

function consentRow(purpose, label, state, onChange) {
  const given = Boolean(state && state.given);
  const button = el('button', {
    type: 'button',
    class: given ? 'secondary' : '',
    'data-purpose': purpose,
    'aria-label': `${given ? 'Withdraw' : 'Give'} consent: ${label}`,
    onclick: () => onChange(purpose, !given, button),
  }, given ? 'Withdraw' : 'Give consent');
  return el('tr', { 'data-purpose': purpose },
    el('th', { scope: 'row' }, label),
    el('td', { class: 'state' }, el('span', { class: `badge ${given ? 'on' : 'off'}` }, given ? 'Given' : 'Not given')),
    el('td', {}, state ? formatTime(state.at) : 'no decision yet'),
    el('td', {}, button));
}

// "withdrawn" only where the consent had been given before; a first "no" is "not given".
function decisionWords(history) {
  const held = new Set();
  return history.map((record) => {
    const words = record.given ? 'given' : held.has(record.purpose) ? 'withdrawn' : 'not given';
    if (record.given) held.add(record.purpose);
    else held.delete(record.purpose);
    return words;
  });
}

function historyRow(record, decision) {
  const method = METHOD_NAMES[record.method] || record.method || '';
  return el('tr', {},
    el('td', {}, formatTime(record.at)),
    el('td', {}, LABELS[record.purpose] || record.purpose),
    el('td', {}, decision),
    el('td', {}, [method, record.channel].filter(Boolean).join(', ')),
    el('td', {}, record.notice_version || '—'));
}

async function loadConsents() {
  const section = $('#consents').closest('section');
  try {
    const consents = await api('GET', '/consents');
    const current = byPurpose(consents.current);
    replaceChildren($('#consents tbody'),
      PURPOSES.map(([purpose, label]) => consentRow(purpose, label, current[purpose], changeConsent)));
    const oldestFirst = consents.history || [];
    const words = decisionWords(oldestFirst);
    const rows = oldestFirst.map((record, i) => historyRow(record, words[i])).reverse();  // newest first
    replaceChildren($('#consent-history tbody'), rows);
    $('#history-empty').hidden = oldestFirst.length > 0;
  } catch (error) {
    say(section, error.message, 'error');
  }
}

async function changeConsent(purpose, given, button) {
  const section = $('#consents').closest('section');
  button.disabled = true;
  try {
    await api('PUT', `/consents/${purpose}`, { body: { given } });
    if (purpose === 'cookies_performance') rememberChoice(given);
    say(section, `${LABELS[purpose]}: consent ${given ? 'given' : 'withdrawn'}.`);
    await loadConsents();
  } catch (error) {
    button.disabled = false;
    say(section, error.message, 'error');
  }
}

function showRequest(request, fresh = true) {
  const kinds = { access: 'Copy of your data', erase: 'Account deletion', rectify: 'Correction' };
  const facts = el('dl', { class: 'facts' },
    el('dt', {}, 'Request'), el('dd', { class: 'request-id' }, request.id),
    el('dt', {}, 'Kind'), el('dd', {}, kinds[request.kind] || request.kind),
    el('dt', {}, 'State'), el('dd', { class: 'request-state' }, String(request.state).replace(/_/g, ' ')),
    el('dt', {}, 'Due by'), el('dd', { class: 'request-due' }, formatDate(request.due_at)));
  const intro = fresh
    ? 'Your request is open. We may first ask you to confirm it is you; the clock waits until then.'
    : 'A request you made earlier.';
  $('#requests').prepend(el('div', { class: fresh ? 'form-ok' : 'request-earlier', role: 'status', 'data-request': request.kind },
    el('p', {}, intro), facts));
}

// Requests opened before this page was loaded, oldest first so the newest ends up on top.
async function loadRequests() {
  try {
    const { items } = await api('GET', '/requests');
    for (const request of [...items].reverse()) showRequest(request, false);
  } catch (error) {
    say($('#requests'), error.message, 'error');
  }
}

async function openRequest(kind, button) {
  button.disabled = true;
  try {
    showRequest(await api('POST', '/requests', { body: { kind } }));
  } catch (error) {
    say($('#requests'), error.message, 'error');
  } finally {
    button.disabled = false;
  }
}

async function main() {
  await startPage();
  await loadConsents();
  await loadRequests();
  document.addEventListener('privox:cookie-choice', () => loadConsents());
  $('#request-access').addEventListener('click', (event) => openRequest('access', event.currentTarget));
  const confirm = $('#erase-confirm');
  $('#request-erase').addEventListener('click', () => {
    confirm.hidden = false;
    $('#erase-no').focus();
  });
  $('#erase-no').addEventListener('click', () => {
    confirm.hidden = true;
    $('#request-erase').focus();
  });
  $('#erase-yes').addEventListener('click', async (event) => {
    await openRequest('erase', event.currentTarget);
    confirm.hidden = true;
  });
}

main();
