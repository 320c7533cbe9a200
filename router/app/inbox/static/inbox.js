"use strict";
// The agents' inbox: the router's REST API with the signed-in key (X-API-Key) or the identity
// provider's token (Authorization: Bearer, from the authorization code flow with PKCE), and its event
// stream (/api/v1/events, opened with a short-lived ticket, since EventSource cannot set headers).
// No framework and no build step; every icon is an inline SVG (no emoji font needed).

const API = "/api/v1";
const KEY_STORAGE = "inbox.apiKey";
const TOKEN_STORAGE = "inbox.bearer";
const PENDING_STORAGE = "inbox.oidc"; // the sign-in under way: its state, PKCE verifier, hash
const EVENT_TYPES = [
  "message.created", "message.status", "conversation.created", "conversation.updated", "contact.updated",
];

const ICONS = {
  inbox: "M19 3H5a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h14a2 2 0 0 0 2-2V5a2 2 0 0 0-2-2zm0 12h-4a3 3 0 0 1-6 0H5V5h14z",
  chat: "M20 2H4a2 2 0 0 0-2 2v18l4-4h14a2 2 0 0 0 2-2V4a2 2 0 0 0-2-2zM6 9h12v2H6zm8 5H6v-2h8zm4-6H6V6h12z",
  logout: "M10.09 15.59 11.5 17l5-5-5-5-1.41 1.41L12.67 11H3v2h9.67zM19 3H5a2 2 0 0 0-2 2v4h2V5h14v14H5v-4H3v4a2 2 0 0 0 2 2h14a2 2 0 0 0 2-2V5a2 2 0 0 0-2-2z",
  back: "M20 11H7.83l5.59-5.59L12 4l-8 8 8 8 1.41-1.41L7.83 13H20z",
  hand: "M21 7a1.5 1.5 0 0 0-3 0v5h-1V3.5a1.5 1.5 0 0 0-3 0V12h-1V2.5a1.5 1.5 0 0 0-3 0V12H9V5.5a1.5 1.5 0 0 0-3 0v10.7l-2.2-2.3a1.5 1.5 0 0 0-2.2 2l4.4 5A6 6 0 0 0 10.5 23H15a6 6 0 0 0 6-6z",
  bot: "M20 9V7a2 2 0 0 0-2-2h-5V2h-2v3H6a2 2 0 0 0-2 2v2a3 3 0 0 0 0 6v4a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2v-4a3 3 0 0 0 0-6zM7.5 11.5a1.5 1.5 0 1 1 3 0 1.5 1.5 0 0 1-3 0zM16 17H8v-2h8zm-1.5-4a1.5 1.5 0 1 1 0-3 1.5 1.5 0 0 1 0 3z",
  person: "M12 12a4 4 0 1 0-4-4 4 4 0 0 0 4 4zm0 2c-2.67 0-8 1.34-8 4v2h16v-2c0-2.66-5.33-4-8-4z",
  transfer: "M6.99 11 3 15l3.99 4v-3H14v-2H6.99zM21 9l-3.99-4v3H10v2h7.01v3z",
  check: "M9 16.17 4.83 12l-1.42 1.41L9 19 21 7l-1.41-1.41z",
  undo: "M12.5 8c-2.65 0-5.05.99-6.9 2.6L2 7v9h9l-3.62-3.62A7.95 7.95 0 0 1 12.5 10c3.54 0 6.55 2.31 7.6 5.5l2.37-.78A10.02 10.02 0 0 0 12.5 8z",
  info: "M12 2a10 10 0 1 0 10 10A10 10 0 0 0 12 2zm1 15h-2v-6h2zm0-8h-2V7h2z",
  send: "M2.01 21 23 12 2.01 3 2 10l15 2-15 2z",
  block: "M12 2a10 10 0 1 0 10 10A10 10 0 0 0 12 2zM4 12a8 8 0 0 1 12.9-6.32L5.68 16.9A7.9 7.9 0 0 1 4 12zm8 8a7.9 7.9 0 0 1-4.9-1.68L18.32 7.1A7.9 7.9 0 0 1 20 12a8 8 0 0 1-8 8z",
  unblock: "M12 2a10 10 0 1 0 10 10A10 10 0 0 0 12 2zm-2 15-5-5 1.41-1.41L10 14.17l7.59-7.59L19 8z",
  clock: "M11.99 2A10 10 0 1 0 22 12 10 10 0 0 0 11.99 2zM12 20a8 8 0 1 1 8-8 8 8 0 0 1-8 8zm.5-13H11v6l5.25 3.15.75-1.23-4.5-2.67z",
  tick: "M9 16.17 4.83 12l-1.42 1.41L9 19 21 7l-1.41-1.41z",
  ticks: "M18 7l-1.41-1.41-6.34 6.34 1.41 1.41zm4.24-1.41L11.66 16.17 7.48 12l-1.41 1.41L11.66 19l12-12zM.41 13.41 6 19l1.41-1.41L1.83 12z",
  alert: "M1 21h22L12 2zm12-3h-2v-2h2zm0-4h-2v-4h2z",
  lock: "M18 8h-1V6a5 5 0 0 0-10 0v2H6a2 2 0 0 0-2 2v10a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V10a2 2 0 0 0-2-2zm-6 9a2 2 0 1 1 2-2 2 2 0 0 1-2 2zm3.1-9H8.9V6a3.1 3.1 0 0 1 6.2 0z",
  eye: "M12 4.5C7 4.5 2.73 7.61 1 12c1.73 4.39 6 7.5 11 7.5s9.27-3.11 11-7.5c-1.73-4.39-6-7.5-11-7.5zM12 17a5 5 0 1 1 5-5 5 5 0 0 1-5 5zm0-8a3 3 0 1 0 3 3 3 3 0 0 0-3-3z",
};

