// The page an emailed one-time link opens (/confirm.html#TOKEN): it posts the token, which sits in
// the fragment so that it never reaches a server log or a Referer, to POST /confirm. A sign-up's
// link logs the person in and goes to the dashboard; a change of email's says it is done.

import { api } from './api.js';
import { $ } from './dom.js';
import { startPage } from './layout.js';

async function main() {
  await startPage({ auth: 'none' });
  const status = $('#confirm-status');
  const token = location.hash.replace(/^#/, '');
  history.replaceState(null, '', location.pathname);  // the token leaves the address bar
  if (!/^[0-9a-f]{64}$/.test(token)) {
    status.textContent = 'This link is incomplete. Copy the whole link from the email and try again.';
    return;
  }
  try {
    const answer = await api('POST', '/confirm', { body: { token } });
    if (answer && answer.csrf_token) {
      location.assign('/index.html');
      return;
    }
    status.textContent = `Your email address is now ${answer.email}. Use it to log in from now on.`;
  } catch (error) {
    status.textContent = error && error.message ? error.message : String(error);
    status.setAttribute('role', 'alert');
  }
}

main();
