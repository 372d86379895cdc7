// The one way pages talk to privox's API (JSON under /api/v1). It sends the session cookie
// (same origin only), adds the CSRF token to every state-changing call, names a purpose for staff
// views, and turns the API's JSON errors into ApiError values that carry the field they name, so
// a page can show the message next to that field.

const BASE = '/api/v1';
const SAFE_METHODS = new Set(['GET', 'HEAD']);

// Kept in memory only: it comes from the login answer or GET /me on every page load.
let csrfToken = null;

export function setCsrfToken(token) {
  csrfToken = token || null;
}

// `errors`: every field at fault, [{field, message}], when a form had several (sign-up answers so,
// and a page's own checks do); the first of them is also `field` and `message`.
export class ApiError extends Error {
  constructor(status, message, field, errors = []) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.field = field || null;
    this.errors = errors;
  }
}

// Several field errors as one ApiError (400), or null when there are none.
export function fieldErrors(errors) {
  if (!errors.length) return null;
  return new ApiError(400, errors[0].message, errors[0].field, errors);
}

// The API answers {"error": {"message", "field"}, "errors": [...]}; older routes answer
// {"error": "...", "field"}.
function errorFrom(status, body) {
  const error = body && body.error;
  if (error && typeof error === 'object') {
    const all = Array.isArray(body.errors) ? body.errors.filter((e) => e && typeof e.message === 'string') : [];
    return new ApiError(status, error.message || `HTTP ${status}`, error.field, all);
  }
  if (typeof error === 'string') return new ApiError(status, error, body.field);
  return new ApiError(status, `The server answered ${status} without an explanation; try again later.`);
}

function withQuery(path, query) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `${path}${path.includes('?') ? '&' : '?'}${text}` : path;
}

// api('GET', '/me'), api('PATCH', '/me', {body: {...}}), api('GET', '/calls', {query: {...}}),
// api('GET', '/admin/members', {purpose: 'support'}), api('POST', '/wallet/top-ups', {body, headers:
// {'Idempotency-Key': key}}).
// Resolves with the parsed JSON (null for an empty answer); rejects with ApiError (status 0 when
// the server could not be reached).
export async function api(method, path, { body, query, purpose, headers: extra } = {}) {
  const headers = { ...extra, Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (!SAFE_METHODS.has(method) && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  if (purpose) headers['X-Privox-Purpose'] = purpose;
  const url = withQuery(BASE + path, purpose ? { ...query, purpose } : query);
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, 'The portal cannot be reached; check your connection and try again.');
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) throw errorFrom(response.status, data);
  if (data && typeof data.csrf_token === 'string') setCsrfToken(data.csrf_token);
  return data;
}

// Sends a file as the request's raw body (a greeting's WAV), with the CSRF header; resolves and
// rejects as api() does.
export async function apiUpload(method, path, file, contentType) {
  const headers = { Accept: 'application/json', 'Content-Type': contentType };
  if (csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let response;
  try {
    response = await fetch(BASE + path, { method, headers, body: file, credentials: 'same-origin', cache: 'no-store' });
  } catch {
    throw new ApiError(0, 'The portal cannot be reached; check your connection and try again.');
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) throw errorFrom(response.status, data);
  return data;
}

// Who is signed in (GET /me), or null. With `required`, a visitor without a session is sent to the
// login page, which brings them back here afterwards.
export async function currentUser({ required = true } = {}) {
  try {
    return await api('GET', '/me');
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      if (required) {
        const back = location.pathname + location.search;
        location.replace(`/login.html?next=${encodeURIComponent(back)}`);
      }
      return null;
    }
    throw error;
  }
}

// Only same-site paths may be returned to after login (no open redirect).
export function safeNext(next) {
  return typeof next === 'string' && /^\/[A-Za-z0-9_\-./?=&%]*$/.test(next) && !next.startsWith('//')
    ? next
    : '/index.html';
}
