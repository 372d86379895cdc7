// Extensions and devices: every line with whether a device is registered and the equipment it
// reported. An office manager can add a line, reset a line's device password and remove a line;
// the page makes up the password (the API stores only digest hashes of it) and shows it exactly once.

import { api } from './api.js';
import { $, el, formValues, formatTime, replaceChildren, say, submitting } from './dom.js';
import { isOfficeManager, pageError, startPage } from './layout.js';

// Letters and digits without the look-alikes (0/O, 1/l/I), so it can be typed into a desk phone.
const PASSWORD_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
const PASSWORD_LENGTH = 20;

export function newDevicePassword() {
  const chars = [];
  const limit = 256 - (256 % PASSWORD_ALPHABET.length);  // rejection sampling keeps it uniform
  while (chars.length < PASSWORD_LENGTH) {
    for (const byte of crypto.getRandomValues(new Uint8Array(PASSWORD_LENGTH * 2))) {
      if (byte < limit && chars.length < PASSWORD_LENGTH) chars.push(PASSWORD_ALPHABET[byte % PASSWORD_ALPHABET.length]);
    }
  }
  return chars.join('');
}

function showPassword(line, password) {
  $('#password-line').textContent = line;
  $('#password-value').textContent = password;
  const panel = $('#password-shown');
  panel.hidden = false;
  panel.scrollIntoView({ block: 'nearest' });
}

function registration(line) {
  return line.registered
    ? el('span', { class: 'badge on' }, 'Registered')
    : el('span', { class: 'badge off' }, 'Not registered');
}

function equipment(line) {
  const devices = Array.isArray(line.devices) ? line.devices : [];
  if (!devices.length) return '—';
  return el('ul', {}, devices.map((d) =>
    el('li', {}, d.equipment || 'unknown equipment', d.expires_at ? el('span', { class: 'muted' }, ` (until ${formatTime(d.expires_at)})`) : null)));
}

async function resetPassword(line, button) {
  const password = newDevicePassword();
  button.disabled = true;
  try {
    await api('POST', `/extensions/${encodeURIComponent(line.id)}/password`, { body: { password } });
    showPassword(line.number, password);
  } catch (error) {
    pageError(error);
  } finally {
    button.disabled = false;
  }
}

async function removeLine(line, button, manager) {
  // Removing is final: the device stops working and the direct number goes back to the pool.
  if (!window.confirm(`Remove line ${line.number}? Its device stops working and its direct number is released.`)) return;
  button.disabled = true;
  try {
    await api('DELETE', `/extensions/${encodeURIComponent(line.id)}`);
    say($('#main'), `Line ${line.number} removed.`);
    await load(manager);
  } catch (error) {
    pageError(error);
    button.disabled = false;
  }
}

function row(line, manager) {
  const actions = manager
    ? el('div', { class: 'actions' },
      el('button', { type: 'button', class: 'secondary', 'data-reset': line.number,
        onclick: (event) => resetPassword(line, event.currentTarget) }, 'Reset password'),
      el('button', { type: 'button', class: 'danger', 'data-remove': line.number,
        onclick: (event) => removeLine(line, event.currentTarget, manager) }, 'Remove'))
    : '—';
  return el('tr', { 'data-number': line.number },
    el('td', {}, line.number),
    el('td', { class: 'sip-user' }, line.sip_user),
    el('td', {}, line.did || '—'),
    el('td', { class: 'registration' }, registration(line)),
    el('td', {}, equipment(line)),
    el('td', {}, actions));
}

async function load(manager) {
  try {
    const list = await api('GET', '/extensions');
    const items = (list && list.items) || [];
    replaceChildren($('#extensions tbody'), items.map((line) => row(line, manager)));
    $('#extensions-empty').hidden = items.length > 0;
  } catch (error) {
    pageError(error);
  }
}

async function addLine(form, manager) {
  const values = formValues(form);
  const body = { number: values.number, password: newDevicePassword() };
  if (values.did) body.did = values.did;
  const line = await api('POST', '/extensions', { body });
  showPassword(line.number || body.number, body.password);
  form.reset();
  say(form, `Line ${line.number || body.number} added; its SIP login is ${line.sip_user || body.number}.`);
  await load(manager);
}

async function main() {
  const user = await startPage();
  const manager = isOfficeManager(user);
  const form = $('#add-form');
  $('#add-extension').hidden = !manager;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submitting(form, () => addLine(form, manager));
  });
  await load(manager);
}

main();
