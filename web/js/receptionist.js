// The virtual receptionist, for the company's office managers: its menus (what each key does, what
// happens when the caller presses nothing, and the greeting: a WAV uploaded here and heard back
// from its audited route, or recorded by phone with a one-use code) and its receptionists (a number, a direct number, the menu while open and
// after hours). Targets are named by number as the API takes them, a sub-menu by its id; a refusal
// is shown next to the field it names ("keys.1.number", "timeout.kind", "open_menu"). Values are
// set as text only.

import { api, apiUpload } from './api.js';
import { $, el, formatDuration, replaceChildren, say, submitting } from './dom.js';
import { isOfficeManager, pageError, startPage } from './layout.js';

// The keys in the order of a phone's keypad.
const KEYS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '0', '#'];
const KEY_KINDS = [
  ['', 'Nothing'],
  ['line', 'Ring a line'],
  ['group', 'Ring a ring group'],
  ['voicemail', 'A line\'s voicemail'],
  ['external', 'An outside number'],
  ['menu', 'Another menu'],
  ['dial_by_extension', 'Let the caller dial an extension'],
  ['repeat', 'Play this menu again'],
];
const TIMEOUT_KINDS = [['', 'Play the menu again (3 times in all), then hang up'],
  ...KEY_KINDS.filter(([kind]) => kind && kind !== 'repeat' && kind !== 'dial_by_extension')];
const NUMBERED = new Set(['line', 'group', 'voicemail', 'external']);

const GREETING = (id) => `/receptionist-menus/${encodeURIComponent(id)}/greeting`;
const PHONE_RECORDING = (id) => `/receptionist-menus/${encodeURIComponent(id)}/phone-recording`;

let menus = [];           // as last listed
let editingMenu = null;   // the menu the form changes; null: it creates one
let editingDesk = null;   // the receptionist the form changes
const actionRows = new Map();  // field ("keys.1", "timeout") -> its controls

function menuName(id) {
  const menu = menus.find((m) => m.id === id);
  return menu ? menu.name : 'a removed menu';
}

// "line 102", "menu Sales", "an extension the caller dials": an action as words.
function actionWords(action) {
  if (!action) return 'nothing';
  switch (action.kind) {
    case 'line': return `line ${action.number}`;
    case 'group': return `ring group ${action.number}`;
    case 'voicemail': return `voicemail of ${action.number}`;
    case 'external': return `outside number ${action.number}`;
    case 'menu': return `menu ${menuName(action.menu)}`;
    case 'dial_by_extension': return 'an extension the caller dials';
    case 'repeat': return 'this menu again';
    default: return action.kind;
  }
}

// A kind select with a number field and a menu select beside it, shown as the kind needs; named as
// the API names the fields, so a refusal lands next to its control.
function actionRow(field, label, kinds) {
  const id = `action-${field.replace(/[^a-z0-9]/gi, (c) => ({ '*': 'star', '#': 'hash', '.': '-' }[c] || '-'))}`;
  const kind = el('select', { id: `${id}-kind`, name: `${field}.kind`, 'data-field': field },
    kinds.map(([value, words]) => el('option', { value }, words)));
  const number = el('input', { id: `${id}-number`, name: `${field}.number`, autocomplete: 'off' });
  const menu = el('select', { id: `${id}-menu`, name: `${field}.menu` });
  const numberField = el('div', { class: 'field' }, el('label', { for: number.id }, 'Number'), number);
  const menuField = el('div', { class: 'field' }, el('label', { for: menu.id }, 'Menu'), menu);
  const sync = () => {
    numberField.hidden = !NUMBERED.has(kind.value);
    menuField.hidden = kind.value !== 'menu';
  };
  kind.addEventListener('change', sync);
  const row = el('div', { class: 'row menu-action', 'data-action': field },
    el('div', { class: 'field' }, el('label', { for: kind.id }, label), kind), numberField, menuField);
  const controls = {
    row,
    read() {
      if (!kind.value) return null;
      if (NUMBERED.has(kind.value)) return { kind: kind.value, number: number.value.trim() };
      if (kind.value === 'menu') return { kind: 'menu', menu: menu.value };
      return { kind: kind.value };
    },
    set(action) {
      kind.value = action ? action.kind : '';
      number.value = action && action.number ? action.number : '';
      menu.value = action && action.menu ? action.menu : '';
      sync();
    },
    fillMenus() {
      const chosen = menu.value;
      replaceChildren(menu, menus.map((m) => el('option', { value: m.id }, m.name)));
      if (chosen) menu.value = chosen;
    },
  };
  sync();
  actionRows.set(field, controls);
  return row;
}

