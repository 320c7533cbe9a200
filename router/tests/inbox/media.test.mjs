// media.js: what a message's media, place or contacts look like in words, the URL the browser
// fetches media at, and the composer's check of a file against what WhatsApp takes.

import assert from "node:assert/strict";
import { test } from "node:test";

import { previewOf, uploadErrorMessage } from "../../app/inbox/static/format.js";
import {
  ACCEPT,
  ALLOWED_TYPES,
  fileProblem,
  fileSize,
  locationView,
  mediaPreview,
  mediaSrc,
  mediaView,
  typeLabel,
  typeOfFile,
} from "../../app/inbox/static/media.js";

const MB = 1024 * 1024;

function message(media, fields = {}) {
  return { id: 7, type: media?.kind || "text", text: null, media, ...fields };
}

function media(fields = {}) {
  return {
    kind: "image",
    mime_type: "image/jpeg",
    file_size: 48213,
    filename: null,
    caption: null,
    sha256: "ab".repeat(32),
    state: "stored",
    error: null,
    url: "/api/v1/messages/7/media",
    ...fields,
  };
}

test("a stored photo is drawn with its caption, and its bytes fetched with a ticket", () => {
  const view = mediaView(message(media({ caption: "The box arrived" })));
  assert.equal(view.kind, "image");
  assert.equal(view.state, "stored");
  assert.equal(view.label, "Photo");
  assert.equal(view.caption, "The box arrived");
  assert.equal(view.reason, "");
  assert.equal(mediaSrc(media(), "wrt_a+b/c="), "/api/v1/messages/7/media?ticket=wrt_a%2Bb%2Fc%3D");
  assert.equal(mediaSrc(media({ url: "/m?x=1" }), "t"), "/m?x=1&ticket=t");
  assert.equal(mediaSrc(media(), null), "/api/v1/messages/7/media");
  assert.equal(mediaSrc(null, "t"), "");
});

test("a document is named by its file, its type and its size", () => {
  const doc = media({
    kind: "document",
    mime_type: "application/pdf",
    filename: "invoice-1042.pdf",
    file_size: 1.5 * MB,
  });
  const view = mediaView(message(doc));
  assert.equal(view.kind, "document");
  assert.equal(view.name, "invoice-1042.pdf");
  assert.equal(view.type, "PDF");
  assert.equal(view.size, "1.5 MB");
  assert.equal(view.caption, "");
  // Without a filename: the MIME type's subtype, and a generic name.
  const bare = mediaView(message(media({ kind: "document", mime_type: "text/plain" })));
  assert.equal(bare.name, "File");
  assert.equal(bare.type, "PLAIN");
});

test("a media still being fetched, or that failed, says so", () => {
  const pending = mediaView(message(media({ kind: "audio", state: "pending", url: null })));
  assert.equal(pending.state, "pending");
  assert.match(pending.reason, /on its way/);
  const failed = mediaView(
    message(media({ kind: "video", state: "failed", error: "the sha256 did not match" })),
  );
  assert.equal(failed.state, "failed");
  assert.equal(failed.reason, "The video could not be fetched: the sha256 did not match");
  const noReason = mediaView(message(media({ state: "failed" })));
  assert.equal(noReason.reason, "The photo could not be fetched");
  // An unknown kind is shown as a document rather than not at all.
  assert.equal(mediaView(message(media({ kind: "hologram" }))).kind, "document");
  assert.equal(mediaView(message(null)), null);
});

test("a shared place gets its coordinates and an OpenStreetMap link", () => {
  const view = locationView({
    latitude: 32.0853,
    longitude: 34.781768,
    name: "Main office",
    address: "1 Example Street",
  });
  assert.equal(view.name, "Main office");
  assert.equal(view.address, "1 Example Street");
  assert.equal(view.coordinates, "32.08530, 34.78177");
  assert.equal(
    view.map,
    "https://www.openstreetmap.org/?mlat=32.0853&mlon=34.781768#map=16/32.0853/34.781768",
  );
  const bare = locationView({ latitude: -33.9, longitude: 18.4, name: null, address: null });
  assert.equal(bare.name, "Shared location");
  assert.equal(bare.address, "");
  assert.equal(locationView(null), null);
});

