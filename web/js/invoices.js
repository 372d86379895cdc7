// The invoices page, for the company's office managers: GET /invoices, one row per invoice or
// credit note, each with its payment (charged to the card on file: paid, declined with the next
// try's date, unpaid after the last; a credit note's refund to the card) and a link to its PDF (GET /invoices/{id}.pdf). Values are set
// as text only.

import { api } from './api.js';
import { $, el, formatDate, replaceChildren } from './dom.js';
import { isOfficeManager, pageError, startPage } from './layout.js';

// A credit note's refund in words: a note on a paid invoice is refunded to the card; one issued
// before the charge was taken off it.
function refund(note) {
  const r = note.refund;
  if (!r) return '';
  switch (r.status) {
    case 'succeeded': return `Refunded ${r.amount} ${note.currency} to the card`;
    case 'pending': return `Refund of ${r.amount} ${note.currency} under way`;
    case 'failed': return 'Refund not made yet; we will contact you';
    default: return 'Taken off the charge';
  }
}

// An invoice's payment in words; a credit note's is its refund.
function payment(invoice) {
  const p = invoice.payment;
  if (!p) return refund(invoice);
  switch (p.status) {
    case 'paid': return p.refunded_minor > 0 ? `Paid; ${p.refunded} ${invoice.currency} refunded` : 'Paid';
    case 'declined': return `Card declined; next try ${formatDate(p.next_attempt_at)}`;
    case 'failed': return `Not charged (${p.message}); next try ${formatDate(p.next_attempt_at)}`;
    case 'unpaid': return 'Unpaid: the card was declined on every try';
    case 'pending': return 'Being charged';
    default: return 'Due';
  }
}

function row(invoice) {
  const money = (amount) => el('td', { class: 'num' }, `${amount} ${invoice.currency}`);
  const pdf = el('a', { href: `/api/v1/invoices/${encodeURIComponent(invoice.id)}.pdf`,
    download: `${invoice.number_text}.pdf` }, 'Download');
  return el('tr', {},
    el('td', {}, invoice.number_text),
    el('td', {}, invoice.period),
    el('td', {}, formatDate(invoice.issued_at)),
    money(invoice.subtotal), money(invoice.tax), money(invoice.total),
    el('td', { class: `payment payment-${invoice.payment ? invoice.payment.status : 'none'}` }, payment(invoice)),
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