const AVATAR_COLOURS = ["#5b8def", "#e0795b", "#3aa17e", "#a36bd4", "#d4a13a", "#4aa3b8", "#d45b8a", "#6f7fd4"];

const state = {
  auth: null, // { kind: "key" | "bearer", value }
  config: null, // GET /inbox/config: the identity provider's sign-in, when configured
  me: null,
  members: [],
  filter: "all",
  conversations: new Map(), // id -> list item
  order: [],
  currentId: null,
  current: null, // the open conversation (detail)
  contact: null,
  messages: new Map(), // id -> message of the open conversation
  source: null,
  lastEventId: null,
  listTimer: null,
  convTimer: null,
  windowTimer: null,
};

const $ = (id) => document.getElementById(id);

function svg(name, label) {
  const ns = "http://www.w3.org/2000/svg";
  const node = document.createElementNS(ns, "svg");
  node.setAttribute("viewBox", "0 0 24 24");
  node.setAttribute("class", "icon");
  if (label) {
    node.setAttribute("role", "img");
    node.setAttribute("aria-label", label);
  } else {
    node.setAttribute("aria-hidden", "true");
  }
  const path = document.createElementNS(ns, "path");
  path.setAttribute("fill", "currentColor");
  path.setAttribute("d", ICONS[name]);
  node.append(path);
  return node;
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

function fillIcons(root) {
  for (const slot of root.querySelectorAll("[data-icon]")) {
    if (!slot.querySelector("svg")) slot.prepend(svg(slot.dataset.icon));
  }
}

function initials(name) {
  const words = (name || "?").replace(/[^\p{L}\p{N} ]/gu, "").trim().split(/\s+/).filter(Boolean);
  if (!words.length) return "#";
  return ((words[0][0] || "") + (words.length > 1 ? words[words.length - 1][0] : "")).toUpperCase();
}

function paintAvatar(node, name, seed) {
  node.textContent = initials(name);
  let hash = 0;
  for (const ch of String(seed ?? name)) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
  node.style.background = AVATAR_COLOURS[hash % AVATAR_COLOURS.length];
}

function contactName(contact) {
  if (!contact) return "";
  if (contact.name) return contact.name;
  if (contact.wa_id) return `+${contact.wa_id}`;
  return contact.user_id || `Contact ${contact.id}`;
}

function toast(text) {
  const node = $("toast");
  node.textContent = text;
  node.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { node.hidden = true; }, 4000);
}

// --- time -------------------------------------------------------------------------------------

function shortTime(iso) {
  if (!iso) return "";
  const at = new Date(iso);
  const now = new Date();
  if (at.toDateString() === now.toDateString()) {
    return at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }
  const days = (now - at) / 86400000;
  if (days < 6) return at.toLocaleDateString([], { weekday: "short" });
  return at.toLocaleDateString([], { day: "numeric", month: "short" });
}

function clock(iso) {
  return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function dayLabel(iso) {
  const at = new Date(iso);
  const today = new Date();
  const yesterday = new Date(today.getTime() - 86400000);
  if (at.toDateString() === today.toDateString()) return "Today";
  if (at.toDateString() === yesterday.toDateString()) return "Yesterday";
  return at.toLocaleDateString([], { weekday: "long", day: "numeric", month: "long" });
}

function duration(ms) {
  const minutes = Math.max(0, Math.round(ms / 60000));
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return h ? `${h} h ${m} min` : `${m} min`;
}

// --- the API ----------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(method, path, body) {
  const headers = state.auth.kind === "key"
    ? { "X-API-Key": state.auth.value }
    : { Authorization: `Bearer ${state.auth.value}` };
  const init = { method, headers };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(API + path, init);
  if (response.status === 401) {
    signOut(state.auth.kind === "key"
      ? "The key was refused (revoked or wrong): sign in again."
      : "Your sign-in has ended or was refused: sign in again.");
    throw new ApiError(401, "unauthorized");
  }
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) {
    const message = data?.error?.message
      || (Array.isArray(data?.detail) ? data.detail.map((d) => d.msg).join("; ") : data?.detail)
      || `${response.status} ${response.statusText}`;
    throw new ApiError(response.status, message);
  }
  return data;
}

