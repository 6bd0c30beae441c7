// Calls to the read API (docs/server.md, "Query API"). When the server has
// API keys, the key the user typed is kept in sessionStorage for the tab and
// sent as "Authorization: Bearer"; a 401 raises ApiError with status 401 and
// the app shows the key prompt with the server's message, nothing else.

const kKeyItem = 'tracedb.api_key';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function apiKey() { return sessionStorage.getItem(kKeyItem) || ''; }
export function setApiKey(key) { sessionStorage.setItem(kKeyItem, key); }

// Listeners told about a 401 (the app shows the key prompt).
const unauthorized = new Set();
export function onUnauthorized(fn) { unauthorized.add(fn); return () => unauthorized.delete(fn); }

// GET `path` (with `params`), parsed as JSON. Errors throw ApiError with the
// server's {"error":{"code","message"}}.
export async function getJson(path, params = {}, { signal } = {}) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') url.searchParams.set(k, v);
  const headers = {};
  if (apiKey()) headers.Authorization = `Bearer ${apiKey()}`;
  const res = await fetch(url, { headers, signal });
  const text = await res.text();
  let body = null;
  try { body = JSON.parse(text); } catch { body = null; }
  if (!res.ok) {
    const err = body?.error ?? {};
    const e = new ApiError(res.status, err.code ?? String(res.status), err.message ?? text);
    if (res.status === 401) unauthorized.forEach((fn) => fn(e));
    throw e;
  }
  return body;
}

// The WebSocket URL of the server, carrying the key as ?token= (a browser
// cannot set headers on a WebSocket).
export function wsUrl() {
  const url = new URL('/ws', location.origin);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  if (apiKey()) url.searchParams.set('token', apiKey());
  return url.toString();
}
