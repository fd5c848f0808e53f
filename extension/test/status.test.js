import assert from "node:assert/strict";
import test from "node:test";

import { noticeFor } from "../lib/status.js";

const at = 0;
const serverUrl = "http://127.0.0.1:8000";

test("no notice while all is well or nothing was asked yet", () => {
  assert.equal(noticeFor(undefined), null);
  assert.equal(noticeFor({ state: "ok", serverUrl, at }), null);
  assert.equal(noticeFor({ state: "unknown", serverUrl, at }), null);
});

test("one clear notice per kind of failure, naming the server", () => {
  const down = noticeFor({ state: "unreachable", serverUrl, at });
  assert.equal(down.title, "The headcheck server cannot be reached");
  assert.match(down.text, /127\.0\.0\.1:8000/);
  assert.match(down.text, /headcheck serve/);
  const key = noticeFor({ state: "unauthorized", serverUrl, detail: "unknown API key", at });
  assert.equal(key.title, "The server refused the API key");
  assert.match(key.text, /unknown API key/);
  assert.match(noticeFor({ state: "rate_limited", serverUrl, at }).title, /slow down/);
  assert.match(noticeFor({ state: "not_headcheck", serverUrl, at }).title, /not a headcheck server/);
  assert.match(noticeFor({ state: "server_error", serverUrl, detail: "HTTP 500", at }).text, /HTTP 500/);
});
