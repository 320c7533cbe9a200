// The agents' inbox, wired: the page's buttons, forms and keys to what they do, then the sign-in.
// The page is ES modules served as they are (no framework, no build step):
//   api.js      the REST API with the member's key or token, kept in this tab
//   auth.js     signing in and out: the key form, the identity provider (OIDC with PKCE)
//   stream.js   the live events (server-sent events, opened with a ticket)
//   state.js    the one state object and the only functions that change it
//   actions.js  what a click or an event does: ask the API, change the state, draw
//   views.js    drawing the list, the conversation, its buttons, contact and composer
//   rules.js    who may do what, and why not (pure)
//   format.js   names, times, previews, ticks (pure)
//   media.js    photos, files, places and contacts in words; the files WhatsApp takes (pure)
//   mediaview.js drawing a message's media, place or contacts
//   dom.js      small DOM helpers; icons.js the inline SVG icons

import {
  attachFile,
  block,
  chooseFilter,
  closeConversation,
  dropAttachment,
  giveBack,
  leaveConversation,
  markRead,
  openConversation,
  openMedia,
  reopenConversation,
  send,
  takeOver,
  transferTo,
  unblock,
} from "./actions.js";
import { onUnauthorized } from "./api.js";
import { providerSignInFailed, signOut, start, startProviderSignIn, submitKey } from "./auth.js";
import { $ } from "./dom.js";
import { fillIcons } from "./icons.js";
import { ACCEPT } from "./media.js";
import { state } from "./state.js";
import {
  autosize,
  closeTransferMenu,
  tickWindow,
  toggleContactPanel,
  toggleTransferMenu,
} from "./views.js";

const WINDOW_TICK_MS = 30000;

function wireSignIn() {
  $("signin-form").addEventListener("submit", submitKey);
  $("signin-oidc").addEventListener("click", () => {
    startProviderSignIn().catch(providerSignInFailed);
  });
  $("signout").addEventListener("click", () => signOut());
  onUnauthorized(signOut);
}

function wireList() {
  for (const button of document.querySelectorAll(".filter")) {
    button.addEventListener("click", () => chooseFilter(button.dataset.filter));
  }
  // One listener for every item of the list, drawn again at each change.
  const list = $("conversations");
  const itemOf = (event) => event.target.closest(".conv-item");
  list.addEventListener("click", (event) => {
    const item = itemOf(event);
    if (item) openConversation(Number(item.dataset.id));
  });
  list.addEventListener("keydown", (event) => {
    const item = itemOf(event);
    if (item && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      openConversation(Number(item.dataset.id));
    }
  });
}

function wireConversation() {
  $("back").addEventListener("click", leaveConversation);
  $("take-over").addEventListener("click", takeOver);
  $("give-back").addEventListener("click", giveBack);
  $("close-conv").addEventListener("click", closeConversation);
  $("reopen-conv").addEventListener("click", reopenConversation);
  $("block").addEventListener("click", block);
  $("unblock").addEventListener("click", unblock);
  $("toggle-contact").addEventListener("click", toggleContactPanel);
  $("transfer").addEventListener("click", toggleTransferMenu);
  $("transfer-menu").addEventListener("click", (event) => {
    const id = event.target.closest("button[data-member-id]")?.dataset.memberId;
    const member = state.members.find((m) => String(m.id) === id);
    if (member) transferTo(member);
  });
  // The menu closes on a click elsewhere or Escape (which closes a narrow screen's contact panel
  // too).
  document.addEventListener("click", (event) => {
    if (!event.target.closest(".menu-wrap")) closeTransferMenu();
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      closeTransferMenu();
      $("app").classList.remove("show-contact");
    }
  });
  setInterval(tickWindow, WINDOW_TICK_MS);
}

function wireComposer() {
  $("composer").addEventListener("submit", send);
  $("composer-input").addEventListener("input", autosize);
  // Enter sends, Shift+Enter is a new line; an input method's Enter picks its candidate.
  $("composer-input").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $("composer").requestSubmit();
    }
  });
  wireAttach();
  // A member coming back to the tab has read what is open.
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) markRead();
  });
}

// A file to send: picked with the paperclip, or dropped anywhere on the open conversation. The
// text written beside it goes as its caption.
function wireAttach() {
  const picker = $("attach-input");
  picker.accept = ACCEPT;
  $("attach").addEventListener("click", () => picker.click());
  picker.addEventListener("change", () => {
    attachFile(picker.files[0]);
    picker.value = ""; // the same file may be picked again
  });
  $("attachment-remove").addEventListener("click", dropAttachment);
  const area = $("conversation");
  const carriesFiles = (event) => [...(event.dataTransfer?.types || [])].includes("Files");
  area.addEventListener("dragover", (event) => {
    if (!carriesFiles(event) || !state.currentId) return;
    event.preventDefault();
    $("drop-hint").hidden = false;
  });
  area.addEventListener("dragleave", (event) => {
    if (!area.contains(event.relatedTarget)) $("drop-hint").hidden = true;
  });
  area.addEventListener("drop", (event) => {
    $("drop-hint").hidden = true;
    if (!carriesFiles(event)) return;
    event.preventDefault();
    attachFile(event.dataTransfer.files[0]);
  });
  // A photo opens full size, a document downloads (media drawn by mediaview.js).
  $("messages").addEventListener("click", (event) => {
    const target = event.target.closest("[data-media]");
    if (target) openMedia(target.dataset.id, target.dataset.media === "download");
  });
}

fillIcons(document);
wireSignIn();
wireList();
wireConversation();
wireComposer();
start();
