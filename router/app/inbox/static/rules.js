// Who may do what on the page, and why not: the role's rules, the 24-hour window, a closed
// conversation, a blocked contact. Pure functions of what they are given (the API enforces the same
// rules; these only say so before a click), so `node --test` checks them.

import { duration } from "./format.js";

export const READ_ONLY_REASON =
  "You are signed in as a viewer: you can read every conversation, but writing, handing over and " +
  "closing need an agent's role.";

export function canConverse(me) {
  return Boolean(me) && me.role !== "viewer";
}

export function canManageContacts(me) {
  return Boolean(me) && !["viewer", "agent"].includes(me.role);
}

// The list's query for a filter tab (Mine, Bot, All open, Closed).
export function filterQuery(filter, me) {
  switch (filter) {
    case "mine":
      return `?status=open&owner=${me.member_id}`;
    case "bot":
      return "?status=open&owner=ai";
    case "closed":
      return "?status=closed";
    default:
      return "?status=open";
  }
}

// --- the 24-hour window -------------------------------------------------------------------------

export function windowOpen(conversation, now = new Date()) {
  const expires = conversation?.window_expires_at;
  return Boolean(expires) && new Date(expires) > now;
}

// The bar above the messages: { open, icon, text, title }.
export function windowState(conversation, now = new Date()) {
  const expires = conversation.window_expires_at;
  if (!expires) {
    return {
      open: false,
      icon: "lock",
      text: "No 24-hour window: the customer has not written yet, a template is needed",
      title: "",
    };
  }
  const at = new Date(expires);
  if (windowOpen(conversation, now)) {
    return {
      open: true,
      icon: "clock",
      text: `24-hour window open: ${duration(at - now)} left to write freely`,
      title: `Free-form messages until ${at.toLocaleString()}`,
    };
  }
  const when = at.toLocaleString([], {
    weekday: "short",
    day: "numeric",
    month: "short",
    hour: "2-digit",
    minute: "2-digit",
  });
  return {
    open: false,
    icon: "lock",
    text: `24-hour window closed on ${when}: a template is needed to write`,
    title: `Closed at ${at.toLocaleString()}`,
  };
}

// --- the composer -------------------------------------------------------------------------------

// Why the member cannot write here, or "" when they can.
export function composerBlock(conversation, contact, me, now = new Date()) {
  if (!canConverse(me)) return "Viewers can read but not write.";
  if (conversation.status === "closed") return "This conversation is closed: reopen it to write.";
  if (contact?.is_blocked) return "The contact is blocked: unblock them to write.";
  if (!windowOpen(conversation, now)) {
    return conversation.window_expires_at
      ? "The 24-hour window has closed: a template is needed to write to this customer."
      : "The customer has not written yet: a template is needed to write first.";
  }
  return "";
}

export function composerPlaceholder(reason, conversation) {
  if (reason) return "Writing is not possible here";
  return conversation.owner.type === "ai"
    ? "Write a message (sending takes it over from the bot)"
    : "Write a message";
}

// --- the buttons --------------------------------------------------------------------------------

// The conversation's buttons, by element id: { show, enabled, reason } each.
export function conversationControls(conversation, me) {
  const converse = canConverse(me);
  const viewer = converse ? "" : "Viewers cannot change conversations";
  const closed = conversation.status === "closed";
  const owner = conversation.owner;
  const mine = owner.type === "agent" && owner.id === me.member_id;
  const takeReason = me.member_id ? viewer : "This key acts as no member";
  return {
    "take-over": {
      show: !mine && !closed,
      enabled: converse && Boolean(me.member_id),
      reason:
        takeReason ||
        (owner.type === "agent"
          ? `Take it from ${owner.name}`
          : "Answer it yourself; the bot stops"),
    },
    "give-back": {
      show: owner.type === "agent" && !closed,
      enabled: converse,
      reason: viewer || "The bot answers the customer's next message",
    },
    transfer: { show: !closed, enabled: converse, reason: viewer || "Hand it to another member" },
    "close-conv": {
      show: !closed,
      enabled: converse,
      reason: viewer || "The customer's next message opens a new conversation",
    },
    "reopen-conv": { show: closed, enabled: converse, reason: viewer },
  };
}

// The contact panel's buttons, by element id, and the note saying why they are off ("" if not).
export function contactControls(contact, me) {
  const allowed = canManageContacts(me);
  const reason = allowed ? "" : `Blocking needs an admin's or owner's role (yours: ${me.role}).`;
  return {
    reason,
    controls: {
      block: {
        show: !contact.is_blocked,
        enabled: allowed,
        reason:
          reason ||
          "The bot and members stop writing; the contact's messages are kept, not answered",
      },
      unblock: { show: contact.is_blocked, enabled: allowed, reason },
    },
  };
}

// Who "Transfer to..." offers: the members who may own a conversation, but not its owner.
export function transferCandidates(members, conversation) {
  const owner = conversation.owner;
  return members.filter(
    (m) => m.role !== "viewer" && !(owner.type === "agent" && owner.id === m.id),
  );
}

// The tab the list opens on: the one last picked in this tab, else "Mine" for a member and "All"
// for a key that acts as no member (which has no "Mine").
export function initialFilter(saved, me) {
  if (saved && (saved !== "mine" || me.member_id)) return saved;
  return me.member_id ? "mine" : "all";
}
