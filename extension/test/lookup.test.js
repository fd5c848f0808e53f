import assert from "node:assert/strict";
import test from "node:test";

import { ApiError, checkServer, retryAfter } from "../lib/api.js";
import { AnswerCache, memoryArea } from "../lib/cache.js";
import { LookupService, sha256Hex } from "../lib/lookup.js";
import { withDefaults } from "../lib/settings.js";
import { COMPOSITED, NONE } from "./fixtures.js";

const SERVER = "http://127.0.0.1:8000";
const IMAGE = "https://cdn.example/u/ann.jpg";
const PAGE = "https://site.example/in/ann/";
const BYTES = new TextEncoder().encode("jpeg bytes");

const json = (status, body, headers = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });

/** A store that holds none of the hashes asked for. */
const unknownHashes = ({ init }) =>
  json(200, { results: JSON.parse(init.body).photos.map((p) => ({ sha256: p.sha256, known: false, verdict: null })) });

/**
 * A fetch that serves the image and answers the server's routes with `server(request)`, and
 * /v1/lookup-hashes with `hashes(request)` (by default: no hash is known); every call is recorded,
 * hash lookups apart.
 */
function fakeNet(server, { image = () => new Response(BYTES, { headers: { "Content-Type": "image/jpeg" } }),
                           hashes = unknownHashes } = {}) {
  const calls = [];
  const hashCalls = [];
  const fetch = async (url, init = {}) => {
    if (String(url) === `${SERVER}/v1/lookup-hashes`) {
      hashCalls.push({ url: String(url), init });
      return hashes({ url: new URL(url), init });
    }
    calls.push({ url: String(url), init });
    if (String(url).startsWith(SERVER)) return server({ url: new URL(url), init });
    return image(url, init);
  };
  return { fetch, calls, hashCalls, serverCalls: () => calls.filter((c) => c.url.startsWith(SERVER)) };
}

function service(net, settings = {}, extra = {}) {
  const statuses = [];
  const svc = new LookupService({
    settings: async () => withDefaults({ serverUrl: SERVER, ...settings }),
    cache: new AnswerCache(memoryArea()),
    fetch: net.fetch,
    onStatus: (s) => statuses.push(s.state),
    ...extra,
  });
  return { svc, statuses };
}

test("a first lookup downloads the image and posts its bytes with the page and image URLs", async () => {
  const net = fakeNet(() => json(200, COMPOSITED));
  const { svc, statuses } = service(net, { apiKey: "k".repeat(20) });
  const answer = await svc.lookup({ imageUrl: IMAGE, pageUrl: PAGE });
  assert.equal(answer.ok, true);
  assert.equal(answer.cached, false);
  assert.equal(answer.view.label, "composited");
  assert.equal(answer.view.badgeText, "Composited 93%");
  const [call] = net.serverCalls();
  assert.equal(call.url, `${SERVER}/v1/lookup?page_url=${encodeURIComponent(PAGE)}&image_url=${encodeURIComponent(IMAGE)}`);
  assert.equal(call.init.method, "POST");
  assert.equal(call.init.headers.Authorization, `Bearer ${"k".repeat(20)}`);
  assert.equal(call.init.headers["Content-Type"], "application/octet-stream");
  assert.equal(call.init.credentials, "omit");
  assert.deepEqual(new Uint8Array(call.init.body), BYTES);
  assert.deepEqual(statuses, ["ok"]);
});

test("bytes the store holds: asked by hash, many photos in one request, nothing uploaded", async () => {
  const sha = await sha256Hex(BYTES);
  const net = fakeNet(() => json(500, { detail: "must not be called" }), {
    hashes: ({ init }) => json(200, { results: JSON.parse(init.body).photos.map((p) => (
      { sha256: p.sha256, known: true, verdict: { ...COMPOSITED, sha256: sha } })) }),
  });
  const { svc } = service(net);
  const answers = await Promise.all(Array.from({ length: 5 }, (_, i) =>
    svc.lookup({ imageUrl: `${IMAGE}?${i}`, pageUrl: `${PAGE}${i}`, name: "Ann Lee" })));
  assert.ok(answers.every((a) => a.ok && a.view.label === "composited"), JSON.stringify(answers));
  assert.equal(net.serverCalls().length, 0, "no upload");
  assert.equal(net.hashCalls.length, 1, "one request for the five photos");
  const sent = JSON.parse(net.hashCalls[0].init.body).photos;
  // Each photo joins the batch when its hash is done, in whatever order that is.
  const byPage = [...sent].sort((a, b) => a.page_url.localeCompare(b.page_url));
  assert.deepEqual(byPage, Array.from({ length: 5 }, (_, i) => (
    { sha256: sha, page_url: `${PAGE}${i}`, name: "Ann Lee" })));
});

