// The dashboard: today's status of the caller's lines (an office manager's: the company's), who is
// signed in, their company, and shortcuts. "Today" starts at midnight where the browser is. Staff
// have no member data of their own here and go to the operator console.

import { api } from './api.js';
import { $ } from './dom.js';
import { isStaff, pageError, startPage } from './layout.js';

const ROLE_NAMES = {
  member: 'Member',
  office_manager: 'Office manager',
};

function startOfToday() {
  const midnight = new Date();
  midnight.setHours(0, 0, 0, 0);
  return Math.floor(midnight.getTime() / 1000);
}

async function showStatus() {
  const status = await api('GET', '/dashboard', { query: { since: startOfToday() } });
  $('#status-lines').textContent = String(status.lines);
  $('#status-lines-label').textContent = status.scope === 'company'
    ? (status.lines === 1 ? 'line in your company' : 'lines in your company')
    : (status.lines === 1 ? 'line of yours' : 'lines of yours');
  $('#status-registered').textContent = String(status.registered_lines);
  $('#status-calls').textContent = String(status.calls.total);
  $('#status-answered').textContent = String(status.calls.answered);
  $('#status-missed').textContent = String(status.calls.not_answered);
  const ringing = status.calls.in_progress ? ` ${status.calls.in_progress} ringing now.` : '';
  $('#status-note').textContent = status.lines === 0
    ? 'You have no lines yet. An office manager adds them on the Extensions page.'
    : `${status.devices === 1 ? '1 device' : `${status.devices} devices`} registered.${ringing}`;
}

async function main() {
  const user = await startPage();
  if (isStaff(user)) {
    location.replace('/operator.html');
    return;
  }
  try {
    const fields = user.fields || {};
    $('#who-name').textContent = fields.name || '—';
    $('#who-email').textContent = fields.email || '—';
    $('#who-company').textContent = user.company_name || '—';
    $('#who-role').textContent = ROLE_NAMES[user.role] || user.role;
    await showStatus();
  } catch (error) {
    pageError(error);
  }
}

main();
