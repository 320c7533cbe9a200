// What the member does and what follows: the list and a conversation loaded, one opened and marked
// read, taken over, given back, transferred, closed, reopened, the contact blocked, a message
// written. Each asks the API, changes `state` through state.js and draws it with views.js.

import { ApiError, allPages, api, upload } from "./api.js";
import { $, debounce, toast } from "./dom.js";
import { fileProblem, mediaSrc, typeOfFile } from "./media.js";
import { filterQuery, initialFilter } from "./rules.js";
import {
  closeConversationView,
  markConversationRead,
  openConversationId,
  setAttachment,
  setConversation,
  setFilter,
  setList,
  setMediaTicket,
  state,
  upsertMessage,
} from "./state.js";
import {
  autosize,
  focusComposer,
  renderAttachment,
  renderConversation,
  renderFilters,
  renderList,
  renderMessages,
  renderUpload,
  showConversation,
  showList,
} from "./views.js";

const FILTER_STORAGE = "inbox.filter";

// An error the member should see. A 401 is not one: api.js has signed them out, saying why.
export function report(error) {
  if (error instanceof ApiError && error.status === 401) return;
  toast(error.message || String(error));
}

// --- the list ---------------------------------------------------------------------------------

export function chooseFilter(filter, load = true) {
  setFilter(filter);
  sessionStorage.setItem(FILTER_STORAGE, filter);
  renderFilters();
  if (load) loadList().catch(report);
}

export function chooseSavedFilter(me) {
  chooseFilter(initialFilter(sessionStorage.getItem(FILTER_STORAGE), me), false);
}

export async function loadList() {
  if (!state.me) return;
  const filter = state.filter;
  const page = await api("GET", `/conversations${filterQuery(filter, state.me)}&limit=100`);
  // Another tab was picked while this one loaded: the newer list is the one to show.
  if (filter !== state.filter) return;
  setList(page.items);
  renderList();
}

// The event stream's bursts (a message, its statuses, the conversation's update) read the list and
// the open conversation once.
export const scheduleList = debounce(() => loadList().catch(report), 80);
export const scheduleConversation = debounce(
  () => loadConversation(state.currentId).catch(report),
  80,
);

// --- one conversation -------------------------------------------------------------------------

export async function openConversation(id) {
  const another = openConversationId(id);
  history.replaceState(null, "", `#/c/${id}`);
  showConversation(id, another);
  try {
    await loadConversation(id);
  } catch (error) {
    report(error);
    return;
  }
  markRead();
  focusComposer();
}

export function leaveConversation() {
  closeConversationView();
  history.replaceState(null, "", "#");
  showList();
}

export async function loadConversation(id) {
  if (!id) return;
  const [detail, messages] = await Promise.all([
    api("GET", `/conversations/${id}`),
    allPages(`/conversations/${id}/messages`),
  ]);
  // The member may have opened another one meanwhile: this answer is no longer wanted.
  if (id !== state.currentId) return;
  const contact = await api("GET", `/contacts/${detail.contact.id}`).catch(() => detail.contact);
  if (stored(messages)) await mediaTicket().catch(report);
  if (id !== state.currentId) return;
  setConversation(detail, contact, messages);
  renderConversation();
  watchPending();
}

// The open conversation is read by the member looking at it (not by a key that is no member, nor
// while the tab is hidden).
export function markRead() {
  const id = state.currentId;
  if (!id || !state.me?.member_id || document.hidden) return;
  api("POST", `/conversations/${id}/read`)
    .then(() => {
      if (markConversationRead(id)) renderList();
    })
    .catch(() => {});
}

export function showMessage(message) {
  upsertMessage(message);
  if (!stored([message])) {
    renderMessages();
    watchPending();
    return;
  }
  mediaTicket()
    .catch(report)
    .finally(() => {
      renderMessages();
      watchPending();
    });
}

// --- media --------------------------------------------------------------------------------------

const TICKET_MARGIN_MS = 15000;
const PENDING_POLL_MS = 3000;
let pendingTimer = null;

const stored = (messages) => messages.some((m) => m.media?.state === "stored");

// A ticket for the media URLs (an <img> cannot send the member's key): the one held while it has
// more than 15 s to live, else a new one (the event stream's, POST /events/ticket).
export async function mediaTicket() {
  const held = state.mediaTicket;
  if (held && held.expiresAt - Date.now() > TICKET_MARGIN_MS) return held.ticket;
  const made = await api("POST", "/events/ticket");
  setMediaTicket({ ticket: made.ticket, expiresAt: Date.parse(made.expires_at) });
  return made.ticket;
}