async function allPages(path, limit = 200, maxPages = 10) {
  const items = [];
  let cursor = null;
  for (let i = 0; i < maxPages; i++) {
    const sep = path.includes("?") ? "&" : "?";
    const page = await api("GET", `${path}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    items.push(...page.items);
    cursor = page.next;
    if (!cursor) break;
  }
  return items;
}

// --- who may do what --------------------------------------------------------------------------

function canConverse() {
  return state.me && state.me.role !== "viewer";
}

function canManageContacts() {
  return state.me && !["viewer", "agent"].includes(state.me.role);
}

function readOnlyReason() {
  return `You are signed in as a viewer: you can read every conversation, but writing, handing over and closing need an agent's role.`;
}

// --- sign in and out --------------------------------------------------------------------------

async function signIn(auth) {
  state.auth = auth;
  const me = await api("GET", "/me");
  state.me = me;
  sessionStorage.removeItem(auth.kind === "key" ? TOKEN_STORAGE : KEY_STORAGE);
  sessionStorage.setItem(auth.kind === "key" ? KEY_STORAGE : TOKEN_STORAGE, auth.value);
  $("signin").hidden = true;
  $("app").hidden = false;
  $("me-name").textContent = me.member_name || (me.role ? `A ${me.role}'s key` : "The operator");
  $("me-sub").textContent = [me.role, me.tenant_name].filter(Boolean).join(" · ");
  paintAvatar($("me-avatar"), me.member_name || me.role || "?", me.member_id);
  $("filter-mine").disabled = !me.member_id;
  $("filter-mine").title = me.member_id ? "Conversations you own" : "This key acts as no member";
  const notice = $("readonly-notice");
  notice.replaceChildren(svg("eye"), el("span", "", readOnlyReason()));
  notice.dataset.viewer = canConverse() ? "" : "yes";
  state.members = await allPages("/members").catch(() => []);
  const wanted = sessionStorage.getItem("inbox.filter");
  setFilter(wanted && (wanted !== "mine" || me.member_id) ? wanted : (me.member_id ? "mine" : "all"), false);
  connect();
  await loadList();
  const fromHash = Number((location.hash.match(/^#\/c\/(\d+)$/) || [])[1]);
  if (fromHash) openConversation(fromHash);
}

function signOut(message) {
  sessionStorage.removeItem(KEY_STORAGE);
  sessionStorage.removeItem(TOKEN_STORAGE);
  state.auth = null;
  state.me = null;
  if (state.source) state.source.close();
  state.source = null;
  state.lastEventId = null;
  $("app").hidden = true;
  $("signin").hidden = false;
  $("signin-key").value = "";
  const error = $("signin-error");
  error.hidden = !message;
  error.textContent = message || "";
  $("signin-key").focus();
}

// --- the live stream --------------------------------------------------------------------------

function setLive(on, text) {
  const live = $("live");
  live.classList.toggle("on", on);
  live.textContent = text;
}

async function connect() {
  if (!state.auth) return;
  if (state.source) state.source.close();
  state.source = null;
  let ticket;
  try {
    ticket = (await api("POST", "/events/ticket")).ticket;
  } catch (error) {
    setLive(false, "offline");
    setTimeout(connect, 3000);
    return;
  }
  // After a drop, the stream replays what came since the last event seen (the server keeps an
  // hour of them); the lists are read again as well, in case even that was missed.
  const since = state.lastEventId ? `&last_event_id=${state.lastEventId}` : "";
  const source = new EventSource(`${API}/events?ticket=${encodeURIComponent(ticket)}${since}`);
  state.source = source;
  let opened = false;
  source.onopen = () => {
    setLive(true, "live");
    // Whatever happened while the stream was down, the lists are read again.
    if (opened) refreshAll();
    opened = true;
  };
  source.onerror = () => {
    if (state.source !== source) return;
    setLive(false, "reconnecting");
    // A ticket is good for one connection: a reconnect asks for a new one, then reads again
    // what the stream may have missed.
    source.close();
    state.source = null;
    setTimeout(async () => { await connect(); refreshAll(); }, 1000);
  };
  for (const type of EVENT_TYPES) {
    source.addEventListener(type, (event) => {
      if (event.lastEventId) state.lastEventId = event.lastEventId;
      try {
        onEvent(JSON.parse(event.data));
      } catch (error) {
        console.error("bad event", error);
      }
    });
  }
}

function refreshAll() {
  scheduleList();
  if (state.currentId) scheduleConversation();
}

function onEvent(event) {
  const object = event.data || {};
  switch (event.type) {
    case "message.created":
    case "message.status": {
      const conversationId = object.conversation_id;
      if (state.currentId && (conversationId === state.currentId || conversationId == null)) {
        if (conversationId === state.currentId && object.id && object.sender) {
          upsertMessage(object);
          if (event.type === "message.created" && object.sender === "contact") markRead();
        } else {
          scheduleConversation();
        }
      }
      scheduleList(); // the newest message's text or ticks, the unread count
      break;
    }
    case "conversation.created":
    case "conversation.updated":
      scheduleList();
      if (object.id === state.currentId) scheduleConversation();
      break;
    case "contact.updated":
      scheduleList();
      if (state.contact && object.id === state.contact.id) {
        state.contact = { ...state.contact, ...object };
        renderContact();
        renderComposer();
      }
      break;
    default:
      break;
  }
}

function scheduleList() {
  clearTimeout(state.listTimer);
  state.listTimer = setTimeout(() => loadList().catch(report), 80);
}

function scheduleConversation() {
  clearTimeout(state.convTimer);
  state.convTimer = setTimeout(() => loadConversation(state.currentId).catch(report), 80);
}

function report(error) {
  if (error instanceof ApiError && error.status === 401) return;
  toast(error.message || String(error));
}

// --- the list ---------------------------------------------------------------------------------

function filterQuery(filter) {
  switch (filter) {
    case "mine": return `?status=open&owner=${state.me.member_id}`;
    case "bot": return "?status=open&owner=ai";
    case "closed": return "?status=closed";
    default: return "?status=open";
  }
}

function setFilter(filter, load = true) {
  state.filter = filter;
  sessionStorage.setItem("inbox.filter", filter);
  for (const button of document.querySelectorAll(".filter")) {
    button.setAttribute("aria-selected", String(button.dataset.filter === filter));
  }
  if (load) loadList().catch(report);
}

async function loadList() {
  if (!state.me) return;
  const filter = state.filter;
  const page = await api("GET", `/conversations${filterQuery(filter)}&limit=100`);
  if (filter !== state.filter) return;
  state.conversations = new Map(page.items.map((c) => [c.id, c]));
  state.order = page.items.map((c) => c.id);
  renderList();
}

function ownerChip(owner, status) {
  const chip = el("span", "owner-chip");
  if (status === "closed") {
    chip.classList.add("closed");
    chip.append(svg("check"), el("span", "", "Closed"));
  } else if (owner.type === "ai") {
    chip.append(svg("bot"), el("span", "", "Bot"));
  } else {
    const mine = state.me && owner.id === state.me.member_id;
    chip.classList.add(mine ? "me" : "human");
    chip.append(svg("person"), el("span", "", mine ? "You" : owner.name));
  }
  chip.title = owner.type === "ai" ? "The bot answers" : `${owner.name} answers`;
  return chip;
}

function previewOf(message) {
  if (!message) return "";
  if (message.text) return message.text;
  return message.type ? `(${message.type})` : "";
}

function previewPrefix(message) {
  if (!message) return "";
  if (message.sender === "ai") return "Bot: ";
  if (message.sender === "agent") {
    const mine = state.me && message.author?.id === state.me.member_id;
    return mine ? "You: " : `${(message.author?.name || "Agent").split(" ")[0]}: `;
  }
  return "";
}

function renderList() {
  const list = $("conversations");
  const items = state.order.map((id) => state.conversations.get(id));
  list.replaceChildren(...items.map(listItem));
  const empty = $("list-empty");
  empty.hidden = items.length > 0;
  empty.textContent = {
    mine: "No open conversation is yours. Take one over from the bot, or wait for a transfer.",
    bot: "The bot answers no open conversation.",
    all: "No open conversation yet. A customer's first message opens one.",
    closed: "No closed conversation.",
  }[state.filter];
}

function listItem(c) {
  const item = el("li", "conv-item");
  item.tabIndex = 0;
  item.dataset.id = c.id;
  item.setAttribute("role", "button");
  const name = contactName(c.contact);
  item.setAttribute("aria-label", `Conversation with ${name}`);
  if (c.id === state.currentId) item.setAttribute("aria-current", "true");
  const avatar = el("span", "avatar");
  paintAvatar(avatar, name, c.contact.id);
  const unread = c.unread_count || 0;
  item.classList.toggle("has-unread", unread > 0);
  const title = el("span", "conv-name", name);
  const time = el("span", "conv-time", shortTime(c.last_message?.created_at || c.last_message_at));
  const preview = el("span", "conv-preview");
  const last = c.last_message;
  if (last && last.direction === "outbound") preview.append(tickIcon(last.status));
  preview.append(el("span", "text", previewPrefix(last) + previewOf(last)));
  const meta = el("span", "conv-meta");
  meta.append(ownerChip(c.owner, c.status));
  if (unread > 0) {
    const badge = el("span", "unread", String(unread));
    badge.setAttribute("aria-label", `${unread} unread`);
    meta.append(badge);
  }
  item.append(avatar, title, time, preview, meta);
  item.addEventListener("click", () => openConversation(c.id));
  item.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      openConversation(c.id);
    }
  });
  return item;
}

// --- one conversation -------------------------------------------------------------------------

async function openConversation(id) {
  if (state.currentId !== id) {
    state.messages = new Map();
    $("messages").replaceChildren();
  }
  state.currentId = id;
  history.replaceState(null, "", `#/c/${id}`);
  $("app").classList.add("viewing");
  for (const item of document.querySelectorAll(".conv-item")) {
    item.toggleAttribute("aria-current", Number(item.dataset.id) === id);
    if (Number(item.dataset.id) === id) item.setAttribute("aria-current", "true");
  }
  try {
    await loadConversation(id);
  } catch (error) {
    report(error);
    return;
  }
  markRead();
  $("composer-input").focus({ preventScroll: true });
}

async function loadConversation(id) {
  if (!id) return;
  const [detail, messages] = await Promise.all([
    api("GET", `/conversations/${id}`),
    allPages(`/conversations/${id}/messages`),
  ]);
  if (id !== state.currentId) return;
  const contact = await api("GET", `/contacts/${detail.contact.id}`).catch(() => detail.contact);
  if (id !== state.currentId) return;
  state.current = detail;
  state.contact = contact;
  state.messages = new Map(messages.map((m) => [m.id, m]));
  renderConversation();
}

function markRead() {
  const id = state.currentId;
  if (!id || !state.me?.member_id || document.hidden) return;
  api("POST", `/conversations/${id}/read`)
    .then(() => {
      const item = state.conversations.get(id);
      if (item && item.unread_count) {
        item.unread_count = 0;
        renderList();
      }
    })
    .catch(() => {});
}

function renderConversation() {
  const c = state.current;
  $("empty").hidden = true;
  $("conv-head").hidden = false;
  $("messages").hidden = false;
  $("composer").hidden = false;
  $("contact-panel").hidden = false;
  const name = contactName(c.contact);
  $("conv-name").textContent = name;
  $("conv-phone").textContent = [
    c.contact.wa_id ? `+${c.contact.wa_id}` : c.contact.user_id,
    c.channel ? `to ${c.channel.name}` : null,
  ].filter(Boolean).join(" · ");
  paintAvatar($("conv-avatar"), name, c.contact.id);
  $("conv-owner").replaceWith(Object.assign(ownerChip(c.owner, c.status), { id: "conv-owner" }));
  renderWindow();
  renderActions();
  renderMessages();
  renderContact();
  renderComposer();
  $("readonly-notice").hidden = canConverse();
}

function windowOpen() {
  const expires = state.current?.window_expires_at;
  return Boolean(expires) && new Date(expires) > new Date();
}

function renderWindow() {
  const node = $("conv-window");
  const c = state.current;
  node.replaceChildren();
  node.hidden = false;
  node.classList.toggle("closed", !windowOpen());
  if (!c.window_expires_at) {
    node.append(svg("lock"), el("span", "", "No 24-hour window: the customer has not written yet, a template is needed"));
  } else if (windowOpen()) {
    const left = new Date(c.window_expires_at) - new Date();
    node.append(svg("clock"), el("span", "", `24-hour window open: ${duration(left)} left to write freely`));
    node.title = `Free-form messages until ${new Date(c.window_expires_at).toLocaleString()}`;
  } else {
    const when = new Date(c.window_expires_at).toLocaleString([], {
      weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit",
    });
    node.append(svg("lock"), el("span", "", `24-hour window closed on ${when}: a template is needed to write`));
    node.title = `Closed at ${new Date(c.window_expires_at).toLocaleString()}`;
  }
  clearInterval(state.windowTimer);
  state.windowTimer = setInterval(() => {
    if (!state.current) return;
    const wasOpen = node.classList.contains("closed") === false;
    renderWindow();
    if (wasOpen !== windowOpen()) renderComposer();
  }, 30000);
}

function setControl(button, { show = true, enabled = true, reason = "" }) {
  button.hidden = !show;
  button.disabled = !enabled;
  if (reason) button.title = reason;
  else button.removeAttribute("title");
  if (!enabled && reason) button.setAttribute("aria-description", reason);
  else button.removeAttribute("aria-description");
}

function renderActions() {
  const c = state.current;
  const converse = canConverse();
  const viewer = converse ? "" : "Viewers cannot change conversations";
  const closed = c.status === "closed";
  const mine = c.owner.type === "agent" && c.owner.id === state.me.member_id;
  const takeReason = !state.me.member_id ? "This key acts as no member" : viewer;
  setControl($("take-over"), {
    show: !mine && !closed,
    enabled: converse && Boolean(state.me.member_id),
    reason: takeReason || (c.owner.type === "agent" ? `Take it from ${c.owner.name}` : "Answer it yourself; the bot stops"),
  });
  setControl($("give-back"), {
    show: c.owner.type === "agent" && !closed,
    enabled: converse,
    reason: viewer || "The bot answers the customer's next message",
  });
  setControl($("transfer"), { show: !closed, enabled: converse, reason: viewer || "Hand it to another member" });
  setControl($("close-conv"), { show: !closed, enabled: converse, reason: viewer || "The customer's next message opens a new conversation" });
  setControl($("reopen-conv"), { show: closed, enabled: converse, reason: viewer });
  $("transfer-menu").hidden = true;
  $("transfer").setAttribute("aria-expanded", "false");
}

function renderTransferMenu() {
  const menu = $("transfer-menu");
  const c = state.current;
  const candidates = state.members.filter(
    (m) => m.role !== "viewer" && !(c.owner.type === "agent" && c.owner.id === m.id),
  );
  menu.replaceChildren();
  if (!candidates.length) {
    menu.append(el("li", "menu-empty", "No other member can take it"));
  }
  for (const member of candidates) {
    const li = el("li");
    li.setAttribute("role", "none");
    const button = el("button");
    button.type = "button";
    button.setAttribute("role", "menuitem");
    button.dataset.memberId = member.id;
    const avatar = el("span", "avatar avatar-sm");
    paintAvatar(avatar, member.name, member.id);
    const you = member.id === state.me.member_id ? " (you)" : "";
    button.append(avatar, el("span", "", member.name + you), el("span", "role", member.role));
    button.addEventListener("click", () => act(() => transfer(member.id), `Transferred to ${member.name}`));
    li.append(button);
    menu.append(li);
  }
}

function renderMessages() {
  const box = $("messages");
  const nearBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  const ordered = [...state.messages.values()].sort((a, b) => a.id - b.id);
  const nodes = [];
  let day = null;
  for (const m of ordered) {
    const label = dayLabel(m.created_at);
    if (label !== day) {
      nodes.push(el("div", "day", label));
      day = label;
    }
    nodes.push(messageNode(m));
  }
  box.replaceChildren(...nodes);
  if (nearBottom || !box.dataset.scrolled) {
    box.scrollTop = box.scrollHeight;
    box.dataset.scrolled = "1";
  }
}

function upsertMessage(message) {
  const known = state.messages.get(message.id);
  state.messages.set(message.id, { ...known, ...message });
  renderMessages();
}

function authorOf(m) {
  if (m.sender === "contact") return { icon: "person", name: m.author?.name || contactName(state.current?.contact) };
  if (m.sender === "ai") return { icon: "bot", name: "Bot" };
  const mine = state.me && m.author?.id === state.me.member_id;
  return { icon: "person", name: mine ? `${m.author?.name || "You"} (you)` : m.author?.name || "Agent" };
}

const TICKS = {
  pending: ["clock", "Waiting to be sent"],
  accepted: ["clock", "Accepted by WhatsApp"],
  sent: ["tick", "Sent"],
  delivered: ["ticks", "Delivered"],
  read: ["ticks", "Read"],
  failed: ["alert", "Failed"],
};

function tickIcon(status) {
  const [icon, label] = TICKS[status] || TICKS.pending;
  const span = el("span", "ticks");
  span.dataset.status = status;
  span.title = label;
  span.append(svg(icon, label));
  return span;
}

function messageNode(m) {
  const node = el("div", `msg ${m.sender}`);
  node.dataset.id = m.id;
  node.dataset.sender = m.sender;
  node.dataset.status = m.status;
  const who = authorOf(m);
  const author = el("div", "author");
  author.append(svg(who.icon), el("span", "", who.name));
  const body = m.text
    ? el("div", "body", m.text)
    : el("div", "body other", `A ${m.type} message (shown on the customer's phone only)`);
  const meta = el("div", "meta");
  if (m.direction === "inbound" && ["handed_over", "blocked", "ignored"].includes(m.status)) {
    const label = { handed_over: "for a person", blocked: "blocked", ignored: "not answered" }[m.status];
    const chip = el("span", `state ${m.status}`, label);
    chip.title = {
      handed_over: "A member owns the conversation: the bot did not answer",
      blocked: "The contact is blocked: nothing was answered",
      ignored: "Not a text: the bot does not answer it",
    }[m.status];
    meta.append(chip);
  }
  const time = el("time", "", clock(m.created_at));
  time.dateTime = m.created_at;
  meta.append(time);
  if (m.direction === "outbound") meta.append(tickIcon(m.status));
  node.append(author, body, meta);
  if (m.status === "failed" && m.direction === "outbound") {
    const why = [m.error_code ? `Error ${m.error_code}` : null, m.error_title].filter(Boolean).join(": ");
    node.append(el("div", "failure", `Not delivered${why ? ` (${why})` : ""}`));
  }
  return node;
}

function composerBlock() {
  const c = state.current;
  if (!canConverse()) return "Viewers can read but not write.";
  if (c.status === "closed") return "This conversation is closed: reopen it to write.";
  if (state.contact?.is_blocked) return "The contact is blocked: unblock them to write.";
  if (!windowOpen()) {
    return c.window_expires_at
      ? "The 24-hour window has closed: a template is needed to write to this customer."
      : "The customer has not written yet: a template is needed to write first.";
  }
  return "";
}

function renderComposer() {
  if (!state.current) return;
  const reason = composerBlock();
  const input = $("composer-input");
  const note = $("composer-reason");
  input.disabled = Boolean(reason);
  $("send").disabled = Boolean(reason);
  note.hidden = !reason;
  note.replaceChildren(svg("lock"), el("span", "", reason));
  const c = state.current;
  input.placeholder = reason
    ? "Writing is not possible here"
    : c.owner.type === "ai"
      ? "Write a message (sending takes it over from the bot)"
      : "Write a message";
}

function renderContact() {
  const contact = state.contact;
  if (!contact) return;
  const name = contactName(contact);
  $("contact-name").textContent = name;
  paintAvatar($("contact-avatar"), name, contact.id);
  $("contact-phone").textContent = contact.wa_id ? `+${contact.wa_id}` : "";
  $("contact-blocked").hidden = !contact.is_blocked;
  const facts = $("contact-facts");
  facts.replaceChildren();
  const rows = [
    ["WhatsApp user id", contact.user_id],
    ["Email", contact.email],
    ["Note", contact.description],
    ["Channel", state.current?.channel ? `${state.current.channel.name}${state.current.channel.display_phone_number ? ` (${state.current.channel.display_phone_number})` : ""}` : null],
    ["Conversation started", state.current ? new Date(state.current.created_at).toLocaleString() : null],
  ];
  for (const [term, value] of rows) {
    if (!value) continue;
    const row = el("div");
    row.append(el("dt", "", term), el("dd", "", value));
    facts.append(row);
  }
  const allowed = canManageContacts();
  const reason = allowed ? "" : `Blocking needs an admin's or owner's role (yours: ${state.me.role}).`;
  setControl($("block"), { show: !contact.is_blocked, enabled: allowed, reason: reason || "The bot and members stop writing; the contact's messages are kept, not answered" });
  setControl($("unblock"), { show: contact.is_blocked, enabled: allowed, reason });
  $("block-reason").hidden = allowed;
  $("block-reason").textContent = reason;
}

// --- actions ----------------------------------------------------------------------------------

async function act(action, done) {
  const buttons = [...document.querySelectorAll(".actions .btn, .contact-actions .btn")];
  const wasDisabled = buttons.map((b) => b.disabled);
  buttons.forEach((b) => { b.disabled = true; });
  try {
    await action();
    if (done) toast(done);
    await Promise.all([loadConversation(state.currentId), loadList()]);
  } catch (error) {
    buttons.forEach((b, i) => { b.disabled = wasDisabled[i]; });
    report(error);
  }
}

const transfer = (memberId) =>
  api("POST", `/conversations/${state.currentId}/transfer`, { new_owner_id: memberId });

async function send(event) {
  event.preventDefault();
  const input = $("composer-input");
  const text = input.value.trim();
  if (!text || input.disabled) return;
  input.value = "";
  autosize();
  try {
    const message = await api("POST", `/conversations/${state.currentId}/messages`, { text });
    upsertMessage(message);
    if (state.current.owner.type === "ai") scheduleConversation();
    scheduleList();
  } catch (error) {
    input.value = text;
    report(error);
  }
}

function autosize() {
  const input = $("composer-input");
  input.style.height = "auto";
  input.style.height = `${Math.min(input.scrollHeight + 2, 160)}px`;
}

// --- wiring -----------------------------------------------------------------------------------

function wire() {
  fillIcons(document);
  $("signin-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const key = $("signin-key").value.trim();
    const error = $("signin-error");
    error.hidden = true;
    $("signin-submit").disabled = true;
    try {
      await signIn({ kind: "key", value: key });
    } catch (failure) {
      if (!(failure instanceof ApiError && failure.status === 401)) {
        sessionStorage.removeItem(KEY_STORAGE);
        error.textContent = `Could not sign in: ${failure.message}`;
        error.hidden = false;
      }
    } finally {
      $("signin-submit").disabled = false;
    }
  });
  $("signout").addEventListener("click", () => signOut());
  for (const button of document.querySelectorAll(".filter")) {
    button.addEventListener("click", () => setFilter(button.dataset.filter));
  }
  $("back").addEventListener("click", () => {
    $("app").classList.remove("viewing");
    state.currentId = null;
    state.current = null;
    history.replaceState(null, "", "#");
    renderList();
  });
  $("take-over").addEventListener("click", () => act(() => transfer(state.me.member_id), "You own this conversation now: the bot stays silent"));
  $("give-back").addEventListener("click", () => act(() => transfer(null), "Given back: the bot answers the next message"));
  $("close-conv").addEventListener("click", () => act(() => api("POST", `/conversations/${state.currentId}/close`), "Closed"));
  $("reopen-conv").addEventListener("click", () => act(() => api("POST", `/conversations/${state.currentId}/reopen`), "Reopened"));
  $("block").addEventListener("click", () => act(() => api("POST", `/contacts/${state.contact.id}/block`), "Blocked"));
  $("unblock").addEventListener("click", () => act(() => api("DELETE", `/contacts/${state.contact.id}/block`), "Unblocked"));
  $("transfer").addEventListener("click", () => {
    const menu = $("transfer-menu");
    const open = menu.hidden;
    if (open) renderTransferMenu();
    menu.hidden = !open;
    $("transfer").setAttribute("aria-expanded", String(open));
    if (open) menu.querySelector("button")?.focus();
  });
  document.addEventListener("click", (event) => {
    if (!event.target.closest(".menu-wrap")) {
      $("transfer-menu").hidden = true;
      $("transfer").setAttribute("aria-expanded", "false");
    }
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      $("transfer-menu").hidden = true;
      $("app").classList.remove("show-contact");
    }
  });
  $("toggle-contact").addEventListener("click", () => {
    const app = $("app");
    const wide = window.matchMedia("(min-width: 1181px)").matches;
    if (wide) app.classList.toggle("no-contact");
    else app.classList.toggle("show-contact");
    const shown = wide ? !app.classList.contains("no-contact") : app.classList.contains("show-contact");
    $("toggle-contact").setAttribute("aria-expanded", String(shown));
    $("contact-panel").style.display = wide && !shown ? "none" : "";
  });
  $("composer").addEventListener("submit", send);
  $("composer-input").addEventListener("input", autosize);
  $("composer-input").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $("composer").requestSubmit();
    }
  });
  document.addEventListener("visibilitychange", () => { if (!document.hidden) markRead(); });

  $("signin-oidc").addEventListener("click", () => {
    startProviderSignIn().catch((failure) => showSignInError(`Could not sign in: ${failure.message}`));
  });

  const configured = loadConfig();
  const params = new URLSearchParams(location.search);
  if (params.has("code") || params.has("error")) {
    configured.then(() => finishProviderSignIn(params));
    return;
  }
  const savedKey = sessionStorage.getItem(KEY_STORAGE);
  const savedToken = sessionStorage.getItem(TOKEN_STORAGE);
  const saved = savedKey ? { kind: "key", value: savedKey } : savedToken ? { kind: "bearer", value: savedToken } : null;
  if (saved) {
    signIn(saved).catch((error) => signOut(error.status === 401 ? "" : `Could not sign in: ${error.message}`));
  } else {
    signOut();
  }
}

