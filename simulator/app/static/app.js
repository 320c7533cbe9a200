// The chat page: you are the WhatsApp user writing to one of the business numbers; the router's
// bot answers from that number. Each (user, business) pair is a chat of its own.
// State comes from the control/inspection API; live changes arrive over SSE (/sim/events).
"use strict";

const $ = (id) => document.getElementById(id);
const state = {
  businesses: new Map(), // phone_number_id -> business, the default first
  business: null, // the phone_number_id written to
  users: new Map(),
  messages: new Map(),
  media: new Map(), // media id -> its name, type and size (GET /sim/media; the bytes are /content)
  current: null, // the wa_id of the open chat
  unread: new Map(), // chatKey -> replies not yet seen
  typing: new Map(), // chatKey -> until (seconds)
  typingTimer: null,
};
const chatKey = (phoneNumberId, waId) => `${phoneNumberId}|${waId}`;
const inChat = (message, waId) => message.wa_id === waId && message.phone_number_id === state.business;
const COLORS = ["#25a884", "#e2725b", "#7b68ee", "#3b9ae1", "#d7a83e", "#c2577e", "#5a9e6f", "#8a6fdb"];

const TICK_PATHS = {
  single: "M10.9 3.2 4.6 9.5 1.9 6.8l-.9.9 3.6 3.6 7.2-7.2z",
  double: "M15.6 3.2 9.3 9.5l-.9-.9-.9.9 1.8 1.8 7.2-7.2zM10.9 3.2 4.6 9.5 1.9 6.8l-.9.9 3.6 3.6 7.2-7.2z",
  clock: "M8.5 1.5a5.5 5.5 0 1 0 0 11 5.5 5.5 0 0 0 0-11zm0 1.2a4.3 4.3 0 1 1 0 8.6 4.3 4.3 0 0 1 0-8.6zM8 4.5v3.3l2.6 1.6.6-.9L9.1 7.2V4.5z",
  failed: "M8.5 1.5a5.5 5.5 0 1 0 0 11 5.5 5.5 0 0 0 0-11zM7.8 4h1.4v4.2H7.8zm0 5.2h1.4v1.4H7.8z",
};
const TICK_OF = {
  pending: "clock", accepted: "clock", sent: "single", delivered: "double", read: "double",
  failed: "failed", dropped: "failed",
};
const TICK_TITLE = {
  pending: "Sending to the router", accepted: "Accepted, not yet sent", sent: "Sent",
  delivered: "Delivered", read: "Read", failed: "The router did not accept the webhook",
  dropped: "Webhook dropped by fault injection",
};

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) {
    let detail = response.statusText;
    try { detail = JSON.stringify((await response.json()).detail); } catch { /* not JSON */ }
    throw new Error(`${response.status}: ${detail}`);
  }
  return response.json();
}

function toast(text) {
  const el = $("toast");
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.hidden = true; }, 4000);
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function colorOf(waId) {
  let hash = 0;
  for (const c of waId) hash = (hash * 31 + c.charCodeAt(0)) >>> 0;
  return COLORS[hash % COLORS.length];
}

function avatar(node, user) {
  node.textContent = (user.name.replace(/^\+/, "").trim()[0] || "?").toUpperCase();
  node.style.background = colorOf(user.wa_id);
}

