// The payment card, from the page straight to the payment provider's tokenizer (a separate origin
// named by GET /portal-config): privox receives only the token (P3). Sign-up and an invitation's
// page share it. The card inputs have no name attribute, so formValues() never picks them up.

import { ApiError, fieldErrors } from './api.js';
import { $ } from './dom.js';

// The tokenizer names its fields number, exp_month, exp_year and cvc; the page's inputs answer to
// number, expiry and cvc through data-field.
const PROVIDER_FIELDS = { number: 'number', exp_month: 'expiry', exp_year: 'expiry', expiry: 'expiry', cvc: 'cvc' };

// What is wrong with the card as typed, [{field, message}], every mistake at once; empty when the
// provider may be asked.
export function cardErrors(form) {
  const card = typedCard(form);
  const errors = [];
  if (!/^\d{12,19}$/.test(card.number)) errors.push({ field: 'number', message: 'Enter your card number: 12 to 19 digits.' });
  if (!card.expiry) errors.push({ field: 'expiry', message: 'Enter your card\'s expiry as MM/YY, e.g. 04/29.' });
  if (!/^\d{3,4}$/.test(card.cvc)) errors.push({ field: 'cvc', message: 'Enter the 3 or 4 digit security code on your card.' });
  return errors;
}

// The card for the provider's request; throws an ApiError naming every field at fault.
export function readCard(form) {
  const errors = cardErrors(form);
  if (errors.length) throw fieldErrors(errors);
  const { number, expiry, cvc } = typedCard(form);
  return { number, exp_month: expiry.month, exp_year: expiry.year, cvc };
}

function typedCard(form) {
  const number = $('#card-number', form).value.replace(/[\s-]/g, '');
  const match = /^(\d{1,2})\s*\/\s*(\d{2}|\d{4})$/.exec($('#card-expiry', form).value.trim());
  const month = match ? Number(match[1]) : 0;
  const expiry = month >= 1 && month <= 12
    ? { month, year: match[2].length === 2 ? 2000 + Number(match[2]) : Number(match[2]) }
    : null;
  return { number, expiry, cvc: $('#card-cvc', form).value.trim() };
}

// POST {provider}/v1/tokens; resolves with the provider's answer {token, brand, last4, expiry}.
export async function tokenize(providerUrl, card) {
  let response;
  try {
    response = await fetch(`${providerUrl.replace(/\/+$/, '')}/v1/tokens`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(card),
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, 'The payment provider cannot be reached; try again in a moment.', 'number');
  }
  const body = await response.json().catch(() => null);
  if (!response.ok || !body || typeof body.token !== 'string') {
    const error = body && body.error;
    const message = (error && (error.message || error)) || 'The payment provider refused the card.';
    const field = (error && error.field) || (body && body.field);
    throw new ApiError(response.status, String(message), PROVIDER_FIELDS[field] || 'number');
  }
  return body;
}

