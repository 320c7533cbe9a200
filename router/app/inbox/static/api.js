// The router's REST API as the signed-in member: with their key (X-API-Key) or the identity
// provider's token (Authorization: Bearer). Either is kept in this tab's sessionStorage only, gone
// when the tab closes.

import { errorMessage } from "./format.js";
import { state } from "./state.js";

export const API = "/api/v1";
const KEY_STORAGE = "inbox.apiKey";
const TOKEN_STORAGE = "inbox.bearer";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// What a 401 does (main.js: sign out with this message). A hook rather than an import, so the API
// does not depend on the sign-in that depends on it.
let unauthorized = () => {};

export function onUnauthorized(handler) {
  unauthorized = handler;
}

export async function api(method, path, body) {
  const auth = state.auth;
  const headers =
    auth.kind === "key" ? { "X-API-Key": auth.value } : { Authorization: `Bearer ${auth.value}` };
  const init = { method, headers };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(API + path, init);
  if (response.status === 401) {
    unauthorized(
      auth.kind === "key"
        ? "The key was refused (revoked or wrong): sign in again."
        : "Your sign-in has ended or was refused: sign in again.",
    );
    throw new ApiError(401, "unauthorized");
  }
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) {
    throw new ApiError(response.status, errorMessage(data, response.status, response.statusText));
  }
  return data;
}

// Every item of a paginated list, following `next` for at most `maxPages` pages.
export async function allPages(path, limit = 200, maxPages = 10) {
  const items = [];
  let cursor = null;
  for (let i = 0; i < maxPages; i++) {
    const sep = path.includes("?") ? "&" : "?";
    const after = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
    const page = await api("GET", `${path}${sep}limit=${limit}${after}`);
    items.push(...page.items);
    cursor = page.next;
    if (!cursor) break;
  }
  return items;
}

// --- the credentials in this tab ----------------------------------------------------------------

// Kept once it has signed in: a reload signs in again without asking.
export function rememberAuth(auth) {
  sessionStorage.removeItem(auth.kind === "key" ? TOKEN_STORAGE : KEY_STORAGE);
  sessionStorage.setItem(auth.kind === "key" ? KEY_STORAGE : TOKEN_STORAGE, auth.value);
}

export function savedAuth() {
  const key = sessionStorage.getItem(KEY_STORAGE);
  if (key) return { kind: "key", value: key };
  const token = sessionStorage.getItem(TOKEN_STORAGE);
  return token ? { kind: "bearer", value: token } : null;
}

export function forgetAuth() {
  sessionStorage.removeItem(KEY_STORAGE);
  sessionStorage.removeItem(TOKEN_STORAGE);
}
