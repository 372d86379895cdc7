// The dashboard: who is signed in, their company, and shortcuts. Staff have no member data of
// their own here and go to the operator console.

import { $ } from './dom.js';
import { isStaff, pageError, startPage } from './layout.js';

const ROLE_NAMES = {
  member: 'Member',
  office_manager: 'Office manager',
};

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
  } catch (error) {
    pageError(error);
  }
}

main();
