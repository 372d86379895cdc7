// The page a password reset's emailed link opens (/reset.html#TOKEN): the token, kept out of logs
// and Referers in the fragment, goes with the new password to POST /password-reset/complete, which
// ends every session of the login. Then the person logs in with the new password.

import { api, ApiError } from './api.js';
import { $, el, formValues, submitting, showError } from './dom.js';
import { startPage } from './layout.js';

async function main() {
  await startPage({ auth: 'none' });
  const form = $('#reset-form');
  const token = location.hash.replace(/^#/, '');
  history.replaceState(null, '', location.pathname);  // the token leaves the address bar
  if (!/^[0-9a-f]{64}$/.test(token)) {
    showError(form, new ApiError(0, 'This link is incomplete. Copy the whole link from the email and try again.'));
    return;
  }
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submitting(form, async () => {
      await api('POST', '/password-reset/complete', { body: { token, password: formValues(form).password } });
      form.replaceWith(el('section', { class: 'panel narrow', id: 'reset-done', role: 'status' },
        el('p', {}, 'Your password is changed, and every other session of your login has ended.'),
        el('p', {}, el('a', { href: '/login.html', id: 'reset-login' }, 'Log in'))));
    });
  });
}

main();