// While a media of the open conversation is still being fetched from WhatsApp, the conversation
// is read again every few seconds, until it is stored or has failed.
function watchPending() {
  const pending = [...state.messages.values()].some((m) => m.media?.state === "pending");
  if (!pending || pendingTimer) return;
  pendingTimer = setTimeout(() => {
    pendingTimer = null;
    scheduleConversation();
  }, PENDING_POLL_MS);
}

// A click on a photo opens it full size; on a document, downloads it. With a fresh ticket: the
// one the page was drawn with may have expired since.
export async function openMedia(id, download) {
  const message = state.messages.get(Number(id));
  if (!message?.media) return;
  let ticket;
  try {
    ticket = await mediaTicket();
  } catch (error) {
    report(error);
    return;
  }
  const url = mediaSrc(message.media, ticket);
  const link = document.createElement("a");
  link.href = url;
  if (download) link.download = message.media.filename || "";
  else link.target = "_blank";
  link.rel = "noopener";
  link.click();
}

// --- the buttons ------------------------------------------------------------------------------

// One action at a time: the buttons are off while it runs, and back as they were if it fails.
async function act(action, done) {
  const buttons = [...document.querySelectorAll(".actions .btn, .contact-actions .btn")];
  const wasDisabled = buttons.map((b) => b.disabled);
  for (const button of buttons) button.disabled = true;
  try {
    await action();
    if (done) toast(done);
    await Promise.all([loadConversation(state.currentId), loadList()]);
  } catch (error) {
    buttons.forEach((button, i) => {
      button.disabled = wasDisabled[i];
    });
    report(error);
  }
}

const transfer = (memberId) =>
  api("POST", `/conversations/${state.currentId}/transfer`, { new_owner_id: memberId });

export const takeOver = () =>
  act(() => transfer(state.me.member_id), "You own this conversation now: the bot stays silent");

export const giveBack = () =>
  act(() => transfer(null), "Given back: the bot answers the next message");

export const transferTo = (member) =>
  act(() => transfer(member.id), `Transferred to ${member.name}`);

export const closeConversation = () =>
  act(() => api("POST", `/conversations/${state.currentId}/close`), "Closed");

export const reopenConversation = () =>
  act(() => api("POST", `/conversations/${state.currentId}/reopen`), "Reopened");

export const block = () => act(() => api("POST", `/contacts/${state.contact.id}/block`), "Blocked");

export const unblock = () =>
  act(() => api("DELETE", `/contacts/${state.contact.id}/block`), "Unblocked");

// --- the composer -----------------------------------------------------------------------------

// A file picked or dropped: kept for the next send, or refused at once when WhatsApp would refuse
// it (its type or its size), saying why.
export function attachFile(file) {
  if (!file || !state.currentId || $("composer-input").disabled) return;
  const problem = fileProblem(file);
  setAttachment(problem ? null : file, problem);
  renderAttachment();
  focusComposer();
}

export function dropAttachment() {
  setAttachment(null);
  renderAttachment();
}

async function sendFile(file, caption) {
  const form = new FormData();
  // As a type WhatsApp knows: a browser names some files loosely (`audio/x-m4a`).
  form.append("file", new Blob([file], { type: typeOfFile(file) }), file.name);
  if (caption) form.append("caption", caption);
  const input = $("composer-input");
  renderUpload(0);
  try {
    const message = await upload(`/conversations/${state.currentId}/messages`, form, renderUpload);
    setAttachment(null);
    if (input.value.trim() === caption) input.value = "";
    autosize();
    renderAttachment();
    showMessage(message);
    if (state.current.owner.type === "ai") scheduleConversation();
    scheduleList();
  } catch (error) {
    // The file and its caption stay, with the router's reason (a 422 names the types it takes).
    setAttachment(file, error.message);
    renderAttachment();
  } finally {
    renderUpload(null);
  }
}

export async function send(event) {
  event.preventDefault();
  const input = $("composer-input");
  const text = input.value.trim();
  if (input.disabled) return;
  if (state.attachment) {
    await sendFile(state.attachment, text);
    return;
  }
  if (!text) return;
  input.value = "";
  autosize();
  try {
    const message = await api("POST", `/conversations/${state.currentId}/messages`, { text });
    showMessage(message);
    // Writing takes the conversation over from the bot: its owner changed.
    if (state.current.owner.type === "ai") scheduleConversation();
    scheduleList();
  } catch (error) {
    // The text is not lost: it is back in the composer to send again.
    input.value = text;
    report(error);
  }
}
