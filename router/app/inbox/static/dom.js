// The page's small DOM helpers: find, make, paint, tell.

import { avatarColour, initials } from "./format.js";

export const $ = (id) => document.getElementById(id);

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

export function paintAvatar(node, name, seed) {
  node.textContent = initials(name);
  node.style.background = avatarColour(seed ?? name);
}

// `fn` runs `ms` after the last call: a burst of events makes one request, not one each.
export function debounce(fn, ms) {
  let timer = null;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(fn, ms);
  };
}

const hideToast = debounce(() => {
  $("toast").hidden = true;
}, 4000);

export function toast(text) {
  const node = $("toast");
  node.textContent = text;
  node.hidden = false;
  hideToast();
}
