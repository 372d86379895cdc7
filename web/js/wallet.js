// The international calls page, for the company's office managers: GET /wallet (balance, today's
// spend, daily cap) and GET /wallet/ledger (every balance change, newest first), and the top-up
// form (POST /wallet/top-ups, charged to the card on file). Values are set as text only.

import { api } from './api.js';
import { $, el, formatDate, formValues, replaceChildren, say, submitting } from './dom.js';
import { isOfficeManager, pageError, startPage } from './layout.js';

const KINDS = { top_up: 'Top-up', call: 'Call abroad', adjustment: 'Adjustment' };

function row(entry) {
  const what = entry.kind === 'adjustment' && entry.note ? `${KINDS[entry.kind]}: ${entry.note}` : KINDS[entry.kind];
  return el('tr', {},
    el('td', {}, formatDate(entry.at)),
    el('td', {}, what || entry.kind),
    el('td', { class: 'num' }, `${entry.amount} ${entry.currency}`),
    el('td', { class: 'num' }, `${entry.balance_after} ${entry.currency}`));
}

async function show() {
  const [wallet, ledger] = await Promise.all([api('GET', '/wallet'), api('GET', '/wallet/ledger')]);
  const money = (amount) => (wallet.currency ? `${amount} ${wallet.currency}` : amount);
  $('#wallet-balance').textContent = money(wallet.balance);
  $('#wallet-spent').textContent = money(wallet.spent_today);
  $('#wallet-cap').textContent = wallet.daily_cap === null ? 'None' : money(wallet.daily_cap);
  if (wallet.currency) $('#top-up-currency').textContent = wallet.currency;
  replaceChildren($('#ledger tbody'), ledger.items.map(row));
  $('#ledger-empty').hidden = ledger.items.length > 0;
}

// One key per top-up the person means: a second click, or a retry after no answer, sends the same
// key, so the card is charged once. A new key only once the top-up has a final answer.
function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function setUpTopUp(form) {
  let key = newKey();
  let lastAmount = null;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submitting(form, async () => {
      const { amount } = formValues(form);
      if (lastAmount !== null && amount !== lastAmount) key = newKey();  // another top-up
      lastAmount = amount;
      try {
        const answer = await api('POST', '/wallet/top-ups', { body: { amount }, headers: { 'Idempotency-Key': key } });
        if (answer.top_up.state === 'pending') {
          say(form, 'The card payment has not been confirmed yet. Press Top up again in a moment; you will not be charged twice.', 'error');
          return;
        }
        key = newKey();
        lastAmount = null;
        form.reset();
        say(form, `Added ${answer.top_up.amount} ${answer.top_up.currency}. The balance is now ${answer.wallet.balance} ${answer.wallet.currency}.`);
        await show();
      } catch (error) {
        // No answer, or the service was busy: the same key again is safe. Any other answer is final.
        if (error.status !== 0 && error.status < 500) {
          key = newKey();
          lastAmount = null;
        }
        // About the card, not a field of this form: said under it in the API's words.
        if (error.field === 'card') {
          say(form, error.message, 'error');
          return;
        }
        throw error;
      }
    });
  });
}

async function main() {
  const user = await startPage();
  if (!isOfficeManager(user)) {
    pageError(new Error('Only the office managers of your company see its international balance.'));
    return;
  }
  setUpTopUp($('#top-up-form'));
  try {
    await show();
  } catch (error) {
    pageError(error);
  }
}

main();
