// rules.js: who may do what on the page, and the reason each control gives when it is off.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  canConverse,
  canManageContacts,
  composerBlock,
  composerPlaceholder,
  contactControls,
  conversationControls,
  filterQuery,
  initialFilter,
  transferCandidates,
  windowOpen,
  windowState,
} from "../../app/inbox/static/rules.js";

const NOW = new Date("2025-05-15T12:00:00Z");
const inHours = (hours) => new Date(NOW.getTime() + hours * 3600000).toISOString();
const agent = { member_id: 3, role: "agent" };
const viewer = { member_id: 5, role: "viewer" };
const admin = { member_id: 1, role: "admin" };
const operator = { member_id: null, role: "owner" }; // a key that acts as no member

const open = (owner = { type: "ai" }) => ({
  status: "open",
  owner,
  window_expires_at: inHours(5),
});

test("roles: viewers only read; agents write; admins and owners also block", () => {
  assert.equal(canConverse(agent), true);
  assert.equal(canConverse(viewer), false);
  assert.equal(canConverse(null), false);
  assert.equal(canManageContacts(agent), false);
  assert.equal(canManageContacts(admin), true);
  assert.equal(canManageContacts({ role: "owner" }), true);
  assert.equal(canManageContacts(null), false);
});

test("each filter tab asks the API for its conversations", () => {
  assert.equal(filterQuery("mine", agent), "?status=open&owner=3");
  assert.equal(filterQuery("bot", agent), "?status=open&owner=ai");
  assert.equal(filterQuery("closed", agent), "?status=closed");
  assert.equal(filterQuery("all", agent), "?status=open");
});

test("the list opens on the last tab, but never on Mine for a key that is no member", () => {
  assert.equal(initialFilter("bot", agent), "bot");
  assert.equal(initialFilter("mine", agent), "mine");
  assert.equal(initialFilter(null, agent), "mine");
  assert.equal(initialFilter("mine", operator), "all");
  assert.equal(initialFilter(null, operator), "all");
});

test("the 24-hour window: open with the time left, closed, or never opened", () => {
  assert.equal(windowOpen(open(), NOW), true);
  assert.equal(windowOpen({ window_expires_at: inHours(-1) }, NOW), false);
  assert.equal(windowOpen({ window_expires_at: null }, NOW), false);
  assert.equal(windowOpen(null, NOW), false);

  const left = windowState({ window_expires_at: inHours(2.5) }, NOW);
  assert.equal(left.open, true);
  assert.equal(left.icon, "clock");
  assert.equal(left.text, "24-hour window open: 2 h 30 min left to write freely");
  assert.match(left.title, /^Free-form messages until /);

  const closed = windowState({ window_expires_at: inHours(-3) }, NOW);
  assert.equal(closed.open, false);
  assert.equal(closed.icon, "lock");
  assert.match(closed.text, /^24-hour window closed on .+: a template is needed to write$/);

  const never = windowState({ window_expires_at: null }, NOW);
  assert.equal(never.open, false);
  assert.match(never.text, /the customer has not written yet/);
  assert.equal(never.title, "");
});

test("the composer says why it is off, in the order a member can do something about it", () => {
  const contact = { is_blocked: false };
  assert.equal(composerBlock(open(), contact, agent, NOW), "");
  assert.equal(composerBlock(open(), contact, viewer, NOW), "Viewers can read but not write.");
  assert.match(
    composerBlock({ ...open(), status: "closed" }, contact, agent, NOW),
    /closed: reopen it/,
  );
  assert.match(composerBlock(open(), { is_blocked: true }, agent, NOW), /blocked: unblock them/);
  assert.match(
    composerBlock({ ...open(), window_expires_at: inHours(-1) }, contact, agent, NOW),
    /window has closed/,
  );
  assert.match(
    composerBlock({ ...open(), window_expires_at: null }, contact, agent, NOW),
    /has not written yet/,
  );
  // A viewer of a closed conversation is told the first reason, the role.
  assert.match(composerBlock({ ...open(), status: "closed" }, contact, viewer, NOW), /Viewers/);
});

test("the composer's placeholder warns that writing takes the conversation from the bot", () => {
  assert.equal(
    composerPlaceholder("", open()),
    "Write a message (sending takes it over from the bot)",
  );
  assert.equal(composerPlaceholder("", open({ type: "agent", id: 3 })), "Write a message");
  assert.equal(composerPlaceholder("Viewers can read", open()), "Writing is not possible here");
});

test("an agent may take over the bot's conversation, transfer and close it", () => {
  const controls = conversationControls(open(), agent);
  assert.deepEqual(controls["take-over"], {
    show: true,
    enabled: true,
    reason: "Answer it yourself; the bot stops",
  });
  assert.equal(controls["give-back"].show, false, "the bot has it already");
  assert.equal(controls.transfer.enabled, true);
  assert.equal(controls["close-conv"].show, true);
  assert.equal(controls["reopen-conv"].show, false);
});

test("one's own conversation is given back, another member's taken from them", () => {
  const mine = conversationControls(open({ type: "agent", id: 3, name: "Lia" }), agent);
  assert.equal(mine["take-over"].show, false);
  assert.equal(mine["give-back"].show, true);
  const theirs = conversationControls(open({ type: "agent", id: 4, name: "Rui" }), agent);
  assert.equal(theirs["take-over"].show, true);
  assert.equal(theirs["take-over"].reason, "Take it from Rui");
});

test("a closed conversation offers Reopen only", () => {
  const controls = conversationControls({ ...open(), status: "closed" }, agent);
  const shown = Object.entries(controls).filter(([, c]) => c.show);
  assert.deepEqual(
    shown.map(([id]) => id),
    ["reopen-conv"],
  );
});

test("a viewer's buttons are off, each saying why", () => {
  const controls = conversationControls(open(), viewer);
  for (const id of ["take-over", "transfer", "close-conv"]) {
    assert.equal(controls[id].enabled, false, id);
    assert.equal(controls[id].reason, "Viewers cannot change conversations", id);
  }
  const operatorControls = conversationControls(open(), operator);
  assert.equal(operatorControls["take-over"].enabled, false);
  assert.equal(operatorControls["take-over"].reason, "This key acts as no member");
});

test("blocking is an admin's: an agent sees why it is off", () => {
  const forAdmin = contactControls({ is_blocked: false }, admin);
  assert.equal(forAdmin.reason, "");
  assert.equal(forAdmin.controls.block.show, true);
  assert.equal(forAdmin.controls.block.enabled, true);
  assert.match(forAdmin.controls.block.reason, /stop writing/);
  assert.equal(forAdmin.controls.unblock.show, false);

  const forAgent = contactControls({ is_blocked: true }, agent);
  assert.equal(forAgent.reason, "Blocking needs an admin's or owner's role (yours: agent).");
  assert.equal(forAgent.controls.unblock.show, true);
  assert.equal(forAgent.controls.unblock.enabled, false);
  assert.equal(forAgent.controls.unblock.reason, forAgent.reason);
});

test("Transfer to... offers the members who may own it, not its owner", () => {
  const members = [
    { id: 1, role: "admin" },
    { id: 3, role: "agent" },
    { id: 5, role: "viewer" },
  ];
  const ids = (conversation) => transferCandidates(members, conversation).map((m) => m.id);
  assert.deepEqual(ids(open()), [1, 3]);
  assert.deepEqual(ids(open({ type: "agent", id: 3 })), [1]);
});
