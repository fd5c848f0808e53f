import assert from "node:assert/strict";
import test from "node:test";

import { AnswerCache, memoryArea, shaKey, urlKey } from "../lib/cache.js";

test("an answer is found by image URL and by sha256, for the same page only", async () => {
  const cache = new AnswerCache(memoryArea());
  await cache.put([urlKey("https://cdn/a.jpg", "https://site/u/a"), shaKey("ab12", "https://site/u/a")], { label: "reused" });
  assert.deepEqual(await cache.get(urlKey("https://cdn/a.jpg", "https://site/u/a")), { label: "reused" });
  assert.deepEqual(await cache.get(shaKey("ab12", "https://site/u/a")), { label: "reused" });
  assert.equal(await cache.get(urlKey("https://cdn/a.jpg", "https://site/u/b")), undefined);
  assert.equal(await cache.get(urlKey("https://cdn/a.jpg", null)), undefined);
});

test("answers age out", async () => {
  let now = 1000;
  const cache = new AnswerCache(memoryArea(), { ttlMs: 100, now: () => now });
  await cache.put(["k"], 1);
  now += 100;
  assert.equal(await cache.get("k"), 1);
  now += 1;
  assert.equal(await cache.get("k"), undefined);
});

test("the oldest keys are dropped past the cap, and re-put keys count as new", async () => {
  const area = memoryArea();
  const cache = new AnswerCache(area, { maxEntries: 3 });
  await cache.put(["a"], 1);
  await cache.put(["b"], 2);
  await cache.put(["c"], 3);
  await cache.put(["a"], 11); // a is now the newest
  await cache.put(["d"], 4); // b goes
  assert.equal(await cache.get("b"), undefined);
  assert.equal(await cache.get("a"), 11);
  assert.equal(await cache.get("c"), 3);
  assert.equal(await cache.get("d"), 4);
  assert.equal([...area.data.keys()].filter((k) => !k.endsWith("#index")).length, 3);
});

test("concurrent puts do not lose each other's keys", async () => {
  const area = memoryArea();
  const cache = new AnswerCache(area, { maxEntries: 100 });
  await Promise.all(Array.from({ length: 20 }, (_, i) => cache.put([`k${i}`], i)));
  for (let i = 0; i < 20; i += 1) assert.equal(await cache.get(`k${i}`), i);
  const index = [...area.data.entries()].find(([k]) => k.endsWith("#index"))[1];
  assert.equal(index.length, 20);
});

test("clear forgets everything", async () => {
  const area = memoryArea();
  const cache = new AnswerCache(area);
  await cache.put(["a", "b"], 1);
  await cache.clear();
  assert.equal(await cache.get("a"), undefined);
  assert.equal(area.data.size, 0);
});
