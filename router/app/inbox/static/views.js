// Rendering: the signed-in member, the list, the open conversation, its buttons, contact panel and
// composer, all drawn from `state`. Nothing here changes `state` or calls the API; clicks are
// main.js's.

import { $, el, paintAvatar } from "./dom.js";
import {
  authorOf,
  channelLabel,
  clock,
  contactName,
  dayLabel,
  emptyListText,
  failureText,
  inboundState,
  previewOf,
  previewPrefix,
  shortTime,
  tickOf,
} from "./format.js";
import { svg } from "./icons.js";
import { fileSize } from "./media.js";
import { mediaNode } from "./mediaview.js";
import {
  canConverse,
  composerBlock,
  composerPlaceholder,
  contactControls,
  conversationControls,
  READ_ONLY_REASON,
  transferCandidates,
  windowOpen,
  windowState,
} from "./rules.js";
import { state } from "./state.js";

// --- the frame --------------------------------------------------------------------------------

export function showApp(me) {
  $("signin").hidden = true;
  $("app").hidden = false;
  $("me-name").textContent = me.member_name || (me.role ? `A ${me.role}'s key` : "The operator");
  $("me-sub").textContent = [me.role, me.tenant_name].filter(Boolean).join(" · ");
  paintAvatar($("me-avatar"), me.member_name || me.role || "?", me.member_id);
  $("filter-mine").disabled = !me.member_id;
  $("filter-mine").title = me.member_id ? "Conversations you own" : "This key acts as no member";
  const notice = $("readonly-notice");
  notice.replaceChildren(svg("eye"), el("span", "", READ_ONLY_REASON));
  notice.dataset.viewer = canConverse(me) ? "" : "yes";
}

export function setLive(on, text) {
  const live = $("live");
  live.classList.toggle("on", on);
  live.textContent = text;
}

// --- the list ---------------------------------------------------------------------------------

export function renderFilters() {
  for (const button of document.querySelectorAll(".filter")) {
    button.setAttribute("aria-selected", String(button.dataset.filter === state.filter));
  }
}

export function renderList() {
  const items = state.order.map((id) => state.conversations.get(id));
  $("conversations").replaceChildren(...items.map(listItem));
  const empty = $("list-empty");
  empty.hidden = items.length > 0;
  empty.textContent = emptyListText(state.filter);
}

// A conversation of the list; opening it on a click or a key is main.js's (one listener for all).
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
  preview.append(el("span", "text", previewPrefix(last, state.me) + previewOf(last)));
  const meta = el("span", "conv-meta");
  meta.append(ownerChip(c.owner, c.status));
  if (unread > 0) {
    const badge = el("span", "unread", String(unread));
    badge.setAttribute("aria-label", `${unread} unread`);
    meta.append(badge);
  }
  item.append(avatar, title, time, preview, meta);
  return item;
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

function tickIcon(status) {
  const [icon, label] = tickOf(status);
  const span = el("span", "ticks");
  span.dataset.status = status;
  span.title = label;
  span.append(svg(icon, label));
  return span;
}

// --- one conversation -------------------------------------------------------------------------

// Conversation `id` is opening: it is marked in the list and, on a phone, replaces the list.
export function showConversation(id, another) {
  if (another) $("messages").replaceChildren();
  $("app").classList.add("viewing");
  for (const item of document.querySelectorAll(".conv-item")) {
    item.toggleAttribute("aria-current", Number(item.dataset.id) === id);
    if (Number(item.dataset.id) === id) item.setAttribute("aria-current", "true");
  }
}

// Back to the list (on a phone, where the two do not fit side by side).
export function showList() {
  $("app").classList.remove("viewing");
  renderList();
}

export function focusComposer() {
  $("composer-input").focus({ preventScroll: true });
}

export function renderConversation() {
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
  ]
    .filter(Boolean)
    .join(" · ");
  paintAvatar($("conv-avatar"), name, c.contact.id);
  $("conv-owner").replaceWith(Object.assign(ownerChip(c.owner, c.status), { id: "conv-owner" }));
  renderWindow();
  renderActions();
  renderMessages();
  renderContact();
  renderComposer();
  $("readonly-notice").hidden = canConverse(state.me);
}

function renderWindow() {
  const node = $("conv-window");
  const bar = windowState(state.current);
  node.hidden = false;
  node.classList.toggle("closed", !bar.open);
  node.replaceChildren(svg(bar.icon), el("span", "", bar.text));
  node.title = bar.title;
}

// The window's time left counts down while the page is open (main.js calls this every 30 s); the
// composer follows when the window closes meanwhile.
export function tickWindow() {
  if (!state.current) return;
  const wasOpen = !$("conv-window").classList.contains("closed");
  renderWindow();
  if (wasOpen !== windowOpen(state.current)) renderComposer();
}

// A button shown or not, on or off, with its reason as the tooltip (and, when off, announced).
function setControl(button, { show = true, enabled = true, reason = "" }) {
  button.hidden = !show;
  button.disabled = !enabled;
  if (reason) button.title = reason;
  else button.removeAttribute("title");
  if (!enabled && reason) button.setAttribute("aria-description", reason);
  else button.removeAttribute("aria-description");
}

function renderActions() {
  for (const [id, control] of Object.entries(conversationControls(state.current, state.me))) {
    setControl($(id), control);
  }
  closeTransferMenu();
}

export function renderTransferMenu() {
  const menu = $("transfer-menu");
  const candidates = transferCandidates(state.members, state.current);
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
    li.append(button);
    menu.append(li);
  }
}

