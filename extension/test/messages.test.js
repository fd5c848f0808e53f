import assert from "node:assert/strict";
import test from "node:test";

import { MSG, isMessage } from "../lib/messages.js";

test("message ids are distinct, namespaced and frozen", () => {
  const ids = Object.values(MSG);
  assert.equal(new Set(ids).size, ids.length);
  for (const id of ids) assert.match(id, /^headcheck:[a-z-]+$/);
  assert.ok(Object.isFrozen(MSG));
});

test("isMessage accepts only our messages", () => {
  assert.ok(isMessage({ type: MSG.LOOKUP }));
  assert.ok(isMessage({ type: MSG.LOOKUP }, MSG.LOOKUP));
  assert.ok(!isMessage({ type: MSG.LOOKUP }, MSG.RETRY));
  assert.ok(!isMessage({ type: "headcheck:nope" }));
  assert.ok(!isMessage({ type: 1 }));
  assert.ok(!isMessage(null));
  assert.ok(!isMessage("headcheck:lookup"));
});
