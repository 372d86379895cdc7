// The call log and the SMS log (one module; the page's filter form says which through
// data-records="calls|messages"). Filters: date range (whole UTC days), direction, type; pages
// follow the API's cursor ("Next page", back to "First page"). A caller who withheld their number
// is shown as "withheld": the API never sends their number.

import { api } from './api.js';
import { $, el, formatDuration, formatTime, replaceChildren, showError, clearErrors } from './dom.js';
import { startPage } from './layout.js';
import { outcomeWords } from './words.js';

const PAGE_SIZE = 25;
const DIRECTION_NAMES = { inbound: 'Inbound', outbound: 'Outbound', internal: 'Internal' };

// The API's `to` is exclusive; the form's is the last day shown, so ask for the day after it.
function dayAfter(isoDate) {
  const date = new Date(`${isoDate}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + 1);
  return date.toISOString().slice(0, 10);
}

function filterQuery(form) {
  const query = {};
  const from = form.elements.from.value;
  const to = form.elements.to.value;
  if (from) query.from = from;
  if (to) query.to = dayAfter(to);
  if (form.elements.direction.value) query.direction = form.elements.direction.value;
  if (form.elements.type && !form.elements.type.disabled && form.elements.type.value) query.type = form.elements.type.value;
  return query;
}

function party(record, which) {
  if (which === 'source' && record.source_withheld) return el('em', {}, 'withheld');
  const value = record[which];
  return value === null || value === undefined || value === '' ? '—' : value;
}

// Whether the call was private on the wire, leg by leg (TLS and SRTP): known once answered.
function encryptionWords(record) {
  const caller = record.caller_encrypted, callee = record.callee_encrypted;
  if (caller === undefined && callee === undefined) return '—';
  if (caller && callee) return 'Both sides';
  if (caller) return 'Caller\'s side only';
  if (callee) return 'Answering side only';
  return 'No';
}

function row(record) {
  return el('tr', { 'data-id': record.id },
    el('td', {}, formatTime(record.started_at)),
    el('td', {}, DIRECTION_NAMES[record.direction] || record.direction),
    el('td', { class: 'party-source' }, party(record, 'source')),
    el('td', { class: 'party-destination' }, party(record, 'destination')),
    el('td', { class: 'num' }, record.answered_at ? formatDuration(record.duration_ms) : '—'),
    el('td', {}, outcomeWords(record.outcome)),
    ...($('#records th.encrypted') ? [el('td', { class: 'encrypted' }, encryptionWords(record))] : []),
    // Exact as rated (an amount of the deck's currency, up to six decimals); none when not rated.
    el('td', { class: 'num cost' }, record.cost ? `${record.cost} ${record.cost_currency || ''}`.trim() : '—'));
}

class RecordPager {
  constructor(form, path) {
    this.form = form;
    this.path = path;
    this.cursors = [null];  // the cursor of each page seen so far (its count is the page number)
    this.next = null;
  }

  async show(cursor) {
    clearErrors(this.form);
    const status = $('#page-status');
    status.textContent = 'Loading…';
    try {
      const page = await api('GET', this.path, { query: { ...filterQuery(this.form), limit: PAGE_SIZE, cursor } });
      const items = (page && page.items) || [];
      replaceChildren($('#records tbody'), items.map(row));
      $('#records-empty').hidden = items.length > 0;
      this.next = (page && page.next_cursor) || null;
      status.textContent = `Page ${this.cursors.length}${items.length ? `, ${items.length} shown` : ''}`;
    } catch (error) {
      status.textContent = '';
      showError(this.form, error);
    }
    $('#next-page').disabled = !this.next;
    $('#first-page').disabled = this.cursors.length <= 1;
  }

  first() {
    this.cursors = [null];
    return this.show(null);
  }

  forward() {
    if (!this.next) return undefined;
    this.cursors.push(this.next);
    return this.show(this.next);
  }
}

async function main() {
  await startPage();
  const form = $('#filters');
  const pager = new RecordPager(form, form.dataset.records === 'messages' ? '/messages' : '/calls');
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    pager.first();
  });
  $('#first-page').addEventListener('click', () => pager.first());
  $('#next-page').addEventListener('click', () => pager.forward());
  pager.first();
}

main();
