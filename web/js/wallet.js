// The international calls page, for the company's office managers: GET /wallet (balance, today's
// spend, daily cap) and GET /wallet/ledger (every balance change, newest first). Values are set as
// text only.

import { api } from './api.js';
import { $, el, formatDate, replaceChildren } from './dom.js';
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

async function main() {
  const user = await startPage();
  if (!isOfficeManager(user)) {
    pageError(new Error('Only the office managers of your company see its international balance.'));
    return;
  }
  try {
    const [wallet, ledger] = await Promise.all([api('GET', '/wallet'), api('GET', '/wallet/ledger')]);
    const money = (amount) => (wallet.currency ? `${amount} ${wallet.currency}` : amount);
    $('#wallet-balance').textContent = money(wallet.balance);
    $('#wallet-spent').textContent = money(wallet.spent_today);
    $('#wallet-cap').textContent = wallet.daily_cap === null ? 'None' : money(wallet.daily_cap);
    replaceChildren($('#ledger tbody'), ledger.items.map(row));
    $('#ledger-empty').hidden = ledger.items.length > 0;
  } catch (error) {
    pageError(error);
  }
}

main();
