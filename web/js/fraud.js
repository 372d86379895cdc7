// The fraud alerts page, for a company's office managers (their company's alerts) and the
// operator's fraud staff (every company's): GET /fraud/alerts, one row per alert, and a Lift
// button on each open one (POST /fraud/alerts/{id}/lift). Values are set as text only.

import { api } from './api.js';
import { $, el, formatTime, replaceChildren, say } from './dom.js';
import { isOfficeManager, isStaff, pageError, startPage } from './layout.js';

const ACTIONS = { alert: 'Alert only', throttle: 'Calls limited', suspend: 'Line suspended' };

function figuresText(figures) {
  return Object.entries(figures).map(([name, value]) => `${name.replaceAll('_', ' ')}: ${value}`).join(', ');
}

function row(alert) {
  const lift = el('button', { type: 'button', class: 'secondary', 'data-lift': alert.id }, 'Lift');
  lift.hidden = alert.state !== 'open';
  lift.addEventListener('click', () => liftAlert(alert, lift));
  return el('tr', { 'data-alert': alert.id, 'data-state': alert.state },
    el('td', {}, alert.line_number || alert.line_id),
    el('td', {}, alert.rule_words),
    el('td', {}, figuresText(alert.figures)),
    el('td', {}, ACTIONS[alert.action] || alert.action),
    el('td', {}, formatTime(alert.opened_at)),
    el('td', { class: 'state' }, alert.state === 'open' ? 'Open' : `Lifted ${formatTime(alert.lifted_at)}`),
    el('td', {}, lift));
}

async function liftAlert(alert, button) {
  button.disabled = true;
  try {
    await api('POST', `/fraud/alerts/${encodeURIComponent(alert.id)}/lift`);
    say($('#alerts-status'), `Alert on line ${alert.line_number || alert.line_id} lifted.`);
    await load();
  } catch (error) {
    button.disabled = false;
    say($('#alerts-status'), error.message, 'error');
  }
}

async function load() {
  const { items } = await api('GET', '/fraud/alerts');
  replaceChildren($('#alerts tbody'), items.map(row));
  $('#alerts-empty').hidden = items.length > 0;
}

async function main() {
  const user = await startPage();
  if (!isOfficeManager(user) && !isStaff(user)) {
    pageError(new Error('Only the office managers of your company see its fraud alerts.'));
    return;
  }
  try {
    await load();
  } catch (error) {
    pageError(error);
  }
}

main();
