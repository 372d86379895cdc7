// The privacy centre: current consents with their history, each given or withdrawn in one click
// (PUT /consents/{purpose}), and the rights requests "Download my data" (access) and "Delete my
// account" (erase), whose id, state and due date are shown once opened, with the step each waits
// for: the emailed code (tries left shown), the fee of a further copy (the card goes to the payment
// provider, never to privox), and the download of the copy while it is offered.

import { api, ApiError } from './api.js';
import { $, $all, el, formatDate, formatTime, replaceChildren, say } from './dom.js';
import { rememberChoice } from './cookie-banner.js';
import { startPage } from './layout.js';
import { sentenceCase } from './words.js';

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

const KINDS = { access: 'Copy of your data', erase: 'Account deletion', rectify: 'Correction' };
let providerUrl = null;  // the payment provider's tokenizer, from GET /portal-config

function triesWords(code) {
  if (!code || !code.pending) return 'No valid code is pending: send a new one.';
  const n = code.tries_left;
  return `${n} ${n === 1 ? 'try' : 'tries'} left; the code is valid until ${formatTime(code.expires_at)}.`;
}

// Identity: the 8-digit code from the email, with the tries left, and a new code on demand.
function codeStep(request) {
  const input = el('input', { id: `code-${request.id}`, name: 'code', inputmode: 'numeric', autocomplete: 'one-time-code',
    maxlength: '11', class: 'code-input' });
  const form = el('form', { class: 'code-form', 'data-step': 'code' },
    el('div', { class: 'field' }, el('label', { for: input.id }, 'Code from the email'), input),
    el('p', { class: 'code-tries muted' }, triesWords(request.code)),
    el('div', { class: 'actions' },
      el('button', { type: 'submit' }, 'Confirm'),
      el('button', { type: 'button', class: 'secondary send-code', onclick: () => act(request, form, 'POST',
        `/requests/${request.id}/code`, undefined, 'A new code is on its way to your email address.') },
      'Send a new code')));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    act(request, form, 'POST', `/requests/${request.id}/verify`, { code: input.value.trim() }, 'Thank you: it is you.');
  });
  return form;
}

// The card goes from this page straight to the provider (P3); privox gets the token only.
async function tokenizeCard(form) {
  const number = $('.card-number', form).value.replace(/[\s-]/g, '');
  const match = /^(\d{1,2})\s*\/\s*(\d{2}|\d{4})$/.exec($('.card-expiry', form).value.trim());
  if (!/^\d{12,19}$/.test(number)) throw new ApiError(400, 'Enter the card number: 12 to 19 digits.', 'card');
  if (!match) throw new ApiError(400, 'Enter the expiry as MM/YY, e.g. 04/29.', 'card');
  if (!providerUrl) throw new ApiError(0, 'The payment provider is not configured; please contact us.', 'card');
  const year = match[2].length === 2 ? 2000 + Number(match[2]) : Number(match[2]);
  let response;
  try {
    response = await fetch(`${providerUrl.replace(/\/+$/, '')}/v1/tokens`, {
      method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ number, exp_month: Number(match[1]), exp_year: year, cvc: $('.card-cvc', form).value.trim() }),
      credentials: 'omit', referrerPolicy: 'no-referrer', cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, 'The payment provider cannot be reached; try again in a moment.', 'card');
  }
  const body = await response.json().catch(() => null);
  if (!response.ok || !body || typeof body.token !== 'string')
    throw new ApiError(response.status, (body && body.error && body.error.message) || 'The card was refused.', 'card');
  return body.token;
}