test("the list's preview names what a message carries", () => {
  assert.equal(mediaPreview(message(media())), "Photo");
  assert.equal(mediaPreview(message(media({ caption: "Look" }))), "Photo · Look");
  const doc = media({ kind: "document", filename: "a.pdf" });
  assert.equal(mediaPreview(message(doc)), "Document · a.pdf");
  assert.equal(mediaPreview(message(media({ kind: "audio" }))), "Audio");
  const place = { latitude: 1, longitude: 2, name: "Cafe", address: null };
  assert.equal(mediaPreview(message(null, { location: place })), "Location · Cafe");
  assert.equal(
    mediaPreview(message(null, { location: { ...place, name: null, address: null } })),
    "Location",
  );
  const contacts = [
    { name: "First Contact", phones: ["+1 555 0100"] },
    { name: "Second", phones: [] },
  ];
  assert.equal(mediaPreview(message(null, { contacts })), "Contact · First Contact, Second");
  assert.equal(mediaPreview(message(null, { contacts: [] })), "");
  // format.js's preview uses it before the text.
  assert.equal(previewOf(message(media({ kind: "sticker" }))), "Sticker");
  assert.equal(previewOf({ type: "text", text: "hello", media: null }), "hello");
});

test("sizes read as people say them", () => {
  assert.equal(fileSize(0), "0 B");
  assert.equal(fileSize(1023), "1023 B");
  assert.equal(fileSize(48213), "47 KB");
  assert.equal(fileSize(5 * MB), "5.0 MB");
  assert.equal(fileSize(100 * MB), "100 MB");
  assert.equal(fileSize(null), "");
  assert.equal(typeLabel("application/pdf", "report.final.docx"), "DOCX");
  assert.equal(typeLabel("application/pdf", null), "PDF");
  assert.equal(typeLabel("", ""), "FILE");
});

test("the composer takes the files WhatsApp takes, and says why not for the others", () => {
  const file = (name, type, size = 1000) => ({ name, type, size });
  assert.equal(fileProblem(file("photo.jpg", "image/jpeg")), "");
  assert.equal(fileProblem(file("clip.mp4", "video/mp4", 16 * MB)), "");
  assert.equal(fileProblem(file("sheet.xlsx", "", 2000)), "");
  assert.equal(fileProblem(file("note.ogg", "audio/ogg; codecs=opus")), "");

  const zip = fileProblem(file("archive.zip", "application/zip"));
  assert.match(zip, /^application\/zip files cannot be sent on WhatsApp/);
  assert.match(zip, /PDF/);
  assert.match(fileProblem(file("noname", "")), /^Files of an unknown type cannot be sent/);
  assert.match(fileProblem(file("anim.gif", "image/gif")), /image\/gif/);

  assert.equal(fileProblem(file("big.png", "image/png", 5 * MB)), "");
  assert.equal(
    fileProblem(file("big.png", "image/png", 6 * MB)),
    "big.png is too large (6.0 MB): WhatsApp takes photos of up to 5.0 MB.",
  );
  assert.match(fileProblem(file("big.png", "image/png", 5 * MB + 1)), /too large/);
  assert.match(fileProblem(file("s.webp", "image/webp", 600 * 1024)), /stickers of up to 500 KB/);
  assert.equal(fileProblem(file("empty.pdf", "application/pdf", 0)), "The file is empty.");
});

test("a file's type: the browser's when WhatsApp knows it, else its extension's", () => {
  assert.equal(typeOfFile({ name: "a.jpg", type: "image/jpeg" }), "image/jpeg");
  assert.equal(typeOfFile({ name: "a.m4a", type: "audio/x-m4a" }), "audio/mp4");
  assert.equal(
    typeOfFile({ name: "a.docx", type: "" }),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  );
  assert.equal(typeOfFile({ name: "a.pdf", type: "application/octet-stream" }), "application/pdf");
  assert.equal(typeOfFile({ name: "a.zip", type: "application/zip" }), "application/zip");
  assert.equal(typeOfFile({ name: "README", type: "" }), "");
  // The picker offers exactly the types checked here.
  assert.deepEqual(ACCEPT.split(",").sort(), Object.keys(ALLOWED_TYPES).sort());
});

test("an upload's refusal is the router's reason, else a plain one", () => {
  const detail = { detail: "image/gif is not a type WhatsApp takes: image/jpeg, image/png" };
  assert.equal(uploadErrorMessage(detail, 422, "Unprocessable"), detail.detail);
  const shaped = { error: { code: "body_too_large", message: "the body is over 16 MB" } };
  assert.equal(uploadErrorMessage(shaped, 413, "Payload Too Large"), "the body is over 16 MB");
  assert.equal(
    uploadErrorMessage(null, 413, "Payload Too Large"),
    "The file is larger than the router takes.",
  );
  assert.match(uploadErrorMessage(null, 0, ""), /connection/);
});
