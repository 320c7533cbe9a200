// The small helpers the page leans on: the debounce of the event stream's bursts, and the PKCE
// challenge of the identity provider's sign-in.

import assert from "node:assert/strict";
import { test } from "node:test";

import { base64url } from "../../app/inbox/static/auth.js";
import { debounce } from "../../app/inbox/static/dom.js";

test("a burst of calls runs the function once, after the last one", (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  let runs = 0;
  const later = debounce(() => {
    runs += 1;
  }, 80);
  later();
  t.mock.timers.tick(50);
  later();
  t.mock.timers.tick(79);
  assert.equal(runs, 0, "each call pushes the run back");
  t.mock.timers.tick(1);
  assert.equal(runs, 1);
  later();
  t.mock.timers.tick(80);
  assert.equal(runs, 2, "a later call runs again");
});

test("the PKCE challenge is the verifier's SHA-256 in base64url, unpadded", async () => {
  // RFC 7636's example (appendix B).
  const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  assert.equal(base64url(digest), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
  assert.equal(base64url(new Uint8Array([251, 255])), "-_8");
});
