// Log in with email and password; back to the page that sent the visitor here. "Forgot password?"
// asks for an emailed reset link, and the answer is the same whether or not the address has a login.

import { api, safeNext } from './api.js';
import { $, formValues, say, submitting } from './dom.js';
import { startPage } from './layout.js';

function forgotten() {
  const form = $('#forgot-form');
  $('#forgot-open').addEventListener('click', () => {
    form.hidden = false;
    $('#forgot-email').value = $('#email').value;
    $('#forgot-email').focus();
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submitting(form, async () => {
      const answer = await api('POST', '/password-reset', { body: formValues(form) });
      say(form, (answer && answer.message) || 'We have sent a message to this address.');
    });
  });
}

async function main() {
  await startPage({ auth: 'none' });
  const form = $('#login-form');
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submitting(form, async () => {
      const session = await api('POST', '/session', { body: formValues(form) });
      const fallback = session && session.role && session.role.startsWith('staff') ? '/operator.html' : '/index.html';
      const next = new URLSearchParams(location.search).get('next');
      location.assign(next ? safeNext(next) : fallback);
    });
  });
  forgotten();
}

main();
