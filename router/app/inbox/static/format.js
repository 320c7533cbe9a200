// How the page words things: names, times, previews, ticks. Pure functions of their arguments (no
// DOM, no state), so `node --test` runs them as the browser does; the clock is an argument where
// the answer depends on it.

import { mediaPreview } from "./media.js";

const DAY_MS = 86400000;

const AVATAR_COLOURS = [
  "#5b8def",
  "#e0795b",
  "#3aa17e",
  "#a36bd4",
  "#d4a13a",
  "#4aa3b8",
  "#d45b8a",
  "#6f7fd4",
];

export function initials(name) {
  const words = (name || "?")
    .replace(/[^\p{L}\p{N} ]/gu, "")
    .trim()
    .split(/\s+/)
    .filter(Boolean);
  if (!words.length) return "#";
  return ((words[0][0] || "") + (words.length > 1 ? words[words.length - 1][0] : "")).toUpperCase();
}

// The same seed always gets the same colour, so a person looks alike in the list, the header and
// the transfer menu.
export function avatarColour(seed) {
  let hash = 0;
  for (const ch of String(seed)) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
  return AVATAR_COLOURS[hash % AVATAR_COLOURS.length];
}

export function contactName(contact) {
  if (!contact) return "";
  if (contact.name) return contact.name;
  if (contact.wa_id) return `+${contact.wa_id}`;
  return contact.user_id || `Contact ${contact.id}`;
}

// --- time -------------------------------------------------------------------------------------

// The list's time: the hour today, the weekday within the week, else the date.
export function shortTime(iso, now = new Date()) {
  if (!iso) return "";
  const at = new Date(iso);
  if (at.toDateString() === now.toDateString()) {
    return at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }
  const days = (now - at) / DAY_MS;
  if (days < 6) return at.toLocaleDateString([], { weekday: "short" });
  return at.toLocaleDateString([], { day: "numeric", month: "short" });
}

export function clock(iso) {
  return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

// The separator between two days of a conversation.
export function dayLabel(iso, now = new Date()) {
  const at = new Date(iso);
  const yesterday = new Date(now.getTime() - DAY_MS);
  if (at.toDateString() === now.toDateString()) return "Today";
  if (at.toDateString() === yesterday.toDateString()) return "Yesterday";
  return at.toLocaleDateString([], { weekday: "long", day: "numeric", month: "long" });
}

export function duration(ms) {
  const minutes = Math.max(0, Math.round(ms / 60000));
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return h ? `${h} h ${m} min` : `${m} min`;
}

// Whether the signed-in member wrote the message.
function isMine(message, me) {
  return Boolean(me) && message.author?.id === me.member_id;
}

// --- the list ---------------------------------------------------------------------------------

export function previewOf(message) {
  if (!message) return "";
  const carried = mediaPreview(message);
  if (carried) return carried;
  if (message.text) return message.text;
  return message.type ? `(${message.type})` : "";
}

// Who wrote the newest message, when it was not the customer: "Bot: ", "You: " or a first name.
export function previewPrefix(message, me) {
  if (!message) return "";
  if (message.sender === "ai") return "Bot: ";
  if (message.sender === "agent") {
    const mine = isMine(message, me);
    return mine ? "You: " : `${(message.author?.name || "Agent").split(" ")[0]}: `;
  }
  return "";
}

const EMPTY_LIST = {
  mine: "No open conversation is yours. Take one over from the bot, or wait for a transfer.",
  bot: "The bot answers no open conversation.",
  all: "No open conversation yet. A customer's first message opens one.",
  closed: "No closed conversation.",
};

export function emptyListText(filter) {
  return EMPTY_LIST[filter];
}

// --- messages ---------------------------------------------------------------------------------

const TICKS = {
  pending: ["clock", "Waiting to be sent"],
  accepted: ["clock", "Accepted by WhatsApp"],
  sent: ["tick", "Sent"],
  delivered: ["ticks", "Delivered"],
  read: ["ticks", "Read"],
  failed: ["alert", "Failed"],
};

// An outbound message's status as [icon, label]; a status the page does not know reads as pending.
export function tickOf(status) {
  return TICKS[status] || TICKS.pending;
}

const INBOUND_STATES = {
  handed_over: ["for a person", "A member owns the conversation: the bot did not answer"],
  blocked: ["blocked", "The contact is blocked: nothing was answered"],
  ignored: ["not answered", "Not a text: the bot does not answer it"],
};

// The chip on a customer's message the bot left alone, as { label, title }; null for the others.
export function inboundState(message) {
  if (message.direction !== "inbound") return null;
  const known = INBOUND_STATES[message.status];
  return known ? { label: known[0], title: known[1] } : null;
}

// What the author line says: the contact's name, "Bot", or the member (with "(you)" for oneself).
export function authorOf(message, contactFallback, me) {
  if (message.sender === "contact") {
    return { icon: "person", name: message.author?.name || contactFallback };
  }
  if (message.sender === "ai") return { icon: "bot", name: "Bot" };
  const mine = isMine(message, me);
  const name = message.author?.name;
  return { icon: "person", name: mine ? `${name || "You"} (you)` : name || "Agent" };
}

// Meta's reason for an outbound message that failed, or null when it did not.
export function failureText(message) {
  if (message.status !== "failed" || message.direction !== "outbound") return null;
  const why = [message.error_code ? `Error ${message.error_code}` : null, message.error_title]
    .filter(Boolean)
    .join(": ");
  return `Not delivered${why ? ` (${why})` : ""}`;
}

export function channelLabel(channel) {
  if (!channel) return null;
  const phone = channel.display_phone_number;
  return phone ? `${channel.name} (${phone})` : channel.name;
}

// --- the API's errors -------------------------------------------------------------------------

// One line from an error body: the router's `error.message`, FastAPI's `detail` (a text or a list
// of validation errors), else the HTTP status.
export function errorMessage(data, status, statusText) {
  const detail = Array.isArray(data?.detail)
    ? data.detail.map((d) => d.msg).join("; ")
    : data?.detail;
  return data?.error?.message || detail || `${status} ${statusText}`;
}

// Why a file was not sent, in the member's words: the router's reason when it gave one.
export function uploadErrorMessage(data, status, statusText) {
  if (status === 413 && !data) return "The file is larger than the router takes.";
  if (status === 0) return "The upload stopped: the connection to the router was lost.";
  return errorMessage(data, status, statusText);
}
