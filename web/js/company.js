// The member's company: whether it is open, closing (and when its phone service ends) or closed.
// Its office manager closes it after typing its name, and can call the closure off until the
// service ends (POST and DELETE /api/v1/company/closure). The office manager also chooses how the
// company's phones sign in (PATCH /api/v1/company {sip_digest}: md5, sha256 or null for the
// service's default), which each line may override on the Extensions page, whether they must use
// TLS and SRTP (PATCH /api/v1/company {require_encryption}), and the time zone its
// business hours are kept in (PATCH /api/v1/company {time_zone}: an IANA name such as Europe/London),
// and the business hours and holidays themselves (GET and PUT /api/v1/company/hours: each weekday's
// intervals, or no week at all, and the holidays by date), which the receptionist and the fraud
// rules follow, and the company's own music on hold (/api/v1/company/music: a WAV uploaded, heard
// back from its audited route, or removed for the service's default).

import { api, apiUpload } from './api.js';
import { $, el, formValues, formatDate, formatDuration, replaceChildren, say, submitting } from './dom.js';
import { isOfficeManager, pageError, startPage } from './layout.js';

function describe(company) {
  if (company.state === 'closed') return `Closed: its phone service ended on ${formatDate(company.closed_at)}.`;
  if (company.state === 'closing')
    return `Closing: its phone service ends on ${formatDate(company.service_ends_at)}. No lines or members can be added.`;
  return 'Open.';
}

function show(company, manager) {
  $('#company-name').textContent = company.name;
  $('#company-state').textContent = describe(company);
  $('#company-state').dataset.state = company.state;
  $('#close-notice').textContent = `${company.closure_notice_days} days`;
  $('#close-company').hidden = !manager || company.state !== 'open';
  $('#reopen-company').hidden = !manager || company.state !== 'closing';
  $('#phone-sign-in').hidden = !manager || company.state === 'closed';
  $('#sip_digest').value = company.sip_digest || '';
  $('#wire-encryption').hidden = !manager || company.state === 'closed';
  $('#require_encryption').checked = company.require_encryption === true;
  $('#time-zone').hidden = !manager || company.state === 'closed';
  $('#time_zone').value = company.time_zone || 'UTC';
  $('#business-hours').hidden = !manager || company.state === 'closed';
  $('#music-on-hold').hidden = !manager || company.state === 'closed';
}

const WEEKDAYS = [['mon', 'Monday'], ['tue', 'Tuesday'], ['wed', 'Wednesday'], ['thu', 'Thursday'], ['fri', 'Friday'],
  ['sat', 'Saturday'], ['sun', 'Sunday']];

// One field per weekday, named as the API names a day's refusal (hours.tue).
function dayFields() {
  return WEEKDAYS.map(([key, day]) => el('div', { class: 'field' }, el('label', { for: `hours-${key}` }, day),
    el('input', { id: `hours-${key}`, name: `hours.${key}`, autocomplete: 'off', placeholder: 'closed' })));
}

function showHours(form, shown) {
  for (const [key] of WEEKDAYS) form.elements[`hours.${key}`].value = shown.hours ? (shown.hours[key] || []).join(', ') : '';
  form.elements.holidays.value = shown.holidays.map((h) => `${h.date} ${h.label}`.trim()).join('\n');
}

// The form as PUT /company/hours takes it: no week when every day is empty.
function hoursBody(form) {
  const week = {};
  for (const [key] of WEEKDAYS) {
    const intervals = form.elements[`hours.${key}`].value.split(',').map((part) => part.trim()).filter(Boolean);
    if (intervals.length) week[key] = intervals;
  }
  const holidays = form.elements.holidays.value.split('\n').map((line) => line.trim()).filter(Boolean).map((line) => {
    const [date, ...label] = line.split(/\s+/);
    return { date, label: label.join(' ') };
  });
  return { hours: Object.keys(week).length ? week : null, holidays };
}

async function setUpHours() {
  const form = $('#hours-form');
  replaceChildren($('#hours-days'), dayFields());
  showHours(form, await api('GET', '/company/hours'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submitting(form, async () => {
      const stored = await api('PUT', '/company/hours', { body: hoursBody(form) });
      showHours(form, stored);
      say(form, stored.hours ? 'Saved. Your business hours and holidays are in force.'
        : 'Saved. You keep no business hours; the holidays are kept.');
    });
  });
}