function menuBody(form) {
  const keys = {};
  for (const key of KEYS) {
    const action = actionRows.get(`keys.${key}`).read();
    if (action) keys[key] = action;
  }
  const seconds = form.elements.timeout_seconds.value.trim();
  return {
    name: form.elements.name.value.trim(),
    timeout_seconds: seconds === '' ? 5 : Number(seconds),
    timeout: actionRows.get('timeout').read(),
    keys,
  };
}

function resetMenuForm() {
  editingMenu = null;
  $('#menu-form').reset();
  for (const controls of actionRows.values()) controls.set(null);
  $('#menu-form-title').textContent = 'New menu';
  $('#menu-submit').textContent = 'Create menu';
  $('#menu-cancel').hidden = true;
}

function startEditingMenu(menu) {
  editingMenu = menu;
  const form = $('#menu-form');
  form.elements.name.value = menu.name;
  form.elements.timeout_seconds.value = menu.timeout_seconds;
  actionRows.get('timeout').set(menu.timeout);
  for (const key of KEYS) actionRows.get(`keys.${key}`).set(menu.keys[key] || null);
  $('#menu-form-title').textContent = `Change menu ${menu.name}`;
  $('#menu-submit').textContent = 'Save menu';
  $('#menu-cancel').hidden = false;
  form.scrollIntoView({ block: 'nearest' });
}

async function saveMenu(form) {
  const body = menuBody(form);
  const menu = editingMenu
    ? await api('PUT', `/receptionist-menus/${encodeURIComponent(editingMenu.id)}`, { body })
    : await api('POST', '/receptionist-menus', { body });
  say($('#menus-status'), `Menu ${menu.name} ${editingMenu ? 'saved' : 'created'}.`);
  resetMenuForm();
  await loadAll();
}

async function removeMenu(menu, button) {
  button.disabled = true;
  try {
    await api('DELETE', `/receptionist-menus/${encodeURIComponent(menu.id)}`);
    say($('#menus-status'), `Menu ${menu.name} removed.`);
    if (editingMenu && editingMenu.id === menu.id) resetMenuForm();
    await loadAll();
  } catch (error) {
    button.disabled = false;
    say($('#menus-status'), error.message, 'error');
  }
}

// Upload a WAV as the menu's greeting, hear the one in force (an audited read: the player loads only
// when asked to play), or go back to the default prompt.
function greetingForm(menu) {
  const input = el('input', { type: 'file', accept: '.wav,audio/wav,audio/x-wav', id: `greeting-${menu.id}`, name: 'audio' });
  const player = el('audio', { controls: true, preload: 'none', 'aria-label': `Play the greeting of ${menu.name}`,
    hidden: !menu.has_greeting, src: menu.has_greeting ? `/api/v1${GREETING(menu.id)}?t=${Date.now()}` : false });
  const upload = el('button', { type: 'submit' }, 'Upload greeting');
  const reset = el('button', { type: 'button', class: 'secondary', hidden: !menu.has_greeting }, 'Use the default prompt');
  const form = el('form', { class: 'greeting-form', method: 'post', novalidate: true },
    el('div', { class: 'field' }, el('label', { for: input.id }, 'New greeting (a WAV file, 1 to 60 seconds)'), input),
    player, el('div', { class: 'actions' }, upload, reset));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submitting(form, async () => {
      const file = input.files[0];
      if (!file) throw Object.assign(new Error('Choose a WAV file first.'), { field: 'audio' });
      const answer = await apiUpload('PUT', GREETING(menu.id), file, 'audio/wav');
      await loadAll();
      say($('#menus-status'), `Greeting of ${menu.name} saved (${formatDuration(answer && answer.duration_ms)}).`);
    });
  });
  reset.addEventListener('click', () => submitting(form, async () => {
    await api('DELETE', GREETING(menu.id));
    await loadAll();
    say($('#menus-status'), `${menu.name} plays the default prompt again.`);
  }));
  return form;
}

