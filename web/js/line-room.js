// A member's own line's conference room, on the profile (/me/lines/{id}/conference-room): the room
// the company's phones reach as *88 and the line's number. The member sets its PIN (which creates
// the room the first time) or removes it; a direct number is the office managers' to give. The
// room's answer never carries the PIN, so the field starts empty; "Show PIN" reads it from its own
// route (a recorded look, to hand it out) and "Hide PIN" takes it off the screen. A refusal is
// shown next to its field.

import { api } from './api.js';
import { el, replaceChildren, say, submitting } from './dom.js';

export async function lineRoomPanel(line) {
  const path = `/me/lines/${encodeURIComponent(line.id)}/conference-room`;
  let current = await api('GET', path);
  const pinId = `room-pin-${line.number}`;
  const state = el('p', { class: 'room-state' });
  const pin = el('input', { id: pinId, name: 'pin', inputmode: 'numeric', autocomplete: 'off', maxlength: 12,
    'aria-describedby': `${pinId}-hint` });
  const submit = el('button', { type: 'submit' });
  const remove = el('button', { type: 'button', class: 'secondary' }, 'Remove room');
  const pinShown = el('span', { class: 'secret', 'data-pin': '' });
  const reveal = el('button', { type: 'button', class: 'secondary', 'data-show-pin': '' }, 'Show PIN');
  const hidePin = () => {
    pinShown.textContent = '';
    reveal.textContent = 'Show PIN';
  };
  const form = el('form', { class: 'room-form', method: 'post', novalidate: true },
    el('div', { class: 'field' }, el('label', { for: pinId }, 'PIN'), pin,
      el('span', { class: 'hint', id: `${pinId}-hint` }, '4 to 12 digits that everyone joining keys in')),
    el('div', { class: 'actions' }, submit, remove, reveal, pinShown));
  const show = () => {
    const room = current.room;
    state.textContent = room
      ? `${room.name}: dial ${current.dial} from the company's phones${room.did ? `, or ${room.did} from outside` : ''}.`
      : `No room yet: set a PIN and your colleagues can meet you at ${current.dial}.`;
    submit.textContent = room ? 'Change PIN' : 'Create room';
    remove.hidden = !room;
    reveal.hidden = !room;
    hidePin();
  };
  reveal.addEventListener('click', () => {
    if (pinShown.textContent) return hidePin();
    return submitting(form, async () => {
      const { pin: value } = await api('GET', `${path}/pin`);
      pinShown.textContent = value;
      reveal.textContent = 'Hide PIN';
    });
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submitting(form, async () => {
      current = await api('PUT', path, { body: { pin: pin.value.trim() } });
      pin.value = '';
      show();
      say(form, `PIN saved for your room ${current.dial}.`);
    });
  });
  remove.addEventListener('click', () => submitting(form, async () => {
    await api('DELETE', path);
    current = { ...current, room: null };
    show();
    say(form, `Your room ${current.dial} is removed.`);
  }));
  const title = line.label ? `Line ${line.number} · ${line.label}` : `Line ${line.number}`;
  const panel = el('section', { class: 'panel line-room', 'data-line': line.number });
  replaceChildren(panel, el('h3', {}, title), state, form);
  show();
  return panel;
}
