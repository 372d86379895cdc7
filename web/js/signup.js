// Sign-up (P1-P3). The card goes from this page straight to the payment provider's tokenizer (a
// separate origin named by GET /portal-config); privox receives only the token. privox then emails
// a one-time link to the address (confirm.html finishes the sign-up), and says the same whether the
// address already has an account or not, so the page can only tell the person to read their mail. The card inputs
// have no name attribute, so formValues() never picks them up, and they are read only to build
// the provider's request.

import { api, ApiError } from './api.js';
import { readCard, tokenize } from './card.js';
import { $, el, formValues, submitting, showError } from './dom.js';
import { startPage } from './layout.js';

async function signUp(form, config) {
  const values = formValues(form);
  const card = readCard(form);
  if (!config || !config.payment_provider_url)
    throw new ApiError(0, 'The payment provider is not configured; please contact the operator.');
  const token = await tokenize(config.payment_provider_url, card);
  const answer = await api('POST', '/signup', { body: { ...values, payment_token: token.token } });
  const done = el('section', { class: 'panel', id: 'signup-sent', role: 'status' },
    el('h2', {}, 'Check your email'),
    el('p', {}, (answer && answer.message) || 'We have sent a message to the address you gave.'),
    el('p', { class: 'muted' }, `It went to ${values.email}. The link in it works for 24 hours.`));
  form.replaceWith(done);
}

async function main() {
  await startPage({ auth: 'none' });
  const form = $('#signup-form');
  let config = null;
  try {
    config = await api('GET', '/portal-config');
  } catch (error) {
    showError(form, error);
  }
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submitting(form, () => signUp(form, config));
  });
}

main();
