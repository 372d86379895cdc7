// Conference rooms, for the company's office managers: the company's rooms (a number, a direct
// number, a PIN) and its lines' own rooms (dialled as *88 and the line's number), created, changed
// and removed here. The API never sends a PIN with a room: "Show PIN" asks its own route, which
// records the look, and the PIN stays on screen until hidden. A refusal is shown next to the field
// it names (number, line, did, pin). Values are set as text only.

import { api } from './api.js';
import { $, el, replaceChildren, say, submitting } from './dom.js';
import { isOfficeManager, pageError, startPage } from './layout.js';

const ROOM = (id) => `/conference-rooms/${encodeURIComponent(id)}`;

let editing = null;  // the room the form changes; null: it creates one

function showKind(kind) {
  $('#room-number-field').hidden = kind !== 'company';
  $('#room-line-field').hidden = kind !== 'line';
}

function roomBody(form) {
  const body = { name: form.elements.name.value.trim(), did: form.elements.did.value.trim() || null };
  if ($('#room-kind').value === 'line') body.line = form.elements.line.value;
  else body.number = form.elements.number.value.trim();
  const pin = form.elements.pin.value.trim();
  if (pin || !editing) body.pin = pin;  // a change without a PIN keeps the room's
  return body;
}

function resetForm() {
  editing = null;
  const form = $('#room-form');
  form.reset();
  $('#room-kind').disabled = false;
  $('#room-line').disabled = false;
  showKind('company');
  $('#room-form-title').textContent = 'New conference room';
  $('#room-submit').textContent = 'Create room';
  $('#room-pin-hint').textContent = '4 to 12 digits that callers key in';
  $('#room-cancel').hidden = true;
}

// A room keeps its kind and its line: only its name, number, direct number and PIN change.
function startEditing(room) {
  editing = room;
  const form = $('#room-form');
  const kind = room.line ? 'line' : 'company';
  $('#room-kind').value = kind;
  $('#room-kind').disabled = true;
  showKind(kind);
  form.elements.number.value = room.number || '';
  form.elements.line.value = room.line || '';
  $('#room-line').disabled = true;
  form.elements.name.value = room.name;
  form.elements.did.value = room.did || '';
  form.elements.pin.value = '';
  $('#room-pin-hint').textContent = 'Leave empty to keep the PIN';
  $('#room-form-title').textContent = `Change room ${room.dial}`;
  $('#room-submit').textContent = 'Save room';
  $('#room-cancel').hidden = false;
  form.scrollIntoView({ block: 'nearest' });
}

async function saveRoom(form) {
  const body = roomBody(form);
  const room = editing ? await api('PUT', ROOM(editing.id), { body }) : await api('POST', '/conference-rooms', { body });
  say($('#rooms-status'), `Room ${room.dial} ${editing ? 'saved' : 'created'}.`);
  resetForm();
  await loadRooms();
}

async function removeRoom(room, button) {
  button.disabled = true;
  try {
    await api('DELETE', ROOM(room.id));
    say($('#rooms-status'), `Room ${room.dial} removed.`);
    if (editing && editing.id === room.id) resetForm();
    await loadRooms();
  } catch (error) {
    button.disabled = false;
    say($('#rooms-status'), error.message, 'error');
  }
}

// "Show PIN" reads it (a recorded look); "Hide PIN" takes it off the screen again.
function pinCell(room) {
  const value = el('span', { class: 'secret', 'data-pin': '' });
  const button = el('button', { type: 'button', class: 'secondary', 'data-show-pin': room.dial }, 'Show PIN');
  button.addEventListener('click', async () => {
    if (value.textContent) {
      value.textContent = '';
      button.textContent = 'Show PIN';
      return;
    }
    button.disabled = true;
    try {
      const { pin } = await api('GET', `${ROOM(room.id)}/pin`);
      value.textContent = pin;
      button.textContent = 'Hide PIN';
    } catch (error) {
      say($('#rooms-status'), error.message, 'error');
    } finally {
      button.disabled = false;
    }
  });
  return el('td', {}, value, ' ', button);
}

function roomRow(room) {
  const edit = el('button', { type: 'button', class: 'secondary', 'data-edit-room': room.dial }, 'Change');
  edit.addEventListener('click', () => startEditing(room));
  const remove = el('button', { type: 'button', class: 'secondary', 'data-remove-room': room.dial }, 'Remove');
  remove.addEventListener('click', () => removeRoom(room, remove));
  return el('tr', { 'data-room': room.dial },
    el('td', {}, room.dial), el('td', { class: 'room-name' }, room.name),
    el('td', {}, room.line ? `line ${room.line}` : 'the company'), el('td', {}, room.did || '—'),
    pinCell(room), el('td', {}, el('div', { class: 'actions' }, edit, remove)));
}

async function loadRooms() {
  const { items } = await api('GET', '/conference-rooms');
  replaceChildren($('#rooms tbody'), items.map(roomRow));
  $('#rooms-empty').hidden = items.length > 0;
}

async function loadLines() {
  const { items } = await api('GET', '/extensions');
  replaceChildren($('#room-line'), items.length
    ? items.map((line) => el('option', { value: line.number }, line.label ? `${line.number} · ${line.label}` : line.number))
    : el('option', { value: '' }, 'Add a line first'));
}

function setUpForm() {
  const form = $('#room-form');
  $('#room-kind').addEventListener('change', () => showKind($('#room-kind').value));
  $('#room-cancel').addEventListener('click', resetForm);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submitting(form, () => saveRoom(form));
  });
}

async function main() {
  const user = await startPage();
  if (!isOfficeManager(user)) {
    pageError(new Error('Only the office managers of your company set up its conference rooms.'));
    return;
  }
  setUpForm();
  try {
    await Promise.all([loadRooms(), loadLines()]);
  } catch (error) {
    pageError(error);
  }
}

main();
