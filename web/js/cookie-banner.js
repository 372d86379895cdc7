// The cookie banner (P12). It offers the policy's four categories with only "strictly necessary"
// ticked (and fixed); performance cookies are set by the server only after consent is saved here
// (PUT /consents/cookies_performance, which works before login too); functionality and targeting
// cookies are shown for completeness but can't be chosen, because this portal never sets them.
// The banner stays on every page until a choice is saved; the footer's "Cookie settings" link
// reopens it.

import { api } from './api.js';
import { $, el, clearErrors, showError } from './dom.js';

// The browser remembers that a choice was saved (not what it was worth to anyone else): this is
// storage the person asked for, strictly necessary to stop asking on every page.
const CHOICE_KEY = 'privox.cookie-choice';

function savedChoice() {
  try {
    const raw = localStorage.getItem(CHOICE_KEY);
    return raw ? JSON.parse(raw) : null;
  } catch {
    return null;
  }
}

export function rememberChoice(performance) {
  try {
    localStorage.setItem(CHOICE_KEY, JSON.stringify({ performance, saved_at: new Date().toISOString() }));
  } catch {
    // Storage disabled: the banner will ask again on the next page, which is the safe side.
  }
}

function category(id, title, note, { checked = false, disabled = false, name } = {}) {
  const input = el('input', { type: 'checkbox', id, name, checked, disabled, 'aria-describedby': `${id}-note` });
  return el('div', { class: 'check' }, input,
    el('label', { for: id }, el('strong', {}, title), el('span', { class: 'note', id: `${id}-note` }, note)));
}

// The first layer is one short paragraph and two equal buttons, accept and reject, so the banner
// cannot be missed yet leaves the page readable; the four categories open beneath "Choose by
// category".
function buildBanner(current) {
  const categories = el('details', { class: 'cookie-categories' },
    el('summary', {}, 'Choose by category'),
    el('fieldset', {},
      el('legend', {}, 'Cookie categories'),
      category('cookie-necessary', 'Strictly necessary',
        'Keep you signed in, protect forms against forgery and remember this choice. Always on.',
        { checked: true, disabled: true }),
      category('cookie-performance', 'Performance',
        'One first-party cookie (privox_perf) so we can count, in aggregate, how the portal is used. ' +
        'No third party receives anything.',
        { checked: Boolean(current && current.performance), name: 'performance' }),
      category('cookie-functionality', 'Functionality',
        'This portal never sets functionality cookies, so there is nothing to allow.', { disabled: true }),
      category('cookie-targeting', 'Targeting or advertising',
        'This portal never sets targeting or advertising cookies, so there is nothing to allow.', { disabled: true })),
    el('div', { class: 'actions' }, el('button', { type: 'submit', class: 'secondary', 'data-choice': 'save' }, 'Save my choice')));
  const form = el('form', { novalidate: true },
    el('div', { class: 'actions' },
      el('button', { type: 'button', 'data-choice': 'necessary' }, 'Strictly necessary only'),
      el('button', { type: 'button', 'data-choice': 'all' }, 'Allow performance cookies')),
    categories);
  return el('section', { class: 'cookie-banner', id: 'cookie-banner', role: 'region', 'aria-labelledby': 'cookie-title' },
    el('div', { class: 'inner' },
      el('h2', { id: 'cookie-title' }, 'Cookies on this portal'),
      el('p', {}, 'We use only the cookies this portal needs to work, and, if you allow it, one performance cookie. ' +
        'Change your choice at any time from "Cookie settings" at the bottom of every page. ',
        el('a', { href: '/notice.html' }, 'Privacy notice')),
      form));
}

async function save(banner, performance) {
  const form = $('form', banner);
  clearErrors(form);
  for (const b of form.querySelectorAll('button')) b.disabled = true;
  try {
    await api('PUT', '/consents/cookies_performance', { body: { given: performance } });
    rememberChoice(performance);
    closeBanner();
    document.dispatchEvent(new CustomEvent('privox:cookie-choice', { detail: { performance } }));
  } catch (error) {
    showError(form, error);
  } finally {
    for (const b of form.querySelectorAll('button')) b.disabled = false;
  }
}

export function closeBanner() {
  const banner = $('#cookie-banner');
  if (banner) banner.remove();
  document.body.classList.remove('has-banner');
}

// Shows the banner (again), ticked as the saved choice was.
export function openBanner() {
  closeBanner();
  const banner = buildBanner(savedChoice());
  const form = $('form', banner);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    save(banner, $('#cookie-performance', banner).checked);
  });
  $('[data-choice="necessary"]', banner).addEventListener('click', () => save(banner, false));
  $('[data-choice="all"]', banner).addEventListener('click', () => save(banner, true));
  document.body.append(banner);
  document.body.classList.add('has-banner');
  return banner;
}

// On page load: a choice saved in this browser, or (signed in) one recorded in the ledger, closes
// the question; otherwise the banner is shown.
export async function initCookieBanner(user) {
  if (savedChoice()) return;
  if (user) {
    try {
      const consents = await api('GET', '/consents');
      const decided = currentDecision(consents, 'cookies_performance');
      if (decided) {
        rememberChoice(decided.given);
        return;
      }
    } catch {
      // The ledger could not be read: asking again is the safe side.
    }
  }
  openBanner();
}

// GET /consents answers {current: [...] or {...}, history: [...]}; finds the latest decision.
export function currentDecision(consents, purpose) {
  const current = consents && consents.current;
  if (Array.isArray(current)) return current.find((c) => c.purpose === purpose) || null;
  if (current && typeof current === 'object') return current[purpose] || null;
  return null;
}
