// Media in the inbox, in words: what a message carries (a photo, a voice note, a file, a place, a
// contact card), its size, the link that fetches it, and which files WhatsApp takes from a
// business. Pure functions of their arguments (no DOM, no state), so `node --test` runs them.

const KB = 1024;
const MB = 1024 * 1024;

// What WhatsApp takes from a business, by MIME type: the message type it goes as and the largest
// file. A sticker may be animated (500 KB); a static one must stay under 100 KB.
export const ALLOWED_TYPES = {
  "audio/aac": ["audio", 16 * MB],
  "audio/amr": ["audio", 16 * MB],
  "audio/mpeg": ["audio", 16 * MB],
  "audio/mp4": ["audio", 16 * MB],
  "audio/ogg": ["audio", 16 * MB],
  "text/plain": ["document", 100 * MB],
  "application/pdf": ["document", 100 * MB],
  "application/vnd.ms-powerpoint": ["document", 100 * MB],
  "application/msword": ["document", 100 * MB],
  "application/vnd.ms-excel": ["document", 100 * MB],
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ["document", 100 * MB],
  "application/vnd.openxmlformats-officedocument.presentationml.presentation": [
    "document",
    100 * MB,
  ],
  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ["document", 100 * MB],
  "image/jpeg": ["image", 5 * MB],
  "image/png": ["image", 5 * MB],
  "image/webp": ["sticker", 500 * KB],
  "video/3gpp": ["video", 16 * MB],
  "video/mp4": ["video", 16 * MB],
};

// The file picker's `accept`: the types above, so the picker offers what can be sent.
export const ACCEPT = Object.keys(ALLOWED_TYPES).join(",");

// A browser names some files' types loosely or not at all; the extension says what they are.
const BY_EXTENSION = {
  aac: "audio/aac",
  amr: "audio/amr",
  mp3: "audio/mpeg",
  m4a: "audio/mp4",
  ogg: "audio/ogg",
  opus: "audio/ogg",
  txt: "text/plain",
  pdf: "application/pdf",
  ppt: "application/vnd.ms-powerpoint",
  doc: "application/msword",
  xls: "application/vnd.ms-excel",
  docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  pptx: "application/vnd.openxmlformats-officedocument.presentationml.presentation",
  xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  png: "image/png",
  webp: "image/webp",
  "3gp": "video/3gpp",
  mp4: "video/mp4",
};

const KIND_LABELS = {
  image: "Photo",
  video: "Video",
  audio: "Audio",
  document: "Document",
  sticker: "Sticker",
};

// `audio/ogg; codecs=opus` -> `audio/ogg`.
export function baseType(mimeType) {
  return (mimeType || "").split(";")[0].trim().toLowerCase();
}

// A file's MIME type: the browser's when WhatsApp knows it, else its extension's (a browser
// names an .m4a `audio/x-m4a`, a file it does not know `application/octet-stream` or nothing).
export function typeOfFile(file) {
  const given = baseType(file.type);
  if (ALLOWED_TYPES[given]) return given;
  const name = file.name || "";
  const extension = name.includes(".") ? name.split(".").pop().toLowerCase() : "";
  return BY_EXTENSION[extension] || given;
}

// Why WhatsApp would refuse this file from the business, or "" when it takes it.
export function fileProblem(file) {
  const type = typeOfFile(file);
  const allowed = ALLOWED_TYPES[type];
  if (!allowed) {
    const what = type ? `${type} files` : "Files of an unknown type";
    return `${what} cannot be sent on WhatsApp. It takes images (JPEG, PNG), stickers (WebP), videos (MP4, 3GPP), audio (AAC, AMR, MP3, M4A, OGG) and documents (PDF, TXT, Word, Excel, PowerPoint).`;
  }
  const [kind, limit] = allowed;
  if (file.size === 0) return "The file is empty.";
  if (file.size > limit) {
    const what = `${KIND_LABELS[kind].toLowerCase()}s`;
    return `${file.name} is too large (${fileSize(file.size)}): WhatsApp takes ${what} of up to ${fileSize(limit)}.`;
  }
  return "";
}

export function fileSize(bytes) {
  if (bytes == null || Number.isNaN(bytes)) return "";
  if (bytes < KB) return `${bytes} B`;
  if (bytes < MB) return `${Math.round(bytes / KB)} KB`;
  const mb = bytes / MB;
  return `${mb < 10 ? mb.toFixed(1) : Math.round(mb)} MB`;
}

// A document's type in a word: "PDF", "DOCX", else the subtype.
export function typeLabel(mimeType, filename) {
  const extension = (filename || "").includes(".") ? filename.split(".").pop() : "";
  if (extension && extension.length <= 5) return extension.toUpperCase();
  const subtype = baseType(mimeType).split("/")[1] || "";
  return subtype ? subtype.toUpperCase().slice(0, 12) : "FILE";
}

// The URL an <img>, <audio>, <video> or a link fetches the bytes at: the API's, with a ticket
// (a browser cannot send the member's key there).
export function mediaSrc(media, ticket) {
  if (!media?.url) return "";
  const sep = media.url.includes("?") ? "&" : "?";
  return ticket ? `${media.url}${sep}ticket=${encodeURIComponent(ticket)}` : media.url;
}

// What the bubble shows for a message's media, as data:
//   { kind, state: "pending" | "stored" | "failed", label, caption, name, size, type, reason }
// null when the message carries none.
export function mediaView(message) {
  const media = message?.media;
  if (!media) return null;
  const kind = KIND_LABELS[media.kind] ? media.kind : "document";
  const name = media.filename || (kind === "document" ? "File" : KIND_LABELS[kind]);
  const view = {
    kind,
    state: media.state || "pending",
    label: KIND_LABELS[kind],
    caption: media.caption || message.text || "",
    name,
    size: fileSize(media.file_size),
    type: typeLabel(media.mime_type, media.filename),
    reason: "",
  };
  if (view.state === "pending") view.reason = `${KIND_LABELS[kind]} on its way from WhatsApp`;
  if (view.state === "failed") {
    view.reason = `The ${KIND_LABELS[kind].toLowerCase()} could not be fetched${media.error ? `: ${media.error}` : ""}`;
  }
  return view;
}

// A shared place: its coordinates in words and a map to open it on.
export function locationView(location) {
  if (!location) return null;
  const { latitude, longitude } = location;
  const lat = Number(latitude);
  const lon = Number(longitude);
  const coordinates = `${lat.toFixed(5)}, ${lon.toFixed(5)}`;
  return {
    name: location.name || "Shared location",
    address: location.address || "",
    coordinates,
    map: `https://www.openstreetmap.org/?mlat=${lat}&mlon=${lon}#map=16/${lat}/${lon}`,
  };
}

// The list's and the notifications' one line for a message: its text, else what it carries.
export function mediaPreview(message) {
  const view = mediaView(message);
  if (view) {
    const detail = view.caption || (view.kind === "document" ? view.name : "");
    return detail ? `${view.label} · ${detail}` : view.label;
  }
  if (message?.location) {
    const place = message.location.name || message.location.address;
    return place ? `Location · ${place}` : "Location";
  }
  if (message?.contacts?.length) {
    return `Contact · ${message.contacts.map((c) => c.name).join(", ")}`;
  }
  return "";
}
