// Extensions and devices: every line with its name, who uses it, whether a device is registered and
// the equipment it reported, and what a phone needs to register (server, port, transports, realm,
// login). An office manager can add a line, rename it, assign it to a member or reassign it, choose
// its digest challenges, reset its device password and remove it. The page makes up the password
// (the API stores only digest hashes of it) and shows it exactly once, with provisioning files and
// a QR code that carry it; the files offered for download later have no password.

import { api } from './api.js';
import { $, el, formValues, formatTime, replaceChildren, say, submitting } from './dom.js';
import { isOfficeManager, pageError, startPage } from './layout.js';

// Letters and digits without the look-alikes (0/O, 1/l/I), so it can be typed into a desk phone.
const PASSWORD_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
const PASSWORD_LENGTH = 20;
const FILE_FORMATS = [['baresip', 'baresip'], ['yealink', 'Yealink'], ['polycom', 'Poly (Polycom)']];

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

// The people a line can be assigned to (office managers only), by id.
let people = new Map();

// Object URLs of the files shown with a password; revoked when the next password is shown.
let shownUrls = [];

function downloadLink(file) {
  const url = URL.createObjectURL(new Blob([file.content], { type: file.content_type }));
  shownUrls.push(url);
  const label = (FILE_FORMATS.find(([format]) => format === file.format) || [file.format, file.format])[1];
  return el('a', { href: url, download: file.name, 'data-format': file.format, class: 'file-link' }, label);
}

// The password, and the files and QR code that carry it, as the API returned them.
function showPassword(line, password, provisioning) {
  for (const url of shownUrls) URL.revokeObjectURL(url);
  shownUrls = [];
  $('#password-line').textContent = line;
  $('#password-value').textContent = password;
  const files = (provisioning && provisioning.files) || [];
  replaceChildren($('#password-files'), files.flatMap((file, i) => [i ? ', ' : null, downloadLink(file)]));
  const qr = provisioning && provisioning.qr_svg;
  $('#qr-figure').hidden = !qr;
  // An image, not inline markup: the SVG comes from the API and is never parsed into the page.
  if (qr) $('#qr-code').src = `data:image/svg+xml;base64,${btoa(qr)}`;
  const panel = $('#password-shown');
  panel.hidden = false;
  panel.scrollIntoView({ block: 'nearest' });
}

