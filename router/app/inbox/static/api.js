// The router's REST API as the signed-in member: with their key (X-API-Key) or the identity
// provider's token (Authorization: Bearer). Either is kept in this tab's sessionStorage only, gone
// when the tab closes.

import { errorMessage, uploadErrorMessage } from "./format.js";
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

function authHeaders() {
  const auth = state.auth;
  return auth.kind === "key"
    ? { "X-API-Key": auth.value }
    : { Authorization: `Bearer ${auth.value}` };
}

function refused() {
  unauthorized(
    state.auth.kind === "key"
      ? "The key was refused (revoked or wrong): sign in again."
      : "Your sign-in has ended or was refused: sign in again.",
  );
  return new ApiError(401, "unauthorized");
}

export async function api(method, path, body) {
  const headers = authHeaders();
  const init = { method, headers };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(API + path, init);
  if (response.status === 401) throw refused();
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) {
    throw new ApiError(response.status, errorMessage(data, response.status, response.statusText));
  }
  return data;
}

// POSTs a multipart form (a file), telling `onProgress` how much of it is sent (0 to 1):
// XMLHttpRequest, as fetch has no upload progress. The answer's JSON, or an ApiError with the
// router's reason.
export function upload(path, form, onProgress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", API + path);
    for (const [name, value] of Object.entries(authHeaders())) {
      request.setRequestHeader(name, value);
    }
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    request.addEventListener("load", () => {
      if (request.status === 401) {
        reject(refused());
        return;
      }
      let data = null;
      try {
        data = request.responseText ? JSON.parse(request.responseText) : null;
      } catch {
        data = null;
      }
      if (request.status >= 200 && request.status < 300) resolve(data);
      else {
        const message = uploadErrorMessage(data, request.status, request.statusText);
        reject(new ApiError(request.status, message));
      }
    });
    request.addEventListener("error", () => {
      reject(new ApiError(0, uploadErrorMessage(null, 0, "")));
    });
    request.send(form);
  });
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
