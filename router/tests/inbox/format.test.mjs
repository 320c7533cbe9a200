// format.js: names, times, previews and ticks, as the list and the conversation show them.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  authorOf,
  avatarColour,
  channelLabel,
  contactName,
  dayLabel,
  duration,
  emptyListText,
  errorMessage,
  failureText,
  inboundState,
  initials,
  previewOf,
  previewPrefix,
  shortTime,
  tickOf,
} from "../../app/inbox/static/format.js";

// Noon, local time: a day before or after is still the day before or after across a clock change.
const NOW = new Date(2025, 4, 15, 12, 0);
const daysAgo = (days, hour = 12) => new Date(2025, 4, 15 - days, hour, 30);

test("initials: first and last word, letters and digits only", () => {
  assert.equal(initials("Ana Maria Souza"), "AS");
  assert.equal(initials("bob"), "B");
  assert.equal(initials("  Zoë  (VIP) "), "ZV");
  assert.equal(initials("+1 555"), "15");
  assert.equal(initials("!!!"), "#");
  assert.equal(initials(""), "#");
  assert.equal(initials(null), "#");
});

test("a seed always gets the same avatar colour", () => {
  assert.equal(avatarColour(42), avatarColour("42"));
  assert.match(avatarColour("Ana"), /^#[0-9a-f]{6}$/);
  const colours = new Set(Array.from({ length: 50 }, (_, i) => avatarColour(i)));
  assert.ok(colours.size > 1, "seeds are spread over the palette");
});

test("a contact is named by name, else number, else user id, else id", () => {
  assert.equal(contactName({ id: 1, name: "Ana", wa_id: "155" }), "Ana");
  assert.equal(contactName({ id: 1, wa_id: "15550001" }), "+15550001");
  assert.equal(contactName({ id: 1, user_id: "BR.ABC" }), "BR.ABC");
  assert.equal(contactName({ id: 7 }), "Contact 7");
  assert.equal(contactName(null), "");
});

test("the list's time: the hour today, the weekday this week, else the date", () => {
  const today = daysAgo(0, 8);
  const hour = today.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  assert.equal(shortTime(today.toISOString(), NOW), hour);
  const tuesday = daysAgo(3);
  assert.equal(
    shortTime(tuesday.toISOString(), NOW),
    tuesday.toLocaleDateString([], { weekday: "short" }),
  );
  const old = daysAgo(10);
  assert.equal(
    shortTime(old.toISOString(), NOW),
    old.toLocaleDateString([], { day: "numeric", month: "short" }),
  );
  assert.equal(shortTime(null, NOW), "");
});

test("a day separator says Today, Yesterday, else the date", () => {
  assert.equal(dayLabel(daysAgo(0, 1).toISOString(), NOW), "Today");
  assert.equal(dayLabel(daysAgo(1, 23).toISOString(), NOW), "Yesterday");
  const before = daysAgo(2);
  assert.equal(
    dayLabel(before.toISOString(), NOW),
    before.toLocaleDateString([], { weekday: "long", day: "numeric", month: "long" }),
  );
});

test("a duration in hours and minutes, never negative", () => {
  assert.equal(duration(0), "0 min");
  assert.equal(duration(59 * 60000), "59 min");
  assert.equal(duration(23 * 3600000 + 5 * 60000), "23 h 5 min");
  assert.equal(duration(-5000), "0 min");
  assert.equal(duration(89_000), "1 min", "rounded to the nearest minute");
});

test("a preview: the text, else the message's type", () => {
  assert.equal(previewOf({ text: "hello", type: "text" }), "hello");
  assert.equal(previewOf({ type: "image" }), "(image)");
  assert.equal(previewOf({}), "");
  assert.equal(previewOf(null), "");
});

test("a preview's prefix says who wrote it when the customer did not", () => {
  const me = { member_id: 3 };
  assert.equal(previewPrefix({ sender: "contact" }, me), "");
  assert.equal(previewPrefix({ sender: "ai" }, me), "Bot: ");
  assert.equal(previewPrefix({ sender: "agent", author: { id: 3, name: "Me" } }, me), "You: ");
  assert.equal(
    previewPrefix({ sender: "agent", author: { id: 4, name: "Rui Costa" } }, me),
    "Rui: ",
  );
  assert.equal(previewPrefix({ sender: "agent" }, me), "Agent: ");
  assert.equal(previewPrefix(null, me), "");
});

test("an author line: the contact, the bot, a member, or you", () => {
  const me = { member_id: 3 };
  assert.deepEqual(authorOf({ sender: "contact" }, "Ana", me), { icon: "person", name: "Ana" });
  assert.deepEqual(authorOf({ sender: "contact", author: { name: "Ana S" } }, "Ana", me), {
    icon: "person",
    name: "Ana S",
  });
  assert.deepEqual(authorOf({ sender: "ai" }, "Ana", me), { icon: "bot", name: "Bot" });
  assert.equal(
    authorOf({ sender: "agent", author: { id: 3, name: "Lia" } }, "", me).name,
    "Lia (you)",
  );
  assert.equal(authorOf({ sender: "agent", author: { id: 4, name: "Rui" } }, "", me).name, "Rui");
  assert.equal(authorOf({ sender: "agent" }, "", me).name, "Agent");
  assert.equal(authorOf({ sender: "agent", author: { id: 4 } }, "", null).name, "Agent");
});

test("ticks: each status its icon and label, an unknown one as pending", () => {
  assert.deepEqual(tickOf("read"), ["ticks", "Read"]);
  assert.deepEqual(tickOf("sent"), ["tick", "Sent"]);
  assert.deepEqual(tickOf("failed"), ["alert", "Failed"]);
  assert.deepEqual(tickOf("something-new"), tickOf("pending"));
});

test("a customer's message the bot left alone says why", () => {
  assert.deepEqual(inboundState({ direction: "inbound", status: "handed_over" }), {
    label: "for a person",
    title: "A member owns the conversation: the bot did not answer",
  });
  assert.equal(inboundState({ direction: "inbound", status: "blocked" }).label, "blocked");
  assert.equal(inboundState({ direction: "inbound", status: "processed" }), null);
  assert.equal(inboundState({ direction: "outbound", status: "blocked" }), null);
});

test("a failed outbound message names Meta's code and reason", () => {
  const failed = { direction: "outbound", status: "failed" };
  assert.equal(
    failureText({ ...failed, error_code: 131047, error_title: "Re-engagement message" }),
    "Not delivered (Error 131047: Re-engagement message)",
  );
  assert.equal(failureText({ ...failed, error_title: "Gone" }), "Not delivered (Gone)");
  assert.equal(failureText(failed), "Not delivered");
  assert.equal(failureText({ direction: "outbound", status: "read" }), null);
  assert.equal(failureText({ direction: "inbound", status: "failed" }), null);
});

test("a channel is its name, with its number when it has one", () => {
  assert.equal(
    channelLabel({ name: "Support", display_phone_number: "+1 555" }),
    "Support (+1 555)",
  );
  assert.equal(channelLabel({ name: "Support" }), "Support");
  assert.equal(channelLabel(null), null);
});

test("the list's empty text follows the filter", () => {
  assert.match(emptyListText("mine"), /No open conversation is yours/);
  assert.equal(emptyListText("closed"), "No closed conversation.");
});

test("an error line: the router's message, FastAPI's detail, else the status", () => {
  assert.equal(
    errorMessage({ error: { message: "No such member" } }, 404, "Not Found"),
    "No such member",
  );
  assert.equal(errorMessage({ detail: "Forbidden here" }, 403, "Forbidden"), "Forbidden here");
  assert.equal(
    errorMessage(
      { detail: [{ msg: "field required" }, { msg: "too long" }] },
      422,
      "Unprocessable",
    ),
    "field required; too long",
  );
  assert.equal(errorMessage(null, 502, "Bad Gateway"), "502 Bad Gateway");
});