test("the profile name goes with the upload; an older server without hash lookups is asked once", async () => {
  const net = fakeNet(() => json(200, NONE), { hashes: () => json(404, { detail: "Not Found" }) });
  const { svc, statuses } = service(net);
  await svc.lookup({ imageUrl: IMAGE, pageUrl: PAGE, name: "Ann Lee" });
  await svc.lookup({ imageUrl: `${IMAGE}?2`, pageUrl: PAGE, name: "Ann Lee" });
  const [call] = net.serverCalls();
  assert.equal(new URL(call.url).searchParams.get("name"), "Ann Lee");
  assert.equal(net.hashCalls.length, 1, "not asked again");
  assert.deepEqual(statuses, ["ok"], "the missing route is no server failure");
});

test("no key, no Authorization header; no page URL when the user turned it off", async () => {
  const net = fakeNet(() => json(200, NONE));
  const { svc } = service(net, { sendPageUrl: false });
  await svc.lookup({ imageUrl: IMAGE, pageUrl: PAGE });
  const [call] = net.serverCalls();
  assert.equal(call.init.headers.Authorization, undefined);
  assert.ok(!call.url.includes("page_url"));
});

test("the same image URL again is answered from the cache: no download, no server call", async () => {
  const net = fakeNet(() => json(200, COMPOSITED));
  const { svc } = service(net);
  await svc.lookup({ imageUrl: IMAGE, pageUrl: PAGE });
  const again = await svc.lookup({ imageUrl: IMAGE, pageUrl: PAGE });
  assert.equal(again.cached, "url");
  assert.equal(again.view.label, "composited");
  assert.equal(net.calls.length, 2);
});

test("the same bytes under another URL: downloaded, but the server is not asked again", async () => {
  // The second key is the sha256 the server reports: make it the real one.
  const sha = await sha256Hex(BYTES);
  const net = fakeNet(() => json(200, { ...COMPOSITED, sha256: sha }));
  const { svc } = service(net);
  await svc.lookup({ imageUrl: IMAGE, pageUrl: PAGE });
  const other = await svc.lookup({ imageUrl: `${IMAGE}?size=200`, pageUrl: PAGE });
  assert.equal(other.cached, "sha");
  assert.equal(other.view.label, "composited");
  assert.equal(net.serverCalls().length, 1);
  assert.equal(net.calls.length, 3, "two downloads, one server call");
});

test("concurrent lookups of one photo share one request", async () => {
  let release;
  const gate = new Promise((r) => { release = r; });
  const net = fakeNet(async () => { await gate; return json(200, COMPOSITED); });
  const { svc } = service(net);
  const all = Promise.all(Array.from({ length: 5 }, () => svc.lookup({ imageUrl: IMAGE, pageUrl: PAGE })));
  await new Promise((r) => setTimeout(r, 10));
  release();
  const answers = await all;
  assert.ok(answers.every((a) => a.ok && a.view.label === "composited"));
  assert.equal(net.serverCalls().length, 1);
});

test("at most maxConcurrent server calls at once", async () => {
  let running = 0;
  let peak = 0;
  const net = fakeNet(async () => {
    running += 1;
    peak = Math.max(peak, running);
    await new Promise((r) => setTimeout(r, 5));
    running -= 1;
    return json(200, NONE);
  });
  const { svc } = service(net, {}, { maxConcurrent: 2 });
  await Promise.all(Array.from({ length: 6 }, (_, i) => svc.lookup({ imageUrl: `${IMAGE}?${i}`, pageUrl: PAGE })));
  assert.equal(peak, 2);
});

test("a server that is down: one failed request, then quiet until the pause ends", async () => {
  let now = 0;
  const net = fakeNet(() => { throw new TypeError("Failed to fetch"); });
  const { svc, statuses } = service(net, {}, { now: () => now });
  const first = await svc.lookup({ imageUrl: IMAGE, pageUrl: PAGE });
  assert.deepEqual({ ok: first.ok, problem: first.problem, serverWide: first.serverWide },
                   { ok: false, problem: "unreachable", serverWide: true });
  for (let i = 0; i < 5; i += 1) {
    const a = await svc.lookup({ imageUrl: `${IMAGE}?${i}`, pageUrl: PAGE });
    assert.equal(a.problem, "unreachable");
  }
  assert.equal(net.serverCalls().length, 1, "no request while paused");
  assert.equal(net.calls.length, 2, "no image downloads while paused either");
  assert.deepEqual(statuses, ["unreachable"], "one status change, not six");
  now += 60_000;
  await svc.lookup({ imageUrl: IMAGE, pageUrl: PAGE });
  assert.equal(net.serverCalls().length, 2);
});

test("a refused key is reported as such; resume() asks again at once", async () => {
  let ok = false;
  const net = fakeNet(() => (ok ? json(200, NONE) : json(401, { detail: "unknown API key" })));
  const { svc, statuses } = service(net, { apiKey: "wrong-key-0123456789" });
  const a = await svc.lookup({ imageUrl: IMAGE, pageUrl: PAGE });
  assert.equal(a.problem, "unauthorized");
  assert.equal(a.message, "unknown API key");
  assert.equal((await svc.lookup({ imageUrl: `${IMAGE}?2`, pageUrl: PAGE })).problem, "unauthorized");
  assert.equal(net.serverCalls().length, 1);
  ok = true;
  svc.resume();
  assert.equal((await svc.lookup({ imageUrl: IMAGE, pageUrl: PAGE })).ok, true);
  assert.deepEqual(statuses, ["unauthorized", "ok"]);
});