function showSettings(settings) {
  if (!settings) return;
  $('#setting-server').textContent = settings.server;
  $('#setting-port').textContent = String(settings.port);
  $('#setting-transports').textContent = (settings.transports || []).map((t) => t.toUpperCase()).join(', ');
  $('#setting-realm').textContent = settings.realm;
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

function assignee(line, user) {
  if (!line.member_id) return 'No one';
  if (people.has(line.member_id)) return people.get(line.member_id).name || 'A member';
  return user && line.member_id === user.subject_id ? 'You' : 'A member';
}

// Files without the password, straight from the API (the session cookie goes with the link).
function fileLinks(line) {
  return el('span', { class: 'phone-files' }, FILE_FORMATS.flatMap(([format, label], i) => [i ? ', ' : null,
    el('a', { href: `/api/v1/extensions/${encodeURIComponent(line.id)}/provisioning/${format}`, download: '',
      'data-file': format }, label)]));
}

async function resetPassword(line, button) {
  const password = newDevicePassword();
  button.disabled = true;
  try {
    const answer = await api('POST', `/extensions/${encodeURIComponent(line.id)}/password`, { body: { password } });
    showPassword(line.number, password, answer && answer.provisioning);
  } catch (error) {
    pageError(error);
  } finally {
    button.disabled = false;
  }
}

async function removeLine(line, button, context) {
  // Removing is final: the device stops working and the direct number goes back to the pool.
  if (!window.confirm(`Remove line ${line.number}? Its device stops working and its direct number is released.`)) return;
  button.disabled = true;
  try {
    await api('DELETE', `/extensions/${encodeURIComponent(line.id)}`);
    say($('#main'), `Line ${line.number} removed.`);
    await load(context);
  } catch (error) {
    pageError(error);
    button.disabled = false;
  }
}

function memberOptions(selected) {
  const options = [el('option', { value: '' }, 'No one')];
  for (const [id, person] of people) {
    options.push(el('option', { value: id, selected: id === selected }, person.name || person.email || id));
  }
  return options;
}

function editLine(line) {
  const form = $('#edit-form');
  form.dataset.id = line.id;
  form.dataset.number = line.number;
  $('#edit-number').textContent = line.number;
  $('#edit-label').value = line.label || '';
  replaceChildren($('#edit-member'), memberOptions(line.member_id));
  $('#edit-digest').value = line.digest || '';
  const panel = $('#edit-line');
  panel.hidden = false;
  panel.scrollIntoView({ block: 'nearest' });
  $('#edit-label').focus();
}

async function saveLine(form, context) {
  const values = formValues(form);
  const body = { label: values.label, member_id: values.member_id || null, digest: values.digest || null };
  await api('PATCH', `/extensions/${encodeURIComponent(form.dataset.id)}`, { body });
  $('#edit-line').hidden = true;
  say($('#main'), `Line ${form.dataset.number} saved.`);
  await load(context);
}

function row(line, context) {
  const actions = context.manager
    ? el('div', { class: 'actions' },
      el('button', { type: 'button', class: 'secondary', 'data-edit': line.number,
        onclick: () => editLine(line) }, 'Change'),
      el('button', { type: 'button', class: 'secondary', 'data-reset': line.number,
        onclick: (event) => resetPassword(line, event.currentTarget) }, 'Reset password'),
      el('button', { type: 'button', class: 'danger', 'data-remove': line.number,
        onclick: (event) => removeLine(line, event.currentTarget, context) }, 'Remove'))
    : '—';
  return el('tr', { 'data-number': line.number },
    el('td', {}, line.number),
    el('td', { class: 'line-label' }, line.label || '—'),
    el('td', { class: 'assignee' }, assignee(line, context.user)),
    el('td', { class: 'sip-user' }, line.sip_user),
    el('td', {}, line.did || '—'),
    el('td', { class: 'registration' }, registration(line)),
    el('td', {}, equipment(line)),
    el('td', {}, fileLinks(line)),
    el('td', {}, actions));
}

async function loadPeople(context) {
  if (!context.manager) return;
  try {
    const answer = await api('GET', '/people');
    people = new Map(((answer && answer.people) || []).map((p) => [p.id, p]));
  } catch (error) {
    pageError(error);
  }
}

async function load(context) {
  try {
    const list = await api('GET', '/extensions');
    const items = (list && list.items) || [];
    showSettings(list && list.phone_settings);
    replaceChildren($('#extensions tbody'), items.map((line) => row(line, context)));
    $('#extensions-empty').hidden = items.length > 0;
  } catch (error) {
    pageError(error);
  }
}

async function addLine(form, context) {
  const values = formValues(form);
  const body = { number: values.number, password: newDevicePassword() };
  if (values.did) body.did = values.did;
  if (values.label) body.label = values.label;
  const line = await api('POST', '/extensions', { body });
  showPassword(line.number || body.number, body.password, line.provisioning);
  form.reset();
  say(form, `Line ${line.number || body.number} added; its SIP login is ${line.sip_user || body.number}.`);
  await load(context);
}

async function main() {
  const user = await startPage();
  const context = { user, manager: isOfficeManager(user) };
  const form = $('#add-form');
  $('#add-extension').hidden = !context.manager;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submitting(form, () => addLine(form, context));
  });
  const edit = $('#edit-form');
  edit.addEventListener('submit', (event) => {
    event.preventDefault();
    submitting(edit, () => saveLine(edit, context));
  });
  $('#edit-cancel').addEventListener('click', () => { $('#edit-line').hidden = true; });
  await loadPeople(context);
  await load(context);
}

main();
