// People: the office manager's view of the company's members and their roles, the invitations not
// yet accepted, and the invitation form. A role change the server refuses (the company's last
// office manager) is shown in the server's words.

import { api } from './api.js';
import { $, el, formValues, formatTime, replaceChildren, say, submitting } from './dom.js';
import { isOfficeManager, pageError, startPage } from './layout.js';

const ROLE_NAMES = { office_manager: 'Office manager', member: 'Member' };

async function act(button, work) {
  button.disabled = true;
  try {
    await work();
    await load();
  } catch (error) {
    const message = error && error.message ? error.message : String(error);
    say($('#role-status'), message.charAt(0).toUpperCase() + message.slice(1), 'error');
  } finally {
    button.disabled = false;
  }
}

function setRole(person, role, button) {
  return act(button, async () => {
    await api('PUT', `/people/${encodeURIComponent(person.id)}/role`, { body: { role } });
    say($('#role-status'), `${person.name} is now ${ROLE_NAMES[role].toLowerCase()}.`);
  });
}

function personRow(person) {
  const target = person.role === 'office_manager' ? 'member' : 'office_manager';
  const action = person.role
    ? el('button', { type: 'button', class: 'secondary', 'data-role-to': target,
      onclick: (event) => setRole(person, target, event.currentTarget) },
    target === 'member' ? 'Make member' : 'Make office manager')
    : '—';
  return el('tr', { 'data-email': person.email },
    el('td', {}, person.name),
    el('td', {}, person.email),
    el('td', { class: 'role' }, ROLE_NAMES[person.role] || 'No login'),
    el('td', {}, action));
}

function inviteRow(invite) {
  const resend = el('button', { type: 'button', class: 'secondary', 'data-resend': invite.email,
    onclick: (event) => act(event.currentTarget, async () => {
      await api('POST', `/invites/${encodeURIComponent(invite.id)}/resend`);
      say($('#role-status'), `The invitation to ${invite.email} was sent again.`);
    }) }, 'Send again');
  const revoke = el('button', { type: 'button', class: 'secondary', 'data-revoke': invite.email,
    onclick: (event) => act(event.currentTarget, async () => {
      await api('DELETE', `/invites/${encodeURIComponent(invite.id)}`);
      say($('#role-status'), `The invitation to ${invite.email} was revoked.`);
    }) }, 'Revoke');
  return el('tr', { 'data-email': invite.email },
    el('td', {}, invite.email),
    el('td', {}, formatTime(invite.created_at)),
    el('td', {}, formatTime(invite.expires_at)),
    el('td', {}, resend, ' ', revoke));
}

async function load() {
  try {
    const list = await api('GET', '/people');
    replaceChildren($('#people tbody'), (list.people || []).map(personRow));
    const invites = list.invites || [];
    replaceChildren($('#invites tbody'), invites.map(inviteRow));
    $('#invites-empty').hidden = invites.length > 0;
  } catch (error) {
    pageError(error);
  }
}

async function invite(form) {
  const { email } = formValues(form);
  const answer = await api('POST', '/invites', { body: { email } });
  form.reset();
  say(form, (answer && answer.message) || 'We have sent the invitation.');
  await load();
}

async function main() {
  const user = await startPage();
  if (!isOfficeManager(user)) {
    pageError(new Error('Only the office managers of your company manage its people.'));
    $('#invite-people').hidden = true;
    return;
  }
  const form = $('#invite-form');
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submitting(form, () => invite(form));
  });
  await load();
}

main();
