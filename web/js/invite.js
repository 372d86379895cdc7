// The page an invitation's emailed link opens (/invite.html#TOKEN). The token sits in the fragment,
// so it never reaches a server log or a Referer; the invitee's own password, mandatory fields and
// marketing choices go with it to POST /invites/accept, her card straight to the payment
// provider (card.js). Once she has joined, she logs in.

import { api, ApiError } from './api.js';
import { readCard, tokenize } from './card.js';
import { $, el, formValues, submitting, showError } from './dom.js';
import { startPage } from './layout.js';

async function join(form, token, config) {
  const values = formValues(form);
  const card = readCard(form);
  if (!config || !config.payment_provider_url)
    throw new ApiError(0, 'The payment provider is not configured; please contact the operator.');
  const paid = await tokenize(config.payment_provider_url, card);
  await api('POST', '/invites/accept', { body: { ...values, token, payment_token: paid.token } });
  form.replaceWith(el('section', { class: 'panel', id: 'invite-done', role: 'status' },
    el('h2', {}, 'Welcome'),
    el('p', {}, 'You have joined your company on privox. Log in with your email and the password you chose.'),
    el('p', {}, el('a', { href: '/login.html', id: 'invite-login' }, 'Log in'))));
}

async function main() {
  await startPage({ auth: 'none' });
  const form = $('#invite-form');
  const token = location.hash.replace(/^#/, '');
  history.replaceState(null, '', location.pathname);  // the token leaves the address bar
  if (!/^[0-9a-f]{64}$/.test(token)) {
    showError(form, new ApiError(0, 'This link is incomplete. Copy the whole link from the email and try again.'));
    return;
  }
  let config = null;
  try {
    config = await api('GET', '/portal-config');
  } catch (error) {
    showError(form, error);
  }
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submitting(form, () => join(form, token, config));
  });
}

main();