test("429: waits for Retry-After and tries once more", async () => {
  let n = 0;
  const net = fakeNet(() => (n++ === 0 ? json(429, { detail: "slow down" }, { "Retry-After": "0" }) : json(200, NONE)));
  const { svc, statuses } = service(net);
  const a = await svc.lookup({ imageUrl: IMAGE, pageUrl: PAGE });
  assert.equal(a.ok, true);
  assert.equal(net.serverCalls().length, 2);
  assert.deepEqual(statuses, ["ok"]);
});

test("an image the server cannot analyse fails alone; the server stays ok", async () => {
  const net = fakeNet(() => json(415, { detail: "not an image" }));
  const { svc, statuses } = service(net);
  const a = await svc.lookup({ imageUrl: IMAGE, pageUrl: PAGE });
  assert.deepEqual({ problem: a.problem, serverWide: a.serverWide, message: a.message },
                   { problem: "image_rejected", serverWide: false, message: "not an image" });
  assert.deepEqual(statuses, []);
});

test("an image the worker may not read is fetched by the server (lookup-url)", async () => {
  const net = fakeNet(() => json(200, COMPOSITED), { image: () => { throw new TypeError("CORS"); } });
  const { svc } = service(net);
  const a = await svc.lookup({ imageUrl: IMAGE, pageUrl: PAGE });
  assert.equal(a.ok, true);
  const [call] = net.serverCalls();
  assert.equal(call.url, `${SERVER}/v1/lookup-url`);
  assert.deepEqual(JSON.parse(call.init.body), { image_url: IMAGE, page_url: PAGE });
});

test("a missing image is a per-photo problem", async () => {
  const net = fakeNet(() => json(200, NONE), { image: () => new Response("gone", { status: 404 }) });
  const { svc } = service(net);
  const a = await svc.lookup({ imageUrl: IMAGE, pageUrl: PAGE });
  assert.equal(a.problem, "image_unreachable");
  assert.equal(a.serverWide, false);
  assert.equal(net.serverCalls().length, 0);
});

test("something that is not a headcheck server", async () => {
  const net = fakeNet(() => new Response("<html>", { status: 200, headers: { "Content-Type": "text/html" } }));
  const { svc } = service(net);
  assert.equal((await svc.lookup({ imageUrl: IMAGE, pageUrl: PAGE })).problem, "not_headcheck");
});

test("checkServer: health without the key, stats with it", async () => {
  const seen = [];
  const fetch = async (url, init) => {
    seen.push([new URL(url).pathname, init.headers.Authorization]);
    return new URL(url).pathname === "/v1/health" ? json(200, { status: "ok", version: "0.1.0", index_photos: 12 })
                                                   : json(200, { photos: 15 });
  };
  assert.deepEqual(await checkServer({ serverUrl: SERVER, apiKey: "key-0123456789abcdef", fetch }),
                   { version: "0.1.0", photos: 15, detectorsOff: {} });
  assert.deepEqual(seen.map(([p]) => p), ["/v1/health", "/v1/stats"]);
  const off = { "diffusion.clip_probe": "the CLIP encoder is not installed" };
  const offFetch = async (url) => (new URL(url).pathname === "/v1/health"
    ? json(200, { status: "ok", version: "0.2.0", index_photos: 3, detectors_off: off }) : json(200, { photos: 3 }));
  assert.deepEqual((await checkServer({ serverUrl: SERVER, apiKey: "", fetch: offFetch })).detectorsOff, off);
  const refused = async (url) => (new URL(url).pathname === "/v1/health" ? json(200, { status: "ok", version: "1" })
                                                                           : json(401, { detail: "an API key is required" }));
  await assert.rejects(checkServer({ serverUrl: SERVER, apiKey: "", fetch: refused }),
                       (e) => e instanceof ApiError && e.problem === "unauthorized");
});

test("Retry-After in seconds or as a date", () => {
  assert.equal(retryAfter("3"), 3000);
  assert.equal(retryAfter(new Date(10_000).toUTCString(), 4000), 6000);
  assert.equal(retryAfter(null), undefined);
  assert.equal(retryAfter("soon"), undefined);
});

test("a full storage does not lose the answer", async () => {
  const area = memoryArea();
  area.set = async () => { throw new Error("QUOTA_BYTES quota exceeded"); };
  const net = fakeNet(() => json(200, COMPOSITED));
  const svc = new LookupService({ settings: async () => withDefaults({ serverUrl: SERVER }),
                                  cache: new AnswerCache(area), fetch: net.fetch });
  const a = await svc.lookup({ imageUrl: IMAGE, pageUrl: PAGE });
  assert.equal(a.ok, true);
  assert.equal(a.view.label, "composited");
});
