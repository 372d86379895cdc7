// Call routing, for the company's office managers: the picture of where a call to each number goes
// (GET /call-flow, drawn as nested lists, receptionists' hours and menus and conference rooms
// included; the menus are set up on receptionist.html, the rooms on conference.html), the ring
// groups (created, changed and removed here) and each line's forwarding and do-not-disturb
// (forwarding.js). Values are set as text only.

import { api } from './api.js';
import { $, el, replaceChildren, say, submitting } from './dom.js';
import { CONDITIONS, TARGET_KINDS, showForwardingPanels, targetWords } from './forwarding.js';
import { isOfficeManager, pageError, startPage } from './layout.js';

const STRATEGIES = { simultaneous: 'all at once', sequential: 'in order', round_robin: 'in turn' };
const ENTRY_KINDS = { did: 'direct number', group: 'ring group', receptionist: 'receptionist', conference: 'conference room',
  line: 'extension' };
const WEEKDAYS = [['mon', 'Mon'], ['tue', 'Tue'], ['wed', 'Wed'], ['thu', 'Thu'], ['fri', 'Fri'], ['sat', 'Sat'], ['sun', 'Sun']];

let editing = null;  // the ring group the form changes; null: it creates one

// One node of the call-flow tree, as a list item with its children.
function flowNode(node) {
  if (!node) return el('li', { class: 'flow-node' }, 'busy');
  const item = el('li', { class: 'flow-node', 'data-type': node.type, 'data-number': node.number || false });
  switch (node.type) {
    case 'line': return flowLine(item, node);
    case 'group': return flowGroup(item, node);
    case 'receptionist': return flowReceptionist(item, node);
    case 'hours': return flowHours(item, node);
    case 'menu': return flowMenu(item, node);
    case 'conference':
      item.dataset.room = node.name;
      item.append(el('span', { class: 'flow-box' }, `Conference room ${node.name}`,
        el('span', { class: 'muted' }, ` — dialled as ${node.number}${node.line ? ` (line ${node.line}'s room)` : ''}; `
          + 'callers key in its PIN and join')));
      return item;
    case 'dial_by_extension':
      item.append(el('span', { class: 'flow-box' }, 'The caller dials an extension'));
      return item;
    case 'repeat':
      item.append(el('span', { class: 'flow-box' }, 'The menu plays again'));
      return item;
    case 'voicemail':
      item.append(el('span', { class: 'flow-box' }, `Voicemail of line ${node.number}`));
      return item;
    case 'external':
      item.append(el('span', { class: 'flow-box' }, `Outside number ${node.number}`));
      return item;
    case 'missing':
      item.append(el('span', { class: 'flow-box flow-warning' }, node.target_kind === 'menu'
        ? 'A menu that no longer exists'
        : `A ${node.target_kind} that no longer exists: the call goes to voicemail instead`));
      return item;
    case 'ref':
      item.append(el('span', { class: 'flow-box' }, refWords(node)));
      return item;
    default:  // a kind of step this page does not know yet (a receptionist menu)
      item.append(el('span', { class: 'flow-box' }, node.name || node.type));
      return item;
  }
}

function refWords(node) {
  if (node.target_kind === 'menu') return `Menu ${node.name}, as shown above`;
  return node.reason === 'loop'
    ? `Back to ${node.target_kind} ${node.number} (a loop: the call is cut after a few hops)`
    : `${node.target_kind} ${node.number}, as shown above`;
}

// A branch of the tree: when (`label`) the call goes on to `child`, a node or an item.
function flowBranch(condition, label, child) {
  return el('li', { class: 'flow-branch', 'data-condition': condition }, el('span', { class: 'flow-when' }, label),
    el('ul', {}, child));
}

function flowReceptionist(item, node) {
  item.append(el('span', { class: 'flow-box' }, `Receptionist ${node.number}${node.name ? ` · ${node.name}` : ''}`),
    el('ul', {}, flowNode(node.to)));
  return item;
}

// "Mon 09:00-17:30; Tue closed; ...", and the holidays, which are closed all day.
function weekWords(node) {
  const days = WEEKDAYS.map(([key, day]) => `${day} ${(node.hours[key] || []).join(', ') || 'closed'}`);
  const holidays = node.holidays ? `; ${node.holidays} holiday${node.holidays === 1 ? '' : 's'}` : '';
  return `${days.join('; ')}${holidays}`;
}

function flowHours(item, node) {
  item.append(el('span', { class: 'flow-box' }, 'Business hours', el('span', { class: 'muted' }, ` — ${weekWords(node)}`)),
    el('ul', {}, flowBranch('open', 'While open', flowNode(node.open)),
      flowBranch('closed', 'After hours and on holidays', flowNode(node.closed))));
  return item;
}

// A menu: its greeting, then one branch per key, then what happens when the caller presses nothing.
function flowMenu(item, node) {
  item.dataset.menu = node.name;
  item.append(el('span', { class: 'flow-box' }, `Menu ${node.name}`,
    el('span', { class: 'muted' }, node.has_greeting ? ' — its own greeting' : ' — the default prompt')));
  const keys = node.keys.map(({ key, to }) => flowBranch(`key-${key}`, `Key ${key}`, flowNode(to)));
  const timeout = node.timeout ? flowNode(node.timeout)
    : el('li', { class: 'flow-node' }, 'The menu plays again, then the call ends');
  item.append(el('ul', {}, keys, flowBranch('timeout', `No key within ${node.timeout_seconds} s`, timeout)));
  return item;
}

// A line and, below it, where its calls go on: an always-forward alone (the phones never ring),
// else each condition's forward, and the conditions without one together, to the line's voicemail.
function flowLine(item, node) {
  const name = node.label ? `Line ${node.number} · ${node.label}` : `Line ${node.number}`;
  item.append(el('span', { class: 'flow-box' }, name, node.dnd ? el('span', { class: 'badge on' }, 'do not disturb') : null));
  if (!node.forwards) return item;
  const words = (condition, label) => (condition === 'no_answer' ? `${label} (${node.no_answer_seconds} s)` : label);
  const branch = (condition, label, child) => el('li', { class: 'flow-branch', 'data-condition': condition },
    el('span', { class: 'flow-when' }, label), el('ul', {}, child));
  const branches = [];
  const unforwarded = [];
  for (const [condition, label] of CONDITIONS) {
    const target = node.forwards[condition];
    if (condition === 'always' && !target) continue;
    if (target) branches.push(branch(condition, words(condition, label), flowNode(target)));
    else unforwarded.push(words(condition, label).toLowerCase());
    if (condition === 'always') break;
  }
  if (unforwarded.length) {
    const own = el('li', { class: 'flow-node', 'data-type': 'voicemail-default', 'data-number': node.number },
      el('span', { class: 'flow-box' }, `Voicemail of line ${node.number}`));
    branches.push(branch('otherwise', `${unforwarded.join(', ')}`.replace(/^./, (c) => c.toUpperCase()), own));
  }
  item.append(el('ul', {}, branches));
  return item;
}

// A group rings its members' phones only: their forwards do not apply, and one on do-not-disturb is
// left out (src/sip/proxy_callflow.cpp).
function groupMember(member) {
  const item = flowNode(member);
  if (member.type === 'line' && member.dnd) item.append(el('span', { class: 'muted' }, ' skipped while on do not disturb'));
  return item;
}

function flowGroup(item, node) {
  const name = `Ring group ${node.number}${node.name ? ` · ${node.name}` : ''}`;
  item.append(el('span', { class: 'flow-box' }, name,
    el('span', { class: 'muted' }, ` — ${STRATEGIES[node.strategy] || node.strategy}, ${node.ring_seconds} s`)));
  const members = el('li', { class: 'flow-branch', 'data-condition': 'members' }, el('span', { class: 'flow-when' }, 'Rings'),
    el('ul', {}, node.members.map(groupMember)));
  const overflow = el('li', { class: 'flow-branch', 'data-condition': 'overflow' },
    el('span', { class: 'flow-when' }, 'If nobody answers'),
    el('ul', {}, node.overflow ? flowNode(node.overflow) : el('li', { class: 'flow-node' }, 'busy')));
  item.append(el('ul', {}, members, overflow));
  return item;
}

function drawFlow(flow) {
  const trees = flow.numbers.map((entry) => el('figure', { class: 'flow', 'data-number': entry.number, 'data-kind': entry.kind },
    el('figcaption', {}, `${entry.number} (${ENTRY_KINDS[entry.kind] || entry.kind})`),
    el('ul', { class: 'flow-tree' }, flowNode(entry.to))));
  replaceChildren($('#call-flow'), trees.length ? trees : el('p', { class: 'muted' }, 'Add a line to see where its calls go.'));
}

async function refreshFlow() {
  try {
    drawFlow(await api('GET', '/call-flow'));
  } catch (error) {
    say($('#call-flow'), error.message, 'error');
  }
}

function groupRow(group) {
  const edit = el('button', { type: 'button', class: 'secondary', 'data-edit-group': group.number }, 'Change');
  edit.addEventListener('click', () => startEditing(group));
  const remove = el('button', { type: 'button', class: 'secondary', 'data-remove-group': group.number }, 'Remove');
  remove.addEventListener('click', () => removeGroup(group, remove));
  return el('tr', { 'data-group': group.number },
    el('td', {}, group.number), el('td', {}, group.name),
    el('td', {}, `${STRATEGIES[group.strategy] || group.strategy}, ${group.ring_seconds} s`),
    el('td', { class: 'group-members' }, group.members.join(', ')),
    el('td', {}, group.overflow ? targetWords(group.overflow) : 'busy'),
    el('td', {}, el('div', { class: 'actions' }, edit, remove)));
}

async function loadGroups() {
  const { items } = await api('GET', '/ring-groups');
  replaceChildren($('#ring-groups tbody'), items.map(groupRow));
  $('#ring-groups-empty').hidden = items.length > 0;
}

function resetGroupForm() {
  editing = null;
  const form = $('#group-form');
  form.reset();
  $('#group-form-title').textContent = 'New ring group';
  $('#group-submit').textContent = 'Create group';
  $('#group-cancel').hidden = true;
  $('#group-overflow-number').disabled = true;
}

function startEditing(group) {
  editing = group;
  const form = $('#group-form');
  form.elements.number.value = group.number;
  form.elements.name.value = group.name;
  form.elements.strategy.value = group.strategy;
  form.elements.ring_seconds.value = group.ring_seconds;
  form.elements.members.value = group.members.join(', ');
  form.elements['overflow.kind'].value = group.overflow ? group.overflow.kind : '';
  form.elements['overflow.number'].value = group.overflow ? group.overflow.number : '';
  $('#group-overflow-number').disabled = !group.overflow;
  $('#group-form-title').textContent = `Change ring group ${group.number}`;
  $('#group-submit').textContent = 'Save group';
  $('#group-cancel').hidden = false;
  form.scrollIntoView({ block: 'nearest' });
}

function groupBody(form) {
  const kind = form.elements['overflow.kind'].value;
  const seconds = form.elements.ring_seconds.value.trim();
  return {
    number: form.elements.number.value.trim(),
    name: form.elements.name.value.trim(),
    strategy: form.elements.strategy.value,
    ring_seconds: seconds === '' ? 20 : Number(seconds),
    members: form.elements.members.value.split(/[\s,]+/).filter(Boolean),
    overflow: kind ? { kind, number: form.elements['overflow.number'].value.trim() } : null,
  };
}

async function saveGroup(form) {
  const body = groupBody(form);
  const group = editing
    ? await api('PUT', `/ring-groups/${encodeURIComponent(editing.id)}`, { body })
    : await api('POST', '/ring-groups', { body });
  say($('#groups-status'), `Ring group ${group.number} ${editing ? 'saved' : 'created'}.`);
  resetGroupForm();
  await loadGroups();
  await refreshFlow();
}

async function removeGroup(group, button) {
  button.disabled = true;
  try {
    await api('DELETE', `/ring-groups/${encodeURIComponent(group.id)}`);
    say($('#groups-status'), `Ring group ${group.number} removed.`);
    if (editing && editing.id === group.id) resetGroupForm();
    await loadGroups();
    await refreshFlow();
  } catch (error) {
    button.disabled = false;
    say($('#groups-status'), error.message, 'error');
  }
}

function setUpGroupForm() {
  const form = $('#group-form');
  const kind = $('#group-overflow-kind');
  replaceChildren(kind, TARGET_KINDS.map(([value, words]) =>
    el('option', { value }, value ? words : 'Nobody (callers hear busy)')));
  kind.addEventListener('change', () => { $('#group-overflow-number').disabled = !kind.value; });
  $('#group-overflow-number').disabled = true;
  $('#group-cancel').addEventListener('click', resetGroupForm);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submitting(form, () => saveGroup(form));
  });
}

async function main() {
  const user = await startPage();
  if (!isOfficeManager(user)) {
    pageError(new Error('Only the office managers of your company set up its call routing.'));
    return;
  }
  setUpGroupForm();
  try {
    const { items: lines } = await api('GET', '/extensions');
    await Promise.all([refreshFlow(), loadGroups(),
      showForwardingPanels($('#line-forwarding'), lines, '/lines', refreshFlow)]);
  } catch (error) {
    pageError(error);
  }
}

main();