// Record the greeting by phone instead: the portal hands out a one-use code, shown here once (the
// store keeps only a hash of it), that works from any line of the company for ten minutes.
function phoneRecording(menu) {
  const button = el('button', { type: 'button', class: 'secondary', 'data-record-by-phone': menu.name }, 'Record by phone');
  const shown = el('p', { class: 'phone-recording', 'aria-live': 'polite', hidden: true });
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      const answer = await api('POST', PHONE_RECORDING(menu.id), { body: {} });
      const until = new Date(answer.expires_at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
      replaceChildren(shown, 'Dial ', el('strong', {}, answer.dial), ' from any phone of the company, key ',
        el('strong', { class: 'recording-code' }, answer.code),
        ' and #, and speak after the tone; # ends the recording. ',
        `The code works once, until ${until}; asking again gives a new one.`);
      shown.hidden = false;
    } catch (error) {
      say($('#menus-status'), error.message, 'error');
    } finally {
      button.disabled = false;
    }
  });
  return el('div', { class: 'phone-recording-box' }, button, shown);
}

function menuPanel(menu) {
  const keys = KEYS.filter((key) => menu.keys[key]).map((key) =>
    el('li', { 'data-key': key }, `${key}: ${actionWords(menu.keys[key])}`));
  const edit = el('button', { type: 'button', class: 'secondary', 'data-edit-menu': menu.name }, 'Change');
  edit.addEventListener('click', () => startEditingMenu(menu));
  const remove = el('button', { type: 'button', class: 'secondary', 'data-remove-menu': menu.name }, 'Remove');
  remove.addEventListener('click', () => removeMenu(menu, remove));
  const greeting = menu.has_greeting ? `Its own greeting, ${formatDuration(menu.greeting_ms)}` : 'The default prompt';
  const timeout = menu.timeout ? actionWords(menu.timeout) : 'the menu again, then the call ends';
  return el('section', { class: 'panel receptionist-menu', 'data-menu': menu.name },
    el('h3', {}, menu.name),
    el('p', { class: 'muted greeting-state' }, greeting),
    keys.length ? el('ul', { class: 'menu-keys' }, keys) : el('p', { class: 'muted' }, 'No keys yet.'),
    el('p', { class: 'menu-timeout' }, `No key within ${menu.timeout_seconds} s: ${timeout}`),
    greetingForm(menu),
    phoneRecording(menu),
    el('div', { class: 'actions' }, edit, remove));
}

function deskBody(form) {
  const did = form.elements.did.value.trim();
  return {
    number: form.elements.number.value.trim(),
    name: form.elements.name.value.trim(),
    did: did || null,
    open_menu: form.elements.open_menu.value,
    closed_menu: form.elements.closed_menu.value || null,
  };
}

function resetDeskForm() {
  editingDesk = null;
  $('#desk-form').reset();
  $('#desk-form-title').textContent = 'New receptionist';
  $('#desk-submit').textContent = 'Create receptionist';
  $('#desk-cancel').hidden = true;
}

function startEditingDesk(desk) {
  editingDesk = desk;
  const form = $('#desk-form');
  form.elements.number.value = desk.number;
  form.elements.name.value = desk.name;
  form.elements.did.value = desk.did || '';
  form.elements.open_menu.value = desk.open_menu;
  form.elements.closed_menu.value = desk.closed_menu || '';
  $('#desk-form-title').textContent = `Change receptionist ${desk.number}`;
  $('#desk-submit').textContent = 'Save receptionist';
  $('#desk-cancel').hidden = false;
  form.scrollIntoView({ block: 'nearest' });
}

