// Sign-up (P1-P3). The plan and its price are shown before the card is asked for. Every field is
// checked on the page first and every mistake shown at once; what only the server can judge (a
// phone number in the company's country, say) comes back the same way, all fields together.
// The card goes from this page straight to the payment provider's tokenizer (a separate origin
// named by GET /portal-config); privox receives only the token. privox then emails a one-time
// link to the address (confirm.html finishes the sign-up), and says the same whether the address
// already has an account or not, so the page can only tell the person to read their mail. The
// card inputs have no name attribute, so formValues() never picks them up, and they are read only
// to build the provider's request.

import { api, ApiError, fieldErrors } from './api.js';
import { cardErrors, readCard, tokenize } from './card.js';
import { $, el, formValues, submitting, showError } from './dom.js';
import { startPage } from './layout.js';
import { showPlan } from './plan.js';

const MIN_PASSWORD = 12;
const ADULT_YEARS = 18;

function ageOn(birthDate, today) {
  const [y, m, d] = birthDate.split('-').map(Number);
  let age = today.getFullYear() - y;
  if (today.getMonth() + 1 < m || (today.getMonth() + 1 === m && today.getDate() < d)) age -= 1;
  return age;
}

// Each mistake in what the applicant typed, addressed to them, in the form's order.
function typedErrors(form, values) {
  const errors = [];
  const need = (field, message) => {
    if (!values[field]) errors.push({ field, message });
    return Boolean(values[field]);
  };
  need('name', 'Enter your full name.');
  if (need('email', 'Enter your email address.') && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(values.email))
    errors.push({ field: 'email', message: 'Enter your email address in the form name@example.com.' });
  if (need('phone', 'Enter your phone number, e.g. +44 20 7946 0000.') && !/^\+?[\d\s().-]{6,}$/.test(values.phone))
    errors.push({ field: 'phone', message: 'Enter your phone number in digits, e.g. +44 20 7946 0000.' });
  if (need('birth_date', 'Enter your date of birth.') && ageOn(values.birth_date, new Date()) < ADULT_YEARS)
    errors.push({ field: 'birth_date', message: `You must be ${ADULT_YEARS} or over to hold an account.` });
  need('company_name', 'Enter your company\'s name.');
  need('address', 'Enter your company\'s postal address.');
  errors.push(...cardErrors(form));
  if ((values.password || '').length < MIN_PASSWORD)
    errors.push({ field: 'password', message: `Choose a password of at least ${MIN_PASSWORD} characters.` });
  return errors;
}

async function signUp(form, config) {
  const values = formValues(form);
  const mistakes = fieldErrors(typedErrors(form, values));
  if (mistakes) throw mistakes;
  if (!config || !config.payment_provider_url)
    throw new ApiError(0, 'The payment provider is not configured; please contact the operator.');
  const token = await tokenize(config.payment_provider_url, readCard(form));
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
    showPlan(config);
  } catch (error) {
    showError(form, error);
  }
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submitting(form, () => signUp(form, config));
  });
}

main();