// The player loads the music only when asked to play (each listen is recorded).
function showMusic(music) {
  $('#music-state').textContent = music.has_music
    ? `Your own music plays, ${formatDuration(music.duration_ms)} long.`
    : 'The service\'s default music plays.';
  $('#music-state').dataset.music = music.has_music ? 'own' : 'default';
  const player = $('#music-player');
  player.hidden = !music.has_music;
  if (music.has_music) player.src = `/api/v1/company/music/audio?t=${Date.now()}`;
  else player.removeAttribute('src');
  $('#music-default').hidden = !music.has_music;
}

async function setUpMusic() {
  const form = $('#music-form');
  showMusic(await api('GET', '/company/music'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submitting(form, async () => {
      const file = $('#music-file').files[0];
      if (!file) throw Object.assign(new Error('Choose a WAV file first.'), { field: 'audio' });
      const music = await apiUpload('PUT', '/company/music', file, 'audio/wav');
      form.reset();
      showMusic(music);
      say(form, `Saved. Held callers now hear your music (${formatDuration(music.duration_ms)}).`);
    });
  });
  $('#music-default').addEventListener('click', () => submitting(form, async () => {
    showMusic(await api('DELETE', '/company/music'));
    say(form, 'Held callers hear the service\'s default music again.');
  }));
}

const DIGEST_WORDS = { md5: 'MD5', sha256: 'SHA-256 only' };

async function main() {
  const user = await startPage();
  const manager = isOfficeManager(user);
  let company;
  try {
    company = await api('GET', '/company');
  } catch (error) {
    pageError(error);
    return;
  }
  show(company, manager);
  if (manager && company.state !== 'closed') {
    setUpHours().catch(pageError);
    setUpMusic().catch(pageError);
  }
  const closeForm = $('#close-form');
  closeForm.addEventListener('submit', (event) => {
    event.preventDefault();
    submitting(closeForm, async () => {
      company = await api('POST', '/company/closure', { body: { confirm: formValues(closeForm).confirm } });
      closeForm.reset();
      show(company, manager);
      say($('#company-state').parentElement, `Closing asked for. The service ends on ${formatDate(company.service_ends_at)}.`);
    });
  });
  const digestForm = $('#digest-form');
  digestForm.addEventListener('submit', (event) => {
    event.preventDefault();
    submitting(digestForm, async () => {
      const choice = formValues(digestForm).sip_digest;
      company = await api('PATCH', '/company', { body: { sip_digest: choice || null } });
      show(company, manager);
      say(digestForm, choice
        ? `Saved. Your lines now sign in with ${DIGEST_WORDS[choice]}, except those with a choice of their own.`
        : 'Saved. Your lines follow the service\'s default, except those with a choice of their own.');
    });
  });
  const encryptionForm = $('#encryption-form');
  encryptionForm.addEventListener('submit', (event) => {
    event.preventDefault();
    submitting(encryptionForm, async () => {
      const required = $('#require_encryption').checked;
      company = await api('PATCH', '/company', { body: { require_encryption: required } });
      show(company, manager);
      say(encryptionForm, required
        ? 'Saved. Your phones must now use TLS and SRTP; the others are refused.'
        : 'Saved. Your phones may use TLS and SRTP, or not.');
    });
  });
  const zoneForm = $('#zone-form');
  zoneForm.addEventListener('submit', (event) => {
    event.preventDefault();
    submitting(zoneForm, async () => {
      company = await api('PATCH', '/company', { body: { time_zone: formValues(zoneForm).time_zone } });
      show(company, manager);
      say(zoneForm, `Saved. Your business hours are kept in ${company.time_zone}.`);
    });
  });
  const reopenForm = $('#reopen-form');
  reopenForm.addEventListener('submit', (event) => {
    event.preventDefault();
    submitting(reopenForm, async () => {
      company = await api('DELETE', '/company/closure');
      show(company, manager);
      say($('#company-state').parentElement, 'Closing called off. The company stays open.');
    });
  });
}

main();
