// One line's call forwarding and do-not-disturb, as a panel with a switch and a form, shared by the
// Call routing page (an office manager, any line of the company: /lines/{id}) and the profile (a
// member's own lines: /me/lines/{id}). Targets are named by kind and number, as the API takes them;
// a refusal is shown next to the field it names ("busy.number", "no_answer_seconds").

import { api } from './api.js';
import { $, el, replaceChildren, say, submitting } from './dom.js';

export const CONDITIONS = [
  ['always', 'Always', 'every call; the phones do not ring'],
  ['busy', 'When busy', 'every phone is busy, or do-not-disturb is on'],
  ['no_answer', 'When not answered', 'nobody answers in time'],
  ['unregistered', 'When no phone is connected', 'no device is registered'],
];
export const TARGET_KINDS = [
  ['', 'Not forwarded (the line\'s voicemail)'],
  ['line', 'Another line'],
  ['group', 'A ring group'],
  ['voicemail', 'A line\'s voicemail'],
  ['external', 'An outside number'],
];

// "Line 102", "Voicemail of 101", "+44 20 ...": a target as words.
export function targetWords(target) {
  if (!target) return 'voicemail';
  const words = { line: 'line', group: 'ring group', voicemail: 'voicemail of', external: 'outside number' };
  return `${words[target.kind] || target.kind} ${target.number}`;
}

function summary(forwarding) {
  const parts = CONDITIONS.filter(([name]) => forwarding[name])
    .map(([name, label]) => `${label.toLowerCase()}: ${targetWords(forwarding[name])}`);
  return parts.length ? parts.join('; ') : 'No forwarding.';
}

function targetFieldset(prefix, [name, label, hint], target) {
  const kindId = `${prefix}-${name}-kind`;
  const numberId = `${prefix}-${name}-number`;
  const select = el('select', { id: kindId, name: `${name}.kind`, 'data-field': name },
    TARGET_KINDS.map(([value, words]) => el('option', { value, selected: target && target.kind === value }, words)));
  const number = el('input', { id: numberId, name: `${name}.number`, value: target ? target.number : '',
    autocomplete: 'off', 'aria-describedby': `${numberId}-hint` });
  const sync = () => { number.disabled = !select.value; };
  select.addEventListener('change', sync);
  sync();
  return el('fieldset', { 'data-condition': name },
    el('legend', {}, label),
    el('div', { class: 'row' },
      el('div', { class: 'field' }, el('label', { for: kindId }, 'Send calls to'), select),
      el('div', { class: 'field' }, el('label', { for: numberId }, 'Number'), number,
        el('span', { class: 'hint', id: `${numberId}-hint` }, `Applies ${hint}.`))));
}

// The body of PUT .../forwarding from the form, with the switch's state.
function forwardingBody(form, dnd) {
  const body = { dnd };
  for (const [name] of CONDITIONS) {
    const kind = form.elements[`${name}.kind`].value;
    body[name] = kind ? { kind, number: form.elements[`${name}.number`].value.trim() } : null;
  }
  const seconds = form.elements.no_answer_seconds.value.trim();
  body.no_answer_seconds = seconds === '' ? 20 : Number(seconds);
  return body;
}

// A panel for `line` ({id, number, label}); `base` is '/lines' or '/me/lines'. `changed` runs after
// every saved change (the routing page redraws its picture).
export async function forwardingPanel(line, base, changed = () => {}) {
  const path = `${base}/${encodeURIComponent(line.id)}`;
  const panel = el('section', { class: 'panel line-forwarding', 'data-line': line.number });
  const prefix = `fw-${line.number}`;
  let current = await api('GET', `${path}/forwarding`);

  const dndState = el('span', { class: 'badge', 'data-dnd-state': '' });
  const dndButton = el('button', { type: 'button', class: 'secondary', 'data-dnd': line.number });
  const text = el('p', { class: 'muted forward-summary' });
  const status = el('div', { 'aria-live': 'polite' });
  const show = () => {
    dndState.textContent = current.dnd ? 'Do not disturb: on' : 'Do not disturb: off';
    dndState.className = current.dnd ? 'badge on' : 'badge off';
    dndButton.textContent = current.dnd ? 'Turn do-not-disturb off' : 'Turn do-not-disturb on';
    text.textContent = summary(current);
  };
  dndButton.addEventListener('click', async () => {
    dndButton.disabled = true;
    try {
      current = await api('PUT', `${path}/dnd`, { body: { on: !current.dnd } });
      show();
      say(status, `Do-not-disturb is ${current.dnd ? 'on' : 'off'} for line ${line.number}.`);
      changed();
    } catch (error) {
      say(status, error.message, 'error');
    } finally {
      dndButton.disabled = false;
    }
  });

  const secondsId = `${prefix}-seconds`;
  const form = el('form', { class: 'forward-form', method: 'post', novalidate: true },
    CONDITIONS.map((condition) => targetFieldset(prefix, condition, current[condition[0]])),
    el('div', { class: 'field' }, el('label', { for: secondsId }, 'Seconds to ring before "not answered"'),
      el('input', { id: secondsId, name: 'no_answer_seconds', type: 'number', min: 5, max: 120,
        value: current.no_answer_seconds })),
    el('div', { class: 'actions' }, el('button', { type: 'submit' }, 'Save forwarding')));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submitting(form, async () => {
      current = await api('PUT', `${path}/forwarding`, { body: forwardingBody(form, current.dnd) });
      show();
      say(form, `Forwarding saved for line ${line.number}.`);
      changed();
    });
  });

  const title = line.label ? `Line ${line.number} · ${line.label}` : `Line ${line.number}`;
  const details = el('details', {}, el('summary', {}, 'Change forwarding'), form);
  replaceChildren(panel, el('h3', {}, title), el('div', { class: 'actions' }, dndState, dndButton), text, details, status);
  show();
  return panel;
}

// Panels for every line in `lines`, into `container`; an empty note when there are none.
export async function showForwardingPanels(container, lines, base, changed) {
  const panels = [];
  for (const line of lines) panels.push(await forwardingPanel(line, base, changed));
  replaceChildren(container, panels.length ? panels : el('p', { class: 'muted' }, 'No lines.'));
  return $(':scope > .line-forwarding', container);
}
