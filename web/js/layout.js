// The frame every page shares: navigation for who is signed in (and their role), the footer with
// the privacy notice and "Cookie settings", and the cookie banner. Each page module calls
// startPage() first; it resolves with the signed-in user (or null on public pages).

import { api, currentUser, setCsrfToken } from './api.js';
import { $, el, replaceChildren } from './dom.js';
import { initCookieBanner, openBanner } from './cookie-banner.js';

const MEMBER_LINKS = [
  ['/index.html', 'Dashboard'],
  ['/calls.html', 'Call log'],
  ['/messages.html', 'SMS log'],
  ['/voicemail.html', 'Voicemail'],
  ['/phone.html', 'Phone'],
  ['/extensions.html', 'Extensions'],
  ['/company.html', 'Company'],
  ['/profile.html', 'Profile'],
  ['/privacy.html', 'Privacy centre'],
];
const STAFF_LINKS = [['/operator.html', 'Operator console'], ['/fraud.html', 'Fraud alerts']];

export function isStaff(user) {
  return Boolean(user && typeof user.role === 'string' && user.role.startsWith('staff'));
}

export function isOfficeManager(user) {
  return Boolean(user && user.role === 'office_manager');
}

function navLinks(user) {
  if (!user) return [['/login.html', 'Log in'], ['/signup.html', 'Sign up']];
  if (isStaff(user)) return [...STAFF_LINKS, ['/notice.html', 'Privacy notice']];
  // Office managers also set up the company's call routing, receptionist and conference rooms, manage its people
  // (invitations and roles) and see its invoices, international balance and fraud alerts.
  if (!isOfficeManager(user)) return MEMBER_LINKS;
  const at = MEMBER_LINKS.findIndex(([href]) => href === '/extensions.html') + 1;
  return [...MEMBER_LINKS.slice(0, at), ['/routing.html', 'Call routing'], ['/receptionist.html', 'Receptionist'],
    ['/conference.html', 'Conference rooms'], ['/people.html', 'People'], ['/invoices.html', 'Invoices'],
    ['/wallet.html', 'International calls'], ['/fraud.html', 'Fraud alerts'], ...MEMBER_LINKS.slice(at)];
}

async function logOut() {
  try {
    await api('DELETE', '/session');
  } finally {
    setCsrfToken(null);
    location.assign('/login.html');
  }
}

function renderHeader(user) {
  const nav = $('#site-nav');
  if (!nav) return;
  const here = location.pathname === '/' ? '/welcome.html' : location.pathname;
  const items = navLinks(user).map(([href, label]) =>
    el('li', {}, el('a', { href, 'aria-current': href === here ? 'page' : false }, label)));
  const logout = user ? el('button', { type: 'button', id: 'logout', onclick: logOut }, 'Log out') : null;
  replaceChildren(nav, el('a', { class: 'brand', href: user ? '/index.html' : '/' }, 'privox'),
    el('ul', {}, items), logout);
}

function renderFooter() {
  const footer = $('#site-footer');
  if (!footer) return;
  const settings = el('button', { type: 'button', class: 'secondary', id: 'cookie-settings', onclick: () => openBanner() },
    'Cookie settings');
  replaceChildren(footer, el('div', {},
    el('a', { href: '/notice.html' }, 'Privacy notice'),
    el('a', { href: '/privacy.html' }, 'Privacy centre'),
    settings,
    el('span', {}, 'privox business phone service')));
}

// auth: 'required' (members and staff; sends visitors to login), 'optional' (public pages that
// adapt when signed in) or 'none' (never asks: login and sign-up).
export async function startPage({ auth = 'required' } = {}) {
  let user = null;
  if (auth !== 'none') user = await currentUser({ required: auth === 'required' });
  if (auth === 'required' && !user) return new Promise(() => {});  // redirecting to login
  renderHeader(user);
  renderFooter();
  initCookieBanner(user);
  return user;
}

// A page-level failure (the API could not be reached, a 403) shown at the top of <main>.
export function pageError(error) {
  const main = $('main');
  const message = error && error.message ? error.message : String(error);
  const note = el('p', { class: 'notice-error', role: 'alert' }, message.charAt(0).toUpperCase() + message.slice(1));
  main.prepend(note);
  return note;
}
