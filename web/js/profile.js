// The profile: the person's own data (GET /me) and rectification (PATCH /me) of the fields that
// changed. Each correction is recorded in the audit chain by the server (field names, never values).
// Below, the forwarding and do-not-disturb of the person's own lines (/me/lines, forwarding.js) and
// each line's own conference room (line-room.js).

import { api } from './api.js';
import { $, formValues, replaceChildren, say, submitting } from './dom.js';
import { showForwardingPanels } from './forwarding.js';
import { lineRoomPanel } from './line-room.js';
import { isStaff, pageError, startPage } from './layout.js';
import { cardBrandWords } from './words.js';

const EDITABLE = ['name', 'email', 'phone', 'address', 'birth_date'];
const SHOWN = ['card_brand', 'card_last4', 'card_expiry'];

function fill(form, fields) {
  for (const name of EDITABLE) form.elements[name].value = fields[name] || '';
  for (const name of SHOWN) $(`#${name}`).textContent = fields[name] || '—';
  if (fields.card_brand) $('#card_brand').textContent = cardBrandWords(fields.card_brand);
}

async function save(form, original) {
  const values = formValues(form);
  const corrections = {};
  for (const name of EDITABLE) {
    if (values[name] !== (original[name] || '')) corrections[name] = values[name];
  }
  if (!Object.keys(corrections).length) {
    say(form, 'Nothing has changed, so there is nothing to correct.');
    return;
  }
  const answer = await api('PATCH', '/me', { body: corrections });
  const pending = (answer && answer.pending) || [];
  for (const name of Object.keys(corrections)) if (!pending.includes(name)) original[name] = corrections[name];
  const names = (answer && answer.corrected) || [];
  const lines = [];
  if (names.length) lines.push(`Corrected: ${names.join(', ').replace(/_/g, ' ')}. The correction has been recorded.`);
  // A new email changes only once the link sent to it is opened (confirm.html).
  if (pending.includes('email')) lines.push(answer.message || 'We have sent a link to the new address.');
  say(form, lines.join(' '));
}

async function main() {
  const user = await startPage();
  if (isStaff(user)) {
    location.replace('/operator.html');
    return;
  }
  const form = $('#profile-form');
  const original = { ...(user.fields || {}) };
  fill(form, original);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submitting(form, () => save(form, original));
  });
  await showOwnLines(user);
}

// The lines assigned to the person (an office manager sees every line of the company in
// /extensions, so only her own are kept here).
async function showOwnLines(user) {
  try {
    const { items } = await api('GET', '/extensions');
    const own = items.filter((line) => line.member_id === user.subject_id);
    if (!own.length) return;
    $('#my-lines-section').hidden = false;
    await showForwardingPanels($('#my-lines'), own, '/me/lines');
    $('#my-rooms-section').hidden = false;
    replaceChildren($('#my-rooms'), await Promise.all(own.map(lineRoomPanel)));
  } catch (error) {
    pageError(error);
  }
}

main();
