// The operator console for staff (P6): nothing personal loads until a purpose is chosen; the
// purpose goes with every call (the server refuses one the role may not use, naming it, and
// records each view in the audit chain). Shows the audit chain's status, companies and members
// with the fields that purpose allows, for purpose fraud the SIP bans, which staff can lift, and for
// purpose legal the rights-request queue (operator-requests.js).

import { api } from './api.js';
import { $, el, formatTime, replaceChildren, say, submitting } from './dom.js';
import { isStaff, startPage } from './layout.js';
import { showQueue } from './operator-requests.js';

function cell(value) {
  if (value === null || value === undefined || value === '') return '—';
  if (Array.isArray(value)) return value.join(', ');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function renderAudit(status) {
  const line = $('#audit-status');
  line.className = status.ok ? 'form-ok' : 'notice-error';
  line.textContent = status.ok
    ? `Intact: ${status.entries} entries verified.`
    : `Broken at entry ${status.first_bad_seq ?? '?'}: ${status.problem || 'verification failed'} (${status.entries} entries).`;
}

function renderCompanies(list) {
  replaceChildren($('#companies tbody'), (list.items || []).map((c) => el('tr', {},
    el('td', {}, cell(c.name)), el('td', {}, cell(c.region)), el('td', {}, cell(c.country)),
    el('td', {}, formatTime(c.created_at)), el('td', {}, cell(c.id)))));
}

// A member arrives as {id, company_id, created_at, fields: {...the purpose's fields}}; one row each.
function flatten(member) {
  const { fields, ...rest } = member;
  const row = { id: rest.id, ...(fields && typeof fields === 'object' ? fields : {}), ...rest };
  if (row.created_at) row.created_at = formatTime(row.created_at);
  return row;
}

function renderMembers(list) {
  const items = (list.items || []).map(flatten);
  const columns = [...new Set(items.flatMap((m) => Object.keys(m)))];
  replaceChildren($('#members thead tr'), columns.map((c) => el('th', { scope: 'col' }, c.replace(/_/g, ' '))));
  replaceChildren($('#members tbody'), items.map((m) => el('tr', {}, columns.map((c) => el('td', {}, cell(m[c]))))));
  $('#members-note').textContent = `${items.length} members; fields allowed for ${list.purpose}.`;
}

// Page views are counts per day and page, with no cookie or address behind them (P8).
function renderPageViews(list) {
  const items = list.items || [];
  replaceChildren($('#page-views tbody'), items.map((v) => el('tr', {},
    el('td', {}, cell(v.day)), el('td', {}, cell(v.page)), el('td', { class: 'num' }, cell(v.views)))));
  $('#page-views-empty').hidden = items.length > 0;
}

// SIP bans are for purpose fraud only (the server refuses any other); `address` narrows the list to
// one source and shows its ban id even when it is not banned.
let bansPurpose = null;

async function loadBans(address) {
  const list = await api('GET', '/admin/sip-bans', { purpose: bansPurpose, query: { address } });
  const items = list.items || [];
  replaceChildren($('#bans tbody'), items.map((b) => el('tr', {},
    el('td', {}, el('code', {}, b.id)), el('td', {}, formatTime(b.banned_at)), el('td', {}, formatTime(b.banned_until)),
    el('td', { class: 'num' }, cell(b.strikes)), el('td', {}, b.state === 'lifted' ? `lifted ${formatTime(b.lifted_at)}` : b.state),
    el('td', {}, b.state === 'active' ? liftButton(b.id) : ''))));
  const empty = $('#bans-empty');
  const inForce = items.some((b) => b.state === 'active');
  empty.hidden = address ? inForce : items.length > 0;
  empty.textContent = address ? `${address} is not banned (its ban id is ${list.id}).` : 'No ban in force.';
}

function liftButton(id) {
  const button = el('button', { type: 'button', class: 'secondary', 'aria-label': `Lift ban ${id}` }, 'Lift');
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      await api('DELETE', `/admin/sip-bans/${id}`, { purpose: bansPurpose });
      say($('#bans-title').parentElement, `Ban ${id} lifted on every node.`);
      await loadBans($('#ban-address').value.trim());
    } catch (error) {
      say($('#bans-title').parentElement, error.message, 'error');
      button.disabled = false;
    }
  });
  return button;
}

async function showBans(purpose) {
  const lookup = $('#ban-lookup');
  bansPurpose = purpose === 'fraud' ? purpose : null;
  lookup.hidden = !bansPurpose;
  if (!bansPurpose) {
    replaceChildren($('#bans tbody'));
    $('#bans-empty').hidden = true;
    return;
  }
  await loadBans('');
}

async function load(purpose) {
  const [audit, companies, members, views] = await Promise.all([
    api('GET', '/admin/audit', { purpose }),
    api('GET', '/admin/companies', { purpose }),
    api('GET', '/admin/members', { purpose }),
    api('GET', '/admin/page-views'),
  ]);
  renderAudit(audit);
  renderCompanies(companies);
  renderMembers(members);
  renderPageViews(views);
  await showBans(purpose);
  await showQueue(purpose);
}

async function main() {
  const user = await startPage();
  if (!isStaff(user)) {
    replaceChildren($('main'), el('h1', {}, 'Operator console'),
      el('p', { class: 'notice-error', role: 'alert' }, 'This console is for the operator\'s staff only.'));
    return;
  }
  const lookup = $('#ban-lookup');
  lookup.hidden = true;
  lookup.addEventListener('submit', (event) => {
    event.preventDefault();
    submitting(lookup, () => loadBans(lookup.elements.address.value.trim()));
  });
  const form = $('#purpose-form');
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submitting(form, async () => {
      const purpose = form.elements.purpose.value;
      if (!purpose) {
        const error = new Error('Choose why you need this data before it loads.');
        error.field = 'purpose';
        throw error;
      }
      await load(purpose);
    });
  });
}

main();
