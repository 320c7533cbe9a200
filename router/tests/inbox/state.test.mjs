// state.js: the one state object changes only through its functions, each doing what it says.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  clearSession,
  closeConversationView,
  markConversationRead,
  mergeContact,
  openConversationId,
  sawEvent,
  setAuth,
  setConversation,
  setList,
  setMe,
  state,
  upsertMessage,
} from "../../app/inbox/static/state.js";

const conversation = (id, unread = 0) => ({ id, unread_count: unread, contact: { id: id * 10 } });

test("state cannot be assigned outside state.js", () => {
  assert.throws(() => {
    state.filter = "bot";
  }, /state\.filter changes only through state\.js/);
  assert.throws(() => {
    delete state.me;
  }, TypeError);
  assert.equal(state.filter, "all");
});

test("a list keeps the API's order and finds each conversation by id", () => {
  setList([conversation(3), conversation(1), conversation(2)]);
  assert.deepEqual(state.order, [3, 1, 2]);
  assert.equal(state.conversations.get(1).id, 1);
  assert.equal(state.conversations.size, 3);
});

test("reading a conversation zeroes its unread count once", () => {
  const unread = conversation(7, 4);
  setList([unread, conversation(8)]);
  assert.equal(markConversationRead(7), true);
  assert.equal(state.conversations.get(7).unread_count, 0);
  assert.equal(unread.unread_count, 4, "the API's item is copied, not changed");
  assert.equal(markConversationRead(7), false, "nothing left to read");
  assert.equal(markConversationRead(8), false);
  assert.equal(markConversationRead(99), false, "not in the list");
});

test("opening another conversation drops the previous one's messages", () => {
  openConversationId(1);
  setConversation({ id: 1 }, { id: 10 }, [{ id: 5, text: "hi" }]);
  assert.equal(openConversationId(1), false, "the same one: its messages stay");
  assert.equal(state.messages.size, 1);
  assert.equal(openConversationId(2), true);
  assert.equal(state.currentId, 2);
  assert.equal(state.messages.size, 0);
  closeConversationView();
  assert.equal(state.currentId, null);
  assert.equal(state.current, null);
});

test("a message's update is merged into what is known of it", () => {
  openConversationId(3);
  setConversation({ id: 3 }, { id: 30 }, [{ id: 9, text: "hello", status: "sent" }]);
  upsertMessage({ id: 9, status: "read" });
  upsertMessage({ id: 10, text: "new", status: "pending" });
  assert.deepEqual(state.messages.get(9), { id: 9, text: "hello", status: "read" });
  assert.deepEqual(
    [...state.messages.keys()],
    [9, 10],
    "a new message joins the conversation's messages",
  );
});

test("a contact's update applies to the open conversation's contact only", () => {
  setConversation({ id: 4 }, { id: 40, name: "Ana", is_blocked: false }, []);
  assert.equal(mergeContact({ id: 41, is_blocked: true }), false);
  assert.equal(state.contact.is_blocked, false);
  assert.equal(mergeContact({ id: 40, is_blocked: true }), true);
  assert.deepEqual(state.contact, { id: 40, name: "Ana", is_blocked: true });
});

test("the stream resumes from the last event that had an id", () => {
  sawEvent("17");
  sawEvent("");
  sawEvent(undefined);
  assert.equal(state.lastEventId, "17");
});

test("signing out forgets the credentials, the member and where the stream was", () => {
  setAuth({ kind: "key", value: "wr_test_secret" });
  setMe({ member_id: 1, role: "agent" });
  sawEvent("42");
  clearSession();
  assert.equal(state.auth, null);
  assert.equal(state.me, null);
  assert.equal(state.lastEventId, null);
});
