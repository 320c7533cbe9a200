// The tenant's live events (GET /api/v1/events, server-sent): each one refreshes what it touches.
// An EventSource cannot set headers, so the stream is opened with a short-lived ticket
// (POST /api/v1/events/ticket) asked for with the member's credentials.

import { markRead, scheduleConversation, scheduleList, showMessage } from "./actions.js";
import { API, api } from "./api.js";
import { mergeContact, sawEvent, setSource, state } from "./state.js";
import { renderComposer, renderContact, setLive } from "./views.js";

const EVENT_TYPES = [
  "message.created",
  "message.status",
  "conversation.created",
  "conversation.updated",
  "contact.updated",
];

export async function connect() {
  if (!state.auth) return;
  disconnect();
  let ticket;
  try {
    ticket = (await api("POST", "/events/ticket")).ticket;
  } catch {
    setLive(false, "offline");
    setTimeout(connect, 3000);
    return;
  }
  // After a drop, the stream replays what came since the last event seen (the server keeps an
  // hour of them); the lists are read again as well, in case even that was missed.
  const since = state.lastEventId ? `&last_event_id=${state.lastEventId}` : "";
  const source = new EventSource(`${API}/events?ticket=${encodeURIComponent(ticket)}${since}`);
  setSource(source);
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
    disconnect();
    setTimeout(async () => {
      await connect();
      refreshAll();
    }, 1000);
  };
  for (const type of EVENT_TYPES) {
    source.addEventListener(type, (event) => {
      sawEvent(event.lastEventId);
      try {
        onEvent(JSON.parse(event.data));
      } catch (error) {
        console.error("bad event", error);
      }
    });
  }
}

export function disconnect() {
  state.source?.close();
  setSource(null);
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
        // A whole message of the open conversation is drawn at once; anything less (a status
        // without its conversation) reads the conversation again.
        if (conversationId === state.currentId && object.id && object.sender) {
          showMessage(object);
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
      if (mergeContact(object)) {
        renderContact();
        renderComposer();
      }
      break;
    default:
      break;
  }
}