async function saveDesk(form) {
  const body = deskBody(form);
  const desk = editingDesk
    ? await api('PUT', `/receptionists/${encodeURIComponent(editingDesk.id)}`, { body })
    : await api('POST', '/receptionists', { body });
  say($('#desks-status'), `Receptionist ${desk.number} ${editingDesk ? 'saved' : 'created'}.`);
  resetDeskForm();
  await loadAll();
}

async function removeDesk(desk, button) {
  button.disabled = true;
  try {
    await api('DELETE', `/receptionists/${encodeURIComponent(desk.id)}`);
    say($('#desks-status'), `Receptionist ${desk.number} removed.`);
    if (editingDesk && editingDesk.id === desk.id) resetDeskForm();
    await loadAll();
  } catch (error) {
    button.disabled = false;
    say($('#desks-status'), error.message, 'error');
  }
}

function deskRow(desk) {
  const edit = el('button', { type: 'button', class: 'secondary', 'data-edit-receptionist': desk.number }, 'Change');
  edit.addEventListener('click', () => startEditingDesk(desk));
  const remove = el('button', { type: 'button', class: 'secondary', 'data-remove-receptionist': desk.number }, 'Remove');
  remove.addEventListener('click', () => removeDesk(desk, remove));
  return el('tr', { 'data-receptionist': desk.number },
    el('td', {}, desk.number), el('td', {}, desk.name), el('td', {}, desk.did || '—'),
    el('td', { class: 'open-menu' }, menuName(desk.open_menu)),
    el('td', {}, desk.closed_menu ? menuName(desk.closed_menu) : 'the same menu'),
    el('td', {}, el('div', { class: 'actions' }, edit, remove)));
}

// The menu selects follow the menus: the receptionist's two, and each action's.
function fillMenuSelects() {
  const open = $('#desk-open-menu');
  const closed = $('#desk-closed-menu');
  const [openValue, closedValue] = [open.value, closed.value];
  replaceChildren(open, menus.length ? menus.map((m) => el('option', { value: m.id }, m.name))
    : el('option', { value: '' }, 'Create a menu first'));
  replaceChildren(closed, el('option', { value: '' }, 'The open menu, at every hour'),
    menus.map((m) => el('option', { value: m.id }, m.name)));
  if (openValue && menus.some((m) => m.id === openValue)) open.value = openValue;
  if (menus.some((m) => m.id === closedValue)) closed.value = closedValue;
  for (const controls of actionRows.values()) controls.fillMenus();
}

async function loadAll() {
  const [menuList, deskList] = await Promise.all([api('GET', '/receptionist-menus'), api('GET', '/receptionists')]);
  menus = menuList.items;
  replaceChildren($('#menus'), menus.map(menuPanel));
  $('#menus-empty').hidden = menus.length > 0;
  fillMenuSelects();
  replaceChildren($('#receptionists tbody'), deskList.items.map(deskRow));
  $('#receptionists-empty').hidden = deskList.items.length > 0;
}

function setUpForms() {
  $('#menu-timeout').append(actionRow('timeout', 'Then', TIMEOUT_KINDS));
  $('#menu-keys').append(...KEYS.map((key) => actionRow(`keys.${key}`, `Key ${key}`, KEY_KINDS)));
  const menuForm = $('#menu-form');
  $('#menu-cancel').addEventListener('click', resetMenuForm);
  menuForm.addEventListener('submit', (event) => {
    event.preventDefault();
    submitting(menuForm, () => saveMenu(menuForm));
  });
  const deskForm = $('#desk-form');
  $('#desk-cancel').addEventListener('click', resetDeskForm);
  deskForm.addEventListener('submit', (event) => {
    event.preventDefault();
    submitting(deskForm, () => saveDesk(deskForm));
  });
}

async function main() {
  const user = await startPage();
  if (!isOfficeManager(user)) {
    pageError(new Error('Only the office managers of your company set up its receptionist.'));
    return;
  }
  setUpForms();
  try {
    await loadAll();
  } catch (error) {
    pageError(error);
  }
}

main();