// --- sign in with the identity provider (OIDC: authorization code with PKCE) --------------------

function showSignInError(message) {
  const error = $("signin-error");
  error.textContent = message;
  error.hidden = !message;
}

async function loadConfig() {
  try {
    const response = await fetch("/inbox/config");
    state.config = response.ok ? await response.json() : null;
  } catch {
    state.config = null;
  }
  const oidc = state.config?.oidc;
  $("signin-provider").hidden = !oidc && !state.config?.oidc_error;
  $("signin-oidc").disabled = !oidc;
  const note = $("signin-oidc-note");
  note.textContent = oidc ? "" : (state.config?.oidc_error ? `Unavailable: ${state.config.oidc_error}` : "");
  note.hidden = !note.textContent;
}

function base64url(bytes) {
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

async function startProviderSignIn() {
  const oidc = state.config?.oidc;
  if (!oidc) return;
  if (!crypto.subtle) {
    throw new Error("signing in with the identity provider needs the page on HTTPS (or on localhost)");
  }
  const verifier = randomString(32);
  const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
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
    signOut(`The identity provider did not sign you in: ${params.get("error")}${description ? ` (${description})` : ""}`);
    return;
  }
  if (!pending || params.get("state") !== pending.state) {
    signOut("The identity provider's answer does not belong to a sign-in started in this tab: sign in again.");
    return;
  }
  const oidc = state.config?.oidc;
  if (!oidc) {
    signOut("Signing in with the identity provider is not configured here.");
    return;
  }
  try {
    const response = await fetch(oidc.token_endpoint, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        code: params.get("code"),
        redirect_uri: redirectUri(),
        client_id: oidc.client_id,
        code_verifier: pending.verifier,
      }),
    });
    const tokens = await response.json().catch(() => ({}));
    if (!response.ok) {
      throw new Error(tokens.error_description || tokens.error || `the token endpoint answered ${response.status}`);
    }
    const token = tokens[oidc.token];
    if (!token) throw new Error(`the identity provider gave no ${oidc.token}`);
    await signIn({ kind: "bearer", value: token });
  } catch (failure) {
    if (!(failure instanceof ApiError && failure.status === 401)) {
      signOut(`Could not sign in: ${failure.message}`);
    }
  }
}

wire();
