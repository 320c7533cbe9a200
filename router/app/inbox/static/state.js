// The page's one state object. Every module reads `state`; only the functions below change it, so
// this file is the whole list of what can change. Assigning to `state` anywhere else throws.

const data = {
  auth: null, // { kind: "key" | "bearer", value }
  config: null, // GET /inbox/config: the identity provider's sign-in, when configured
  me: null, // GET /api/v1/me
  members: [],
  filter: "all",
  conversations: new Map(), // id -> list item
  order: [], // the list's ids, in the API's order
  currentId: null,
  current: null, // the open conversation (detail)
  contact: null, // its contact
  messages: new Map(), // id -> message of the open conversation
  source: null, // the event stream (EventSource)
  lastEventId: null, // the newest event seen, where a reconnect resumes
  mediaTicket: null, // { ticket, expiresAt (ms) }: what <img>, <audio>, <video> fetch media with
  attachment: null, // the File the composer sends next, with the text as its caption
  attachError: "", // why the last file was refused (by the page or the router)
};

export const state = new Proxy(data, {
  set(_target, name) {
    throw new TypeError(`state.${String(name)} changes only through state.js's functions`);
  },
  deleteProperty(_target, name) {
    throw new TypeError(`state.${String(name)} changes only through state.js's functions`);
  },
});

// --- signing in and out -----------------------------------------------------------------------

export function setAuth(auth) {
  data.auth = auth;
}

export function setMe(me) {
  data.me = me;
}

export function setConfig(config) {
  data.config = config;
}

export function setMembers(members) {
  data.members = members;
}

// Signed out: nobody's credentials or identity stay, and the next stream starts from now (the
// stream itself is closed by stream.js's disconnect).
export function clearSession() {
  data.auth = null;
  data.me = null;
  data.lastEventId = null;
  data.mediaTicket = null;
  data.attachment = null;
  data.attachError = "";
}

// --- media ------------------------------------------------------------------------------------

export function setMediaTicket(ticket) {
  data.mediaTicket = ticket;
}

// The file to send next (null for none), and why a file was refused ("" when none was).
export function setAttachment(file, error = "") {
  data.attachment = file;
  data.attachError = error;
}

// --- the live stream --------------------------------------------------------------------------

export function setSource(source) {
  data.source = source;
}

export function sawEvent(id) {
  if (id) data.lastEventId = id;
}

// --- the list ---------------------------------------------------------------------------------

export function setFilter(filter) {
  data.filter = filter;
}

export function setList(items) {
  data.conversations = new Map(items.map((c) => [c.id, c]));
  data.order = items.map((c) => c.id);
}

// The member read the conversation: its unread count drops to 0. Says whether it changed.
export function markConversationRead(id) {
  const item = data.conversations.get(id);
  if (!item?.unread_count) return false;
  data.conversations.set(id, { ...item, unread_count: 0 });
  return true;
}

// --- one conversation -------------------------------------------------------------------------

// Opens conversation `id`; another one's messages are dropped. Says whether it was another one.
export function openConversationId(id) {
  const other = data.currentId !== id;
  if (other) {
    data.messages = new Map();
    // A file picked for one conversation is not sent to another.
    data.attachment = null;
    data.attachError = "";
  }
  data.currentId = id;
  return other;
}

export function closeConversationView() {
  data.currentId = null;
  data.current = null;
}

export function setConversation(detail, contact, messages) {
  data.current = detail;
  data.contact = contact;
  data.messages = new Map(messages.map((m) => [m.id, m]));
}

// A message, new or changed (its status, from a webhook): what is known is merged, not replaced.
export function upsertMessage(message) {
  const known = data.messages.get(message.id);
  data.messages.set(message.id, { ...known, ...message });
}

// A contact changed (blocked, renamed): merged when it is the open conversation's. Says whether.
export function mergeContact(contact) {
  if (!data.contact || contact.id !== data.contact.id) return false;
  data.contact = { ...data.contact, ...contact };
  return true;
}