// Opens or closes "Transfer to...", its first member focused when it opens.
export function toggleTransferMenu() {
  const menu = $("transfer-menu");
  const open = menu.hidden;
  if (open) renderTransferMenu();
  menu.hidden = !open;
  $("transfer").setAttribute("aria-expanded", String(open));
  if (open) menu.querySelector("button")?.focus();
}

export function closeTransferMenu() {
  $("transfer-menu").hidden = true;
  $("transfer").setAttribute("aria-expanded", "false");
}

// The contact panel: beside the conversation on a wide screen (shown unless hidden), over it on a
// narrow one (hidden unless shown).
export function toggleContactPanel() {
  const app = $("app");
  const wide = window.matchMedia("(min-width: 1181px)").matches;
  if (wide) app.classList.toggle("no-contact");
  else app.classList.toggle("show-contact");
  const shown = wide
    ? !app.classList.contains("no-contact")
    : app.classList.contains("show-contact");
  $("toggle-contact").setAttribute("aria-expanded", String(shown));
  $("contact-panel").style.display = wide && !shown ? "none" : "";
}

// --- the messages -----------------------------------------------------------------------------

export function renderMessages() {
  const box = $("messages");
  // Following the conversation (scrolled to its end) keeps it followed; reading back stays put.
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

function messageNode(m) {
  const node = el("div", `msg ${m.sender}`);
  node.dataset.id = m.id;
  node.dataset.sender = m.sender;
  node.dataset.status = m.status;
  const who = authorOf(m, contactName(state.current?.contact), state.me);
  const author = el("div", "author");
  author.append(svg(who.icon), el("span", "", who.name));
  const carried = mediaNode(m, state.mediaTicket?.ticket);
  const body =
    carried ??
    (m.text
      ? el("div", "body", m.text)
      : el("div", "body other", `A ${m.type} message (shown on the customer's phone only)`));
  const meta = el("div", "meta");
  const held = inboundState(m);
  if (held) {
    const chip = el("span", `state ${m.status}`, held.label);
    chip.title = held.title;
    meta.append(chip);
  }
  const time = el("time", "", clock(m.created_at));
  time.dateTime = m.created_at;
  meta.append(time);
  if (m.direction === "outbound") meta.append(tickIcon(m.status));
  node.append(author, body, meta);
  const failure = failureText(m);
  if (failure) node.append(el("div", "failure", failure));
  return node;
}

// --- the composer and the contact -------------------------------------------------------------

export function renderComposer() {
  if (!state.current) return;
  const reason = composerBlock(state.current, state.contact, state.me);
  const input = $("composer-input");
  const note = $("composer-reason");
  input.disabled = Boolean(reason);
  $("send").disabled = Boolean(reason);
  $("attach").disabled = Boolean(reason);
  note.hidden = !reason;
  note.replaceChildren(svg("lock"), el("span", "", reason));
  input.placeholder = composerPlaceholder(reason, state.current);
  renderAttachment();
}

// The file the composer sends next (its name and size, a button to drop it), and why a file was
// refused: by the page before sending (a type or size WhatsApp does not take) or by the router.
export function renderAttachment() {
  const file = state.attachment;
  const problem = state.attachError;
  $("attachment").hidden = !file;
  if (file) {
    $("attachment-name").textContent = file.name;
    $("attachment-size").textContent = fileSize(file.size);
  }
  const error = $("attach-error");
  error.hidden = !problem;
  error.textContent = problem;
  if (file && !$("composer-input").disabled) {
    $("composer-input").placeholder = "Add a caption (optional)";
  }
  $("composer").classList.toggle("has-attachment", Boolean(file));
}

// The upload's progress, 0 to 1; null hides the bar.
export function renderUpload(fraction) {
  const bar = $("upload-progress");
  bar.hidden = fraction === null;
  if (fraction !== null) {
    bar.value = Math.round(fraction * 100);
    bar.textContent = `${bar.value}%`;
  }
  $("send").disabled = fraction !== null || $("composer-input").disabled;
  $("attach").disabled = $("send").disabled;
}

// The composer grows with its text, up to 160 pixels.
export function autosize() {
  const input = $("composer-input");
  input.style.height = "auto";
  input.style.height = `${Math.min(input.scrollHeight + 2, 160)}px`;
}

export function renderContact() {
  const contact = state.contact;
  if (!contact) return;
  const name = contactName(contact);
  $("contact-name").textContent = name;
  paintAvatar($("contact-avatar"), name, contact.id);
  $("contact-phone").textContent = contact.wa_id ? `+${contact.wa_id}` : "";
  $("contact-blocked").hidden = !contact.is_blocked;
  const current = state.current;
  const rows = [
    ["WhatsApp user id", contact.user_id],
    ["Email", contact.email],
    ["Note", contact.description],
    ["Channel", channelLabel(current?.channel)],
    ["Conversation started", current ? new Date(current.created_at).toLocaleString() : null],
  ];
  const facts = $("contact-facts");
  facts.replaceChildren();
  for (const [term, value] of rows) {
    if (!value) continue;
    const row = el("div");
    row.append(el("dt", "", term), el("dd", "", value));
    facts.append(row);
  }
  const { reason, controls } = contactControls(contact, state.me);
  for (const [id, control] of Object.entries(controls)) setControl($(id), control);
  $("block-reason").hidden = !reason;
  $("block-reason").textContent = reason;
}
