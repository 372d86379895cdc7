// The rights-request queue of the operator console (P13), for purpose legal only (the server
// refuses any other): overdue requests first, then by due date, each with the actions its state
// allows: waive the fee, extend the deadline, refuse, complete a rectification or erasure in
// progress. Every action asks for its reason (except complete), which the member receives by email.

import { api } from './api.js';
import { $, el, formatDate, replaceChildren, say } from './dom.js';
import { sentenceCase } from './words.js';

let queuePurpose = null;

const ACTIONS = {
  waive: { label: 'Waive fee', reason: true, done: 'Fee waived' },
  extend: { label: 'Extend', reason: true, months: true, done: 'Deadline extended' },
  refuse: { label: 'Refuse', reason: true, done: 'Refused' },
  complete: { label: 'Complete', reason: false, done: 'Completed' },
};

function allowed(r) {
  const open = r.state !== 'completed' && r.state !== 'refused';
  if (!open) return [];
  const out = [];
  if (r.fee && r.fee.status === 'due' && r.state !== 'in_progress') out.push('waive');
  if (r.extension_months < 2) out.push('extend');
  out.push('refuse');
  if (r.state === 'in_progress') out.push('complete');
  return out;
}

function section() {
  return $('#queue-title').parentElement;
}

async function run(r, action, values) {
  try {
    await api('POST', `/admin/requests/${r.id}/${action}`, { purpose: queuePurpose, body: values });
    await loadQueue();
    say(section(), `${ACTIONS[action].done}: request ${r.id}.`);
  } catch (error) {
    say(section(), error.message, 'error');
  }
}

// The reason (and months) for one action, inline in the request's row.
function actionForm(r, action, cellNode) {
  const spec = ACTIONS[action];
  const reason = el('input', { type: 'text', class: 'action-reason', 'aria-label': `Reason to ${spec.label.toLowerCase()} request ${r.id}` });
  const months = el('select', { class: 'action-months', 'aria-label': `Months to extend request ${r.id}` },
    el('option', { value: '1' }, '1 month'), el('option', { value: '2' }, '2 months'));
  const form = el('form', { class: 'inline-action' }, spec.reason ? reason : null, spec.months ? months : null,
    el('button', { type: 'submit' }, `Confirm ${spec.label.toLowerCase()}`),
    el('button', { type: 'button', class: 'secondary', onclick: () => replaceChildren(cellNode, actionButtons(r, cellNode)) }, 'Cancel'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const values = {};
    if (spec.reason) values.reason = reason.value.trim();
    if (spec.months) values.months = Number(months.value);
    run(r, action, values);
  });
  return form;
}

function actionButtons(r, cellNode) {
  return allowed(r).map((action) => el('button', {
    type: 'button', class: action === 'refuse' ? 'danger' : 'secondary', 'aria-label': `${ACTIONS[action].label} request ${r.id}`,
    onclick: () => {
      replaceChildren(cellNode, actionForm(r, action, cellNode));
      const first = $('input, select', cellNode);
      if (first) first.focus();
    },
  }, ACTIONS[action].label));
}

function row(r) {
  const actions = el('td', { class: 'request-actions' });
  replaceChildren(actions, actionButtons(r, actions));
  return el('tr', { 'data-id': r.id },
    el('td', {}, el('code', {}, r.id)), el('td', {}, sentenceCase(r.kind)), el('td', { class: 'queue-state' }, sentenceCase(r.state)),
    el('td', {}, `${formatDate(r.due_at)}${r.overdue ? ' (overdue)' : ''}${r.extension_months ? ` +${r.extension_months} mo` : ''}`),
    el('td', {}, r.fee && r.fee.status !== 'none' ? `${r.fee.amount} ${r.fee.status}` : '—'), actions);
}

export async function loadQueue() {
  const { items } = await api('GET', '/admin/requests', { purpose: queuePurpose, query: { closed: 'true' } });
  replaceChildren($('#queue tbody'), (items || []).map(row));
  $('#queue-empty').hidden = (items || []).length > 0;
}

// Shows the queue for purpose legal; clears it for any other.
export async function showQueue(purpose) {
  queuePurpose = purpose === 'legal' ? purpose : null;
  if (!queuePurpose) {
    replaceChildren($('#queue tbody'));
    $('#queue-empty').hidden = true;
    return;
  }
  await loadQueue();
}
