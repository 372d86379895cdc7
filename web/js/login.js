// Log in with email and password; back to the page that sent the visitor here.

import { api, safeNext } from './api.js';
import { $, formValues, submitting } from './dom.js';
import { startPage } from './layout.js';

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
}

main();