function clock(ts) {
  return new Date(ts * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function ticks(status) {
  const span = el("span", "ticks");
  span.dataset.status = status;
  span.title = TICK_TITLE[status] || status;
  const kind = TICK_OF[status] || "clock";
  const viewBox = kind === "double" ? "0 0 17 12" : kind === "single" ? "0 0 13 12" : "0 0 17 14";
  span.innerHTML = `<svg viewBox="${viewBox}" aria-hidden="true"><path fill="currentColor" d="${TICK_PATHS[kind]}"/></svg>`;
  return span;
}

// -- what a message says, for a bubble and for the chat list ------------------------------------

function content(message) {
  // Inbound messages keep the whole webhook message object; outbound ones the type's object.
  return message.direction === "inbound" ? message.payload[message.type] : message.payload;
}

// Icons drawn inline: emoji fonts are not on every machine (headless browsers often lack them).
const ICONS = {
  image: "M21 19V5a2 2 0 0 0-2-2H5a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h14a2 2 0 0 0 2-2zM8.5 13.5l2.5 3 3.5-4.5 4.5 6H5z",
  video: "M17 10.5V7a1 1 0 0 0-1-1H4a1 1 0 0 0-1 1v10a1 1 0 0 0 1 1h12a1 1 0 0 0 1-1v-3.5l4 4v-11z",
  audio: "M12 14a3 3 0 0 0 3-3V5a3 3 0 0 0-6 0v6a3 3 0 0 0 3 3zm5.3-3a5.3 5.3 0 0 1-10.6 0H5a7 7 0 0 0 6 6.9V21h2v-3.1a7 7 0 0 0 6-6.9z",
  document: "M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8zm-1 7V3.5L18.5 9z",
  sticker: "M12 2a10 10 0 1 0 10 10A10 10 0 0 0 12 2zm-3.5 7A1.5 1.5 0 1 1 7 10.5 1.5 1.5 0 0 1 8.5 9zm7 0a1.5 1.5 0 1 1-1.5 1.5A1.5 1.5 0 0 1 15.5 9zM12 17.5A5.5 5.5 0 0 1 6.9 14h10.2a5.5 5.5 0 0 1-5.1 3.5z",
  location: "M12 2a7 7 0 0 0-7 7c0 5.3 7 13 7 13s7-7.7 7-13a7 7 0 0 0-7-7zm0 9.5A2.5 2.5 0 1 1 14.5 9 2.5 2.5 0 0 1 12 11.5z",
  contacts: "M12 12a4 4 0 1 0-4-4 4 4 0 0 0 4 4zm0 2c-2.7 0-8 1.3-8 4v2h16v-2c0-2.7-5.3-4-8-4z",
  template: "M19 3H5a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h14a2 2 0 0 0 2-2V5a2 2 0 0 0-2-2zm-5 14H7v-2h7zm3-4H7v-2h10zm0-4H7V7h10z",
  download: "M5 20h14v-2H5zM19 9h-4V3H9v6H5l7 7z",
};

function icon(kind) {
  const span = el("span", "icon");
  span.innerHTML = `<svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true"><path fill="currentColor" d="${ICONS[kind] || ICONS.template}"/></svg>`;
  return span;
}

function replyTitle(message) {
  const c = content(message) || {};
  if (message.type === "button") return c.text || "Button";
  return (c.button_reply || c.list_reply || {}).title || "Reply";
}

function preview(message) {
  const c = content(message) || {};
  switch (message.type) {
    case "text": return c.body || "";
    case "image": return c.caption ? `Photo · ${c.caption}` : "Photo";
    case "video": return c.caption ? `Video · ${c.caption}` : "Video";
    case "audio": return c.voice ? "Voice message" : "Audio";
    case "document": return `Document · ${c.filename || c.caption || "file"}`;
    case "sticker": return "Sticker";
    case "location": return `Location${c.name ? ` · ${c.name}` : ""}`;
    case "contacts": return `Contact · ${(Array.isArray(c) ? c : []).map((x) => x.name?.formatted_name).join(", ") || "card"}`;
    case "reaction": return c.emoji ? `Reacted ${c.emoji}` : "Removed a reaction";
    case "interactive":
      if (message.direction === "inbound") return replyTitle(message);
      return c.body?.text || "Interactive message";
    case "button": return replyTitle(message);
    case "template": return message.rendered?.body || `Template · ${c.name || ""}`;
    default: return message.type;
  }
}

function bubbleBody(bubble, message) {
  const c = content(message) || {};
  const media = { image: "Photo", video: "Video", audio: "Audio", document: "Document", sticker: "Sticker" };
  if (message.context_id && state.messages.has(message.context_id)) {
    bubble.append(el("span", "quote", preview(state.messages.get(message.context_id))));
  }
  if (message.type === "text") {
    bubble.append(document.createTextNode(c.body || ""));
  } else if (media[message.type]) {
    mediaBody(bubble, message.type, c, media[message.type]);
  } else if (message.type === "location") {
    const box = el("span", "media");
    box.append(icon("location"), el("span", "", c.name || "Location"));
    bubble.append(box);
    bubble.append(document.createTextNode(`${c.latitude}, ${c.longitude}${c.address ? `\n${c.address}` : ""}`));
  } else if (message.type === "template" && message.rendered) {
    // As WhatsApp shows a template: header, body with its parameters filled, footer, buttons.
    const r = message.rendered;
    bubble.classList.add("template");
    if (r.header) bubble.append(el("strong", "template-header", r.header));
    bubble.append(el("span", "template-body", r.body || ""));
    if (r.footer) bubble.append(el("span", "kind template-footer", r.footer));
    if (r.buttons?.length) {
      const box = el("div", "buttons template-buttons");
      for (const title of r.buttons) {
        const button = el("button", "", title);
        button.type = "button";
        button.disabled = true;
        box.append(button);
      }
      bubble.append(box);
    }
  } else if (message.type === "contacts" || message.type === "template") {
    const box = el("span", "media");
    box.append(icon(message.type), el("span", "", preview(message).replace(/^\w+ · /, "")));
    bubble.append(box);
  } else if (message.direction === "inbound" && (message.type === "interactive" || message.type === "button")) {
    bubble.append(document.createTextNode(replyTitle(message)));
  } else if (message.type === "interactive" && message.direction === "outbound") {
    if (c.header?.text) bubble.append(el("strong", "", `${c.header.text}\n`));
    bubble.append(document.createTextNode(c.body?.text || ""));
    if (c.footer?.text) bubble.append(el("span", "kind", c.footer.text));
    const choices = [];
    for (const b of c.action?.buttons || []) choices.push(["button_reply", b.reply?.id, b.reply?.title]);
    for (const s of c.action?.sections || []) for (const r of s.rows || []) choices.push(["list_reply", r.id, r.title]);
    if (choices.length) {
      const box = el("div", "buttons");
      for (const [kind, id, title] of choices) {
        const button = el("button", "", title);
        button.type = "button";
        button.onclick = () => sendSpec({ type: "interactive", context_id: message.wamid, content: { type: kind, [kind]: { id, title } } });
        box.append(button);
      }
      bubble.append(box);
    }
  } else {
    bubble.append(el("span", "kind", preview(message)));
  }
}

// -- media: the business's uploads and links, the user's own files ------------------------------------

function sizeText(bytes) {
  if (!bytes && bytes !== 0) return "";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

// A media sent by id is shown from the Simulator's copy; by link, from the link itself.
function mediaSrc(c) {
  return c.id ? `/sim/media/${encodeURIComponent(c.id)}/content` : c.link || "";
}

function mediaBody(bubble, kind, c, label) {
  const known = c.id ? state.media.get(String(c.id)) : null;
  const src = mediaSrc(c);
  if (c.id && !known) {
    // An id nobody uploaded here (a test's made-up one): named, with nothing to show.
    const box = el("span", "media missing");
    box.append(icon(kind), el("span", "", `${label} ${c.id}, not uploaded to the simulator`));
    bubble.append(box);
  } else if (kind === "image" || kind === "sticker") {
    const link = el("a", `media-${kind}`);
    link.href = src;
    link.target = "_blank";
    link.rel = "noopener";
    link.title = "Open full size";
    const image = el("img");
    image.src = src;
    image.alt = c.caption || label;
    link.append(image);
    bubble.append(link);
  } else if (kind === "audio" || kind === "video") {
    const player = el(kind, `player player-${kind}`);
    player.controls = true;
    player.preload = "metadata";
    player.src = src;
    bubble.append(player);
    if (kind === "audio" && c.voice) bubble.append(el("span", "kind", "Voice message"));
  } else {
    const name = c.filename || known?.filename || (c.link ? c.link.split("/").pop() : "document");
    const chip = el("a", "doc-chip");
    chip.href = src;
    chip.download = name;
    chip.title = `Download ${name}`;
    const text = el("span", "doc-text");
    text.append(el("span", "doc-name", name));
    text.append(el("span", "doc-size", [known?.mime_type, sizeText(known?.file_size)].filter(Boolean).join(" · ") || "link"));
    chip.append(icon("document"), text, icon("download"));
    bubble.append(chip);
  }
  if (c.caption) bubble.append(el("span", "caption", c.caption));
}

function renderMessage(message) {
  if (message.type === "reaction") return renderReaction(message);
  const bubble = el("div", `msg ${message.direction === "inbound" ? "me" : "bot"}`);
  bubble.dataset.wamid = message.wamid;
  bubbleBody(bubble, message);
  const meta = el("span", "meta", clock(message.timestamp));
  meta.append(ticks(message.status));
  bubble.append(meta);
  return bubble;
}

function renderReaction(message) {
  const c = content(message) || {};
  const target = [...document.querySelectorAll(".msg")].find((n) => n.dataset.wamid === c.message_id);
  if (!target) return null;
  target.querySelector(".reactions")?.remove();
  target.classList.toggle("has-reaction", Boolean(c.emoji));
  if (c.emoji) target.append(el("span", "reactions", c.emoji));
  return null;
}

// -- chat list and conversation ---------------------------------------------------------------------

function lastMessage(waId) {
  let last = null;
  for (const m of state.messages.values()) if (inChat(m, waId)) last = m;
  return last;
}

// -- business numbers ---------------------------------------------------------------------------

function businessLabel(business) {
  return `${business.name} · +${business.display_phone_number}`;
}

function unreadFor(phoneNumberId) {
  let count = 0;
  for (const [key, n] of state.unread) if (key.startsWith(`${phoneNumberId}|`)) count += n;
  return count;
}

function renderBusinesses() {
  const list = $("businesses");
  list.replaceChildren();
  for (const business of state.businesses.values()) {
    const id = business.phone_number_id;
    const picked = id === state.business;
    const option = el("button", "business-option");
    option.type = "button";
    option.setAttribute("role", "radio");
    option.setAttribute("aria-checked", String(picked));
    option.dataset.phoneNumberId = id;
    option.title = `phone_number_id ${id} · WABA ${business.waba_id}`;
    const face = el("span", "business-avatar", (business.name.trim()[0] || "?").toUpperCase());
    face.style.background = colorOf(id);
    const text = el("span", "business-text");
    text.append(el("span", "business-name", business.name), el("span", "business-number", `+${business.display_phone_number}`));
    option.append(face, text);
    const unread = picked ? 0 : unreadFor(id);
    if (unread) option.append(el("span", "badge", String(unread)));
    option.onclick = () => pickBusiness(id);
    list.append(option);
  }
  const business = state.businesses.get(state.business);
  if (!business) return;
  $("business-info").textContent = `phone_number_id ${business.phone_number_id} · WABA ${business.waba_id}`;
  // With one number there is no other chat to tell this one from.
  $("head-business").hidden = state.businesses.size < 2;
  $("head-business").textContent = `with ${business.name}`;
  $("head-business").title = `The chat with ${businessLabel(business)}`;
}

function pickBusiness(phoneNumberId) {
  state.business = phoneNumberId;
  if (state.current) state.unread.delete(chatKey(phoneNumberId, state.current));
  renderBusinesses();
  renderChats();
  if (state.current) renderConversation();
}

function renderChats() {
  const list = $("chats");
  list.replaceChildren();
  const users = [...state.users.values()].sort((a, b) => {
    const la = lastMessage(a.wa_id)?.timestamp ?? a.created_at;
    const lb = lastMessage(b.wa_id)?.timestamp ?? b.created_at;
    return lb - la;
  });
  for (const user of users) {
    const item = el("li");
    item.dataset.waId = user.wa_id;
    if (user.wa_id === state.current) item.classList.add("active");
    const face = el("div", "avatar");
    avatar(face, user);
    const text = el("div");
    text.append(el("div", "chat-name", user.name));
    const last = lastMessage(user.wa_id);
    text.append(el("div", "chat-preview", last ? preview(last) : `+${user.wa_id}`));
    const meta = el("div", "chat-meta", last ? clock(last.timestamp) : "");
    const unread = state.unread.get(chatKey(state.business, user.wa_id));
    if (unread) meta.append(el("span", "badge", String(unread)));
    item.append(face, text, meta);
    item.onclick = () => openChat(user.wa_id);
    list.append(item);
  }
}

function renderHead() {
  const user = state.users.get(state.current);
  if (!user) return;
  avatar($("head-avatar"), user);
  $("head-name").textContent = user.name;
  const until = state.typing.get(chatKey(state.business, user.wa_id));
  const typing = until && until * 1000 > Date.now();
  const sub = $("head-sub");
  sub.classList.toggle("typing", Boolean(typing));
  sub.textContent = typing ? "typing…" : `+${user.wa_id} · ${user.contact_shape === "bsuid" ? user.user_id : "classic contact"}`;
  $("opt-reads").checked = user.reads;
  $("opt-window").checked = user.outside_window;
  $("opt-shape").value = user.contact_shape;
  renderTyping(typing);
  clearTimeout(state.typingTimer);
  if (typing) state.typingTimer = setTimeout(renderHead, until * 1000 - Date.now() + 50);
}

function renderTyping(on) {
  const box = $("messages");
  box.querySelector(".typing-bubble")?.remove();
  if (on) {
    const bubble = el("div", "typing-bubble");
    bubble.append(el("span"), el("span"), el("span"));
    box.append(bubble);
    box.scrollTop = box.scrollHeight;
  }
}

function renderConversation() {
  const box = $("messages");
  box.replaceChildren();
  let day = null;
  for (const m of state.messages.values()) {
    if (!inChat(m, state.current)) continue;
    const label = new Date(m.timestamp * 1000).toLocaleDateString([], { day: "numeric", month: "long", year: "numeric" });
    if (label !== day) { box.append(el("div", "day", label)); day = label; }
    const node = renderMessage(m);
    if (node) box.append(node);
  }
  renderHead();
  box.scrollTop = box.scrollHeight;
}

function openChat(waId) {
  state.current = waId;
  state.unread.delete(chatKey(state.business, waId));
  for (const id of ["chat-head", "messages", "composer"]) $(id).hidden = false;
  $("empty").hidden = true;
  renderBusinesses();
  renderChats();
  renderConversation();
  $("composer-input").focus();
}

// -- sending ----------------------------------------------------------------------------------------

async function sendSpec(spec) {
  try {
    await api("POST", `/sim/users/${state.current}/messages`, { ...spec, phone_number_id: state.business });
  } catch (error) {
    toast(`Not sent: ${error.message}`);
  }
}

$("composer").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = $("composer-input");
  const type = $("composer-type").value;
  const text = input.value;
  if (type === "text" && !text.trim()) return;
  input.value = "";
  const spec = { type, text: text.trim() ? text : null };
  if (type === "location" && text.trim()) { spec.text = null; spec.content = { name: text }; }
  if (type === "contacts" && text.trim()) {
    spec.text = null;
    spec.content = [{ name: { formatted_name: text, first_name: text }, phones: [{ phone: "+1 555-555-0100", type: "CELL" }] }];
  }
  $("composer-type").value = "text";
  await sendSpec(spec);
});

// The user sends a photo, a video, a voice note (with "Voice note" picked) or any file; the text
// typed goes as its caption. The Simulator keeps it as a media object the router fetches.
$("attach").addEventListener("click", () => $("attach-input").click());
$("attach-input").addEventListener("change", async () => {
  const picker = $("attach-input");
  const file = picker.files[0];
  picker.value = "";
  if (!file || !state.current) return;
  const form = new FormData();
  form.append("file", file, file.name);
  const caption = $("composer-input").value.trim();
  if (caption) form.append("caption", caption);
  form.append("phone_number_id", state.business);
  if ($("composer-type").value === "audio") form.append("voice", "true");
  $("composer-input").value = "";
  $("composer-type").value = "text";
  try {
    const response = await fetch(`/sim/users/${state.current}/media`, { method: "POST", body: form });
    if (!response.ok) {
      let detail = response.statusText;
      try { detail = JSON.stringify((await response.json()).detail); } catch { /* not JSON */ }
      throw new Error(`${response.status}: ${detail}`);
    }
  } catch (error) {
    toast(`Not sent: ${error.message}`);
  }
});

$("new-chat").addEventListener("submit", async (event) => {
  event.preventDefault();
  const phone = $("new-phone").value.replace(/\D/g, "");
  const body = { name: $("new-name").value.trim() || "Test User", contact_shape: $("new-shape").value };
  if (phone) body.wa_id = phone;
  try {
    const user = await api("POST", "/sim/users", body);
    state.users.set(user.wa_id, user);
    $("new-name").value = "";
    $("new-phone").value = "";
    openChat(user.wa_id);
  } catch (error) {
    toast(`Could not create the user: ${error.message}`);
  }
});

async function patchUser(change) {
  try {
    const user = await api("PATCH", `/sim/users/${state.current}`, change);
    state.users.set(user.wa_id, user);
    renderHead();
  } catch (error) {
    toast(error.message);
  }
}
$("opt-reads").onchange = (e) => patchUser({ reads: e.target.checked });
$("opt-window").onchange = (e) => patchUser({ outside_window: e.target.checked });
$("opt-shape").onchange = (e) => patchUser({ contact_shape: e.target.value });

// -- live updates -----------------------------------------------------------------------------------

async function load() {
  const [info, businesses, users, messages, chats, media] = await Promise.all([
    api("GET", "/sim/info"), api("GET", "/sim/businesses"), api("GET", "/sim/users"),
    api("GET", "/sim/messages"), api("GET", "/sim/chats"), api("GET", "/sim/media"),
  ]);
  state.media = new Map(media.map((m) => [m.id, m]));
  $("businesses").title = `Each business number has its own chat with each user · webhooks to ${info.webhook_url}`;
  state.businesses = new Map(businesses.map((b) => [b.phone_number_id, b]));
  if (!state.businesses.has(state.business)) state.business = businesses[0].phone_number_id;
  state.users = new Map(users.map((u) => [u.wa_id, u]));
  state.messages = new Map(messages.map((m) => [m.wamid, m]));
  state.typing = new Map(chats.map((c) => [chatKey(c.phone_number_id, c.wa_id), c.typing_until]));
  renderBusinesses();
  if (state.current && !state.users.has(state.current)) {
    state.current = null;
    for (const id of ["chat-head", "messages", "composer"]) $(id).hidden = true;
    $("empty").hidden = false;
  }
  renderChats();
  if (state.current) renderConversation();
}

function connect() {
  const source = new EventSource("/sim/events");
  source.onopen = () => { $("live").textContent = "live"; $("live").classList.add("on"); load(); };
  source.onerror = () => { $("live").textContent = "offline"; $("live").classList.remove("on"); };
  source.addEventListener("business", (e) => {
    const business = JSON.parse(e.data);
    state.businesses.set(business.phone_number_id, business);
    renderBusinesses();
  });
  source.addEventListener("user", (e) => {
    const user = JSON.parse(e.data);
    state.users.set(user.wa_id, user);
    renderChats();
    if (user.wa_id === state.current) renderHead();
  });
  source.addEventListener("message", (e) => {
    const message = JSON.parse(e.data);
    state.messages.set(message.wamid, message);
    const key = chatKey(message.phone_number_id, message.wa_id);
    if (message.direction === "outbound") state.typing.delete(key);
    if (inChat(message, state.current)) {
      renderConversation();
    } else if (message.direction === "outbound") {
      state.unread.set(key, (state.unread.get(key) || 0) + 1);
      renderBusinesses();
    }
    renderChats();
  });
  source.addEventListener("status", (e) => {
    const { wamid, status } = JSON.parse(e.data);
    const message = state.messages.get(wamid);
    if (message) message.status = status;
    const node = [...document.querySelectorAll(".msg")].find((n) => n.dataset.wamid === wamid);
    node?.querySelector(".ticks")?.replaceWith(ticks(status));
  });
  source.addEventListener("typing", (e) => {
    const { wa_id, phone_number_id, until } = JSON.parse(e.data);
    state.typing.set(chatKey(phone_number_id, wa_id), until);
    if (wa_id === state.current && phone_number_id === state.business) renderHead();
  });
  source.addEventListener("media", (e) => {
    const media = JSON.parse(e.data);
    state.media.set(media.id, media);
  });
  source.addEventListener("reset", () => load());
}

connect();
