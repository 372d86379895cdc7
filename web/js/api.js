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

export class ApiError extends Error {
  constructor(status, message, field) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.field = field || null;
  }
}

// The API answers {"error": {"message", "field"}}; older routes answer {"error": "...", "field"}.
function errorFrom(status, body) {
  const error = body && body.error;
  if (error && typeof error === 'object') return new ApiError(status, error.message || `HTTP ${status}`, error.field);
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
// api('GET', '/admin/members', {purpose: 'support'}).
// Resolves with the parsed JSON (null for an empty answer); rejects with ApiError (status 0 when
// the server could not be reached).
export async function api(method, path, { body, query, purpose } = {}) {
  const headers = { Accept: 'application/json' };
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
