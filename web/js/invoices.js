// The invoices page, for the company's office managers: GET /invoices, one row per invoice or
// credit note, each with a link to its PDF (GET /invoices/{id}.pdf). Values are set as text only.

import { api } from './api.js';
import { $, el, formatDate, replaceChildren } from './dom.js';
import { isOfficeManager, pageError, startPage } from './layout.js';

function row(invoice) {
  const money = (amount) => el('td', { class: 'num' }, `${amount} ${invoice.currency}`);
  const pdf = el('a', { href: `/api/v1/invoices/${encodeURIComponent(invoice.id)}.pdf`,
    download: `${invoice.number_text}.pdf` }, 'Download');
  return el('tr', {},
    el('td', {}, invoice.number_text),
    el('td', {}, invoice.period),
    el('td', {}, formatDate(invoice.issued_at)),
    money(invoice.subtotal), money(invoice.tax), money(invoice.total),
    el('td', {}, pdf));
}

async function main() {
  const user = await startPage();
  if (!isOfficeManager(user)) {
    pageError(new Error('Only the office managers of your company see its invoices.'));
    return;
  }
  try {
    const { items } = await api('GET', '/invoices');
    replaceChildren($('#invoices tbody'), items.map(row));
    $('#invoices-empty').hidden = items.length > 0;
  } catch (error) {
    pageError(error);
  }
}

main();
