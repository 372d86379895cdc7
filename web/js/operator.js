// The operator console for staff (P6): nothing personal loads until a purpose is chosen; the
// purpose goes with every call (the server refuses one the role may not use, naming it, and
// records each view in the audit chain). Shows the audit chain's status, companies and members
// with the fields that purpose allows.

import { api } from './api.js';
import { $, el, formatTime, replaceChildren, submitting } from './dom.js';
import { isStaff, startPage } from './layout.js';

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
}

async function main() {
  const user = await startPage();
  if (!isStaff(user)) {
    replaceChildren($('main'), el('h1', {}, 'Operator console'),
      el('p', { class: 'notice-error', role: 'alert' }, 'This console is for the operator\'s staff only.'));
    return;
  }
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
