// Drawing what a message carries besides text: a photo or a sticker inline (a click opens it
// full size), audio and video players, a document as a chip that downloads, a place as a card
// with a map link, shared contacts as cards; a download still under way, or one that failed, says
// so. Clicks are main.js's: the nodes only say what they open (`data-media`).

import { el } from "./dom.js";
import { svg } from "./icons.js";
import { locationView, mediaSrc, mediaView } from "./media.js";

// Whether the message has anything for mediaNode to draw.
export function carriesMore(message) {
  return Boolean(message.media || message.location || message.contacts?.length);
}

// The node for the message's media, place or contacts (null for none); `ticket` lets the browser
// fetch the bytes (media.js's mediaSrc).
export function mediaNode(message, ticket) {
  if (message.media) return mediaBox(message, ticket);
  if (message.location) return locationCard(message.location);
  if (message.contacts?.length) return contactCards(message.contacts);
  return null;
}

function mediaBox(message, ticket) {
  const view = mediaView(message);
  const box = el("div", `media media-${view.kind}`);
  box.dataset.kind = view.kind;
  box.dataset.state = view.state;
  if (view.state !== "stored") {
    box.append(notReady(view));
  } else {
    box.append(stored(message, view, mediaSrc(message.media, ticket)));
  }
  if (view.caption) box.append(el("div", "body caption", view.caption));
  return box;
}

function notReady(view) {
  const failed = view.state === "failed";
  const node = el("div", failed ? "media-failed" : "media-pending");
  node.setAttribute("role", "status");
  node.append(failed ? svg("alert") : el("span", "spinner"));
  const text = el("div", "media-note");
  text.append(el("span", "media-reason", view.reason));
  const known = [view.kind === "document" ? view.name : "", view.size].filter(Boolean).join(" · ");
  if (known) text.append(el("span", "media-known muted", known));
  node.append(text);
  return node;
}

function stored(message, view, src) {
  switch (view.kind) {
    case "image":
    case "sticker": {
      const open = el("button", "media-open");
      open.type = "button";
      open.dataset.media = "open";
      open.dataset.id = message.id;
      open.title = "Open full size";
      const image = el("img");
      image.src = src;
      image.alt = view.caption || view.label;
      image.loading = "lazy";
      open.append(image);
      return open;
    }
    case "video":
    case "audio": {
      const player = el(view.kind);
      player.controls = true;
      player.preload = "metadata";
      player.src = src;
      player.setAttribute("aria-label", view.label);
      return player;
    }
    default:
      return documentChip(message, view);
  }
}

function documentChip(message, view) {
  const chip = el("button", "doc-chip");
  chip.type = "button";
  chip.dataset.media = "download";
  chip.dataset.id = message.id;
  chip.title = `Download ${view.name}`;
  const badge = el("span", "doc-icon");
  badge.append(svg("file"), el("span", "doc-type", view.type));
  const text = el("span", "doc-text");
  text.append(el("span", "doc-name", view.name));
  text.append(el("span", "doc-size muted", [view.type, view.size].filter(Boolean).join(" · ")));
  chip.append(badge, text, svg("download", "Download"));
  return chip;
}

function locationCard(location) {
  const view = locationView(location);
  const card = el("a", "place-card");
  card.href = view.map;
  card.target = "_blank";
  card.rel = "noopener noreferrer";
  card.title = "Open on OpenStreetMap";
  const pin = el("span", "place-pin");
  pin.append(svg("pin"));
  const text = el("span", "place-text");
  text.append(el("span", "place-name", view.name));
  if (view.address) text.append(el("span", "place-address", view.address));
  text.append(el("span", "place-coords muted", view.coordinates));
  text.append(el("span", "place-map", "Open map"));
  card.append(pin, text);
  return card;
}

function contactCards(contacts) {
  const list = el("div", "shared-contacts");
  for (const contact of contacts) {
    const card = el("div", "shared-contact");
    const face = el("span", "shared-face");
    face.append(svg("person"));
    const text = el("div", "shared-text");
    text.append(el("span", "shared-name", contact.name || "Contact"));
    for (const phone of contact.phones || []) {
      const link = el("a", "shared-phone", phone);
      link.href = `tel:${phone.replace(/[^\d+]/g, "")}`;
      text.append(link);
    }
    card.append(face, text);
    list.append(card);
  }
  return list;
}
