// Signing in and out: with an API key typed in the form, or with the identity provider (OIDC, the
// authorization code flow with PKCE as a public client; GET /inbox/config says whether and where).

import { chooseSavedFilter, loadList, openConversation } from "./actions.js";
import { ApiError, allPages, api, forgetAuth, rememberAuth, savedAuth } from "./api.js";
import { $ } from "./dom.js";
import { clearSession, setAuth, setConfig, setMe, setMembers, state } from "./state.js";
import { connect, disconnect } from "./stream.js";
import { showApp } from "./views.js";

const PENDING_STORAGE = "inbox.oidc"; // the sign-in under way: its state, PKCE verifier, hash

export async function signIn(auth) {
  setAuth(auth);
  const me = await api("GET", "/me");
  setMe(me);
  rememberAuth(auth);
  showApp(me);
  setMembers(await allPages("/members").catch(() => []));
  chooseSavedFilter(me);
  connect();
  await loadList();
  // A link to a conversation (#/c/42) opens it.
  const fromHash = Number((location.hash.match(/^#\/c\/(\d+)$/) || [])[1]);
  if (fromHash) openConversation(fromHash);
}

export function signOut(message) {
  forgetAuth();
  clearSession();
  disconnect();
  $("app").hidden = true;
  $("signin").hidden = false;
  $("signin-key").value = "";
  showSignInError(message);
  $("signin-key").focus();
}

function showSignInError(message) {
  const error = $("signin-error");
  error.textContent = message || "";
  error.hidden = !message;
}

// The form's "Sign in": the key is kept for the tab once the router has taken it.
export async function submitKey(event) {
  event.preventDefault();
  const key = $("signin-key").value.trim();
  $("signin-error").hidden = true;
  $("signin-submit").disabled = true;
  try {
    await signIn({ kind: "key", value: key });
  } catch (failure) {
    if (!(failure instanceof ApiError && failure.status === 401)) {
      forgetAuth();
      showSignInError(`Could not sign in: ${failure.message}`);
    }
  } finally {
    $("signin-submit").disabled = false;
  }
}

// At load: back from the identity provider, or signed in again with what this tab kept, or the
// form.
export function start() {
  const configured = loadConfig();
  const params = new URLSearchParams(location.search);
  if (params.has("code") || params.has("error")) {
    configured.then(() => finishProviderSignIn(params));
    return;
  }
  const saved = savedAuth();
  if (saved) {
    signIn(saved).catch((error) =>
      signOut(error.status === 401 ? "" : `Could not sign in: ${error.message}`),
    );
  } else {
    signOut();
  }
}

// --- the identity provider ----------------------------------------------------------------------

async function loadConfig() {
  let config = null;
  try {
    const response = await fetch("/inbox/config");
    config = response.ok ? await response.json() : null;
  } catch {
    config = null;
  }
  setConfig(config);
  const oidc = config?.oidc;
  $("signin-provider").hidden = !oidc && !config?.oidc_error;
  $("signin-oidc").disabled = !oidc;
  const note = $("signin-oidc-note");
  note.textContent = oidc || !config?.oidc_error ? "" : `Unavailable: ${config.oidc_error}`;
  note.hidden = !note.textContent;
}

export function base64url(bytes) {
  let text = "";
  for (const byte of new Uint8Array(bytes)) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomString(size) {
  return base64url(crypto.getRandomValues(new Uint8Array(size)));
}

function redirectUri() {
  return `${location.origin}/inbox`;
}

// The provider's "Sign in" button: off to its authorization endpoint, back at /inbox?code=...
export async function startProviderSignIn() {
  const oidc = state.config?.oidc;
  if (!oidc) return;
  if (!crypto.subtle) {
    throw new Error(
      "signing in with the identity provider needs the page on HTTPS (or on localhost)",
    );
  }
  const verifier = randomString(32);
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  const challenge = base64url(digest);
  const pending = { state: randomString(16), verifier, hash: location.hash };
  sessionStorage.setItem(PENDING_STORAGE, JSON.stringify(pending));
  const url = new URL(oidc.authorization_endpoint);
  const query = {
    response_type: "code",
    client_id: oidc.client_id,
    redirect_uri: redirectUri(),
    scope: oidc.scope,
    state: pending.state,
    code_challenge: challenge,
    code_challenge_method: "S256",
  };
  if (oidc.audience) query.audience = oidc.audience;
  for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
  location.assign(url.toString());
}

export function providerSignInFailed(failure) {
  showSignInError(`Could not sign in: ${failure.message}`);
}

async function finishProviderSignIn(params) {
  let pending = null;
  try {
    pending = JSON.parse(sessionStorage.getItem(PENDING_STORAGE) || "null");
  } catch {
    pending = null;
  }
  sessionStorage.removeItem(PENDING_STORAGE);
  // The code is good once: it leaves the address bar (and the history) at once.
  history.replaceState(null, "", `/inbox${pending?.hash || ""}`);
  if (params.has("error")) {
    const description = params.get("error_description");
    const why = `${params.get("error")}${description ? ` (${description})` : ""}`;
    signOut(`The identity provider did not sign you in: ${why}`);
    return;
  }
  if (!pending || params.get("state") !== pending.state) {
    signOut(
      "The identity provider's answer does not belong to a sign-in started in this tab: sign in again.",
    );
    return;
  }
  const oidc = state.config?.oidc;
  if (!oidc) {
    signOut("Signing in with the identity provider is not configured here.");
    return;
  }
  try {
    await signIn({ kind: "bearer", value: await exchangeCode(oidc, params.get("code"), pending) });
  } catch (failure) {
    if (!(failure instanceof ApiError && failure.status === 401)) {
      signOut(`Could not sign in: ${failure.message}`);
    }
  }
}

// The authorization code and the PKCE verifier for the token the API takes (`oidc.token`).
async function exchangeCode(oidc, code, pending) {
  const response = await fetch(oidc.token_endpoint, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code,
      redirect_uri: redirectUri(),
      client_id: oidc.client_id,
      code_verifier: pending.verifier,
    }),
  });
  const tokens = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new Error(
      tokens.error_description || tokens.error || `the token endpoint answered ${response.status}`,
    );
  }
  const token = tokens[oidc.token];
  if (!token) throw new Error(`the identity provider gave no ${oidc.token}`);
  return token;
}