// The fee of a further copy: the card on file, or another card.
function feeStep(request) {
  const amount = request.fee.amount;
  const form = el('form', { class: 'card-form', 'data-step': 'fee' },
    el('p', { class: 'fee-due' }, `An administration fee of ${amount} applies to this further copy of your data.`),
    el('div', { class: 'actions' }, el('button', { type: 'button', class: 'pay-on-file', onclick: () =>
      act(request, form, 'POST', `/requests/${request.id}/payment`, {}, null) }, `Pay ${amount} with the card on file`)),
    el('p', { class: 'muted' }, 'Or pay with another card:'),
    el('div', { class: 'field' }, el('label', {}, 'Card number', el('input', { class: 'card-number', inputmode: 'numeric', autocomplete: 'cc-number' }))),
    el('div', { class: 'field' }, el('label', {}, 'Expiry (MM/YY)', el('input', { class: 'card-expiry', autocomplete: 'cc-exp' }))),
    el('div', { class: 'field' }, el('label', {}, 'Security code', el('input', { class: 'card-cvc', inputmode: 'numeric', autocomplete: 'cc-csc' }))),
    el('div', { class: 'actions' }, el('button', { type: 'submit', class: 'pay-card' }, `Pay ${amount} with this card`)));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const token = await tokenizeCard(form);
      await act(request, form, 'POST', `/requests/${request.id}/payment`, { payment_token: token }, null);
    } catch (error) {
      say(form, error.message, 'error');
    }
  });
  return form;
}

function receiptLine(receipt) {
  return el('p', { class: 'receipt form-ok', role: 'status' },
    `Paid ${receipt.amount} on ${receipt.date}, reference ${receipt.reference}. A receipt was emailed to you.`);
}

function downloadStep(request) {
  if (!request.download) return null;
  if (!request.download.available)
    return el('p', { class: 'muted download-ended' }, 'The download period has ended; open a new request for a fresh copy.');
  return el('p', { class: 'download' },
    el('a', { class: 'button download-link', href: `/api/v1/requests/${request.id}/download`, download: '' }, 'Download my data (ZIP)'),
    ` Available until ${formatDate(request.download.until)}.`);
}

function nextStep(request) {
  if (request.state === 'awaiting_identity' || request.state === 'received') return codeStep(request);
  if (request.state === 'awaiting_fee') return feeStep(request);
  if (request.state === 'refused') return el('p', { class: 'refusal' }, `Refused: ${request.refusal_reason || ''}`);
  return downloadStep(request);
}

function requestCard(request, fresh) {
  const facts = el('dl', { class: 'facts' },
    el('dt', {}, 'Request'), el('dd', { class: 'request-id' }, request.id),
    el('dt', {}, 'Kind'), el('dd', {}, KINDS[request.kind] || request.kind),
    el('dt', {}, 'State'), el('dd', { class: 'request-state' }, sentenceCase(request.state)),
    el('dt', {}, 'Due by'), el('dd', { class: 'request-due' }, formatDate(request.due_at)),
    request.extension_reason ? [el('dt', {}, 'Extended'), el('dd', { class: 'request-extension' },
      `${request.extension_months} month(s): ${request.extension_reason}`)] : null);
  const intro = fresh
    ? 'Your request is open. We have emailed you a code to confirm it is you; the clock waits until then.'
    : 'A request you made earlier.';
  return el('div', { class: fresh ? 'form-ok request' : 'request-earlier request', role: 'status',
    'data-request': request.kind, 'data-id': request.id }, el('p', {}, intro), facts, nextStep(request));
}

function showRequest(request, fresh = true) {
  $('#requests').prepend(requestCard(request, fresh));
}

// One step of a request (code, new code, payment): the card is redrawn with the answer, and the
// answer's message (a wrong code's tries left, a decline) shown in words.
async function act(request, form, method, path, body, okText) {
  for (const b of $all('button', form)) b.disabled = true;
  try {
    const answer = await api(method, path, body === undefined ? {} : { body });
    const card = requestCard(answer, false);
    if (answer.receipt) card.append(receiptLine(answer.receipt));
    if (okText) say(card, okText);
    $(`#requests [data-id="${request.id}"]`).replaceWith(card);
  } catch (error) {
    for (const b of $all('button', form)) b.disabled = false;
    say(form, error.message, 'error');
    if (error.field === 'code') {
      const fresh = await api('GET', '/requests').catch(() => null);
      const now = fresh && fresh.items.find((r) => r.id === request.id);
      if (now && $('.code-tries', form)) $('.code-tries', form).textContent = triesWords(now.code);
    }
  }
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
  api('GET', '/portal-config').then((config) => { providerUrl = config && config.payment_provider_url; }).catch(() => {});
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
  // The buttons come disabled in the page: a click before the listeners above were attached, while
  // the requests were still loading, was lost without a word.
  $('#request-access').disabled = false;
  $('#request-erase').disabled = false;
}

main();
