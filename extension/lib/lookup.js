/**
 * One photo's lookup, as the service worker runs it: cached answer, else download the image
 * (host permissions let the worker read it without CORS), hash it, cached answer by hash, else
 * ask the server. Concurrent requests for the same photo share one lookup; a server that is down
 * or refuses the key is asked again only after a pause, so a page full of avatars costs one
 * failed request, not fifty.
 */

import { ApiError, lookupBytes, lookupHashes, lookupUrl } from "./api.js";
import { shaKey, urlKey } from "./cache.js";
import { describeVerdict } from "./wording.js";

/** Largest image the worker downloads (the server's own limit is 12 MiB). */
export const MAX_IMAGE_BYTES = 10 * 1024 * 1024;
/** Hashes asked together: photos found within this window share one request. */
export const HASH_BATCH_MS = 15;
const HASH_BATCH_MAX = 100; // the server's limit per request
/** How long a server failure is trusted before the server is asked again. */
export const PAUSE_MS = Object.freeze({
  unreachable: 15_000, unauthorized: 10 * 60_000, not_headcheck: 10 * 60_000,
  server_error: 15_000, rate_limited: 5_000, busy: 2_000,
});

/**
 * @typedef {import("./wording.js").VerdictView} VerdictView
 * @typedef {import("./settings.js").Settings} Settings
 * @typedef {import("./status.js").ServerStatus} ServerStatus
 *
 * @typedef {{ok: true, view: VerdictView, cached: "url" | "sha" | "server" | false}
 *         | {ok: false, problem: string, message: string, serverWide: boolean}} Answer
 */

export class LookupService {
  /**
   * @param {object} deps
   * @param {() => Promise<Settings>} deps.settings
   * @param {import("./cache.js").AnswerCache} deps.cache
   * @param {typeof fetch} deps.fetch
   * @param {(status: ServerStatus) => void | Promise<void>} [deps.onStatus]  the server's state
   *   changed (the worker stores it for the popup)
   * @param {() => number} [deps.now]
   * @param {number} [deps.maxConcurrent]  the server analyses one photo at a time anyway
   */
  constructor({ settings, cache, fetch, onStatus = () => {}, now = Date.now, maxConcurrent = 4 }) {
    this.settings = settings;
    this.cache = cache;
    this.fetch = fetch;
    this.onStatus = onStatus;
    this.now = now;
    this.slots = new Slots(maxConcurrent);
    /** @type {Map<string, Promise<Answer>>} */
    this.inFlight = new Map();
    /** @type {{problem: string, message: string, until: number, serverUrl: string} | null} */
    this.paused = null;
    /** @type {string} */
    this.lastState = "unknown";
    /** @type {{client: any, items: {sha256: string, pageUrl: string | null, name: string | null,
     *          resolve: (v: Record<string, any> | null) => void}[], timer: any} | null} */
    this.batch = null;
    /** Servers that do not know /v1/lookup-hashes (older ones): bytes only. */
    this.noHashes = new Set();
  }

  /** Forget a server failure (the user asked to try again, or the settings changed). */
  resume() {
    this.paused = null;
    this.lastState = "unknown";
  }

  /**
   * @param {{imageUrl: string, pageUrl?: string | null, name?: string | null}} request
   * @returns {Promise<Answer>}
   */
  async lookup({ imageUrl, pageUrl, name }) {
    const s = await this.settings();
    // The profile's address and name go together: both say whose photo it is.
    const page = s.sendPageUrl ? pageUrl ?? null : null;
    const who = s.sendPageUrl && name ? name : null;
    // The server is part of the key: answers of another server (or of this one before a change
    // in Options) are never reused, even while the old cache is still being cleared.
    const context = `${s.serverUrl} ${page ?? ""}${who ? `#${who}` : ""}`;
    const key = urlKey(imageUrl, context);
    const cached = await this.cache.get(key);
    if (cached) return { ok: true, view: cached, cached: "url" };
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.run(s, imageUrl, page, who, context).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return pending;
  }

  /**
   * @param {Settings} s
   * @param {string} imageUrl
   * @param {string | null} page
   * @param {string | null} name
   * @param {string | null} context  what the cache keys hold besides the image: page and name
   * @returns {Promise<Answer>}
   */
  async run(s, imageUrl, page, name, context) {
    const client = { serverUrl: s.serverUrl, apiKey: s.apiKey, fetch: this.fetch };
    try {
      this.checkPause(s.serverUrl);
      const image = await this.download(imageUrl);
      let verdict;
      if (image) {
        const sha = await sha256Hex(image);
        const bySha = await this.cache.get(shaKey(sha, context));
        if (bySha) {
          await this.cache.put([urlKey(imageUrl, context)], bySha).catch(() => {});
          return { ok: true, view: bySha, cached: "sha" };
        }
        // Bytes the server's store holds (a crawled photo) need no upload nor analysis: ask by
        // hash first, together with the other photos found at the same moment.
        verdict = await this.byHash(client, sha, page, name) ??
                  await this.ask(s.serverUrl, () => lookupBytes(client, image, { pageUrl: page, imageUrl, name }));
      } else {
        verdict = await this.ask(s.serverUrl, () => lookupUrl(client, { pageUrl: page, imageUrl, name }));
      }
      const view = describeVerdict(verdict, { pageUrl: page });
      const keys = [urlKey(imageUrl, context)];
      if (view.sha256) keys.push(shaKey(view.sha256, context));
      await this.cache.put(keys, view).catch(() => {}); // storage full: answer anyway, uncached
      return { ok: true, view, cached: verdict.cached ? "server" : false };
    } catch (err) {
      const e = err instanceof ApiError ? err : new ApiError("image_rejected", String(err));
      return { ok: false, problem: e.problem, message: e.message, serverWide: e.serverWide };
    }
  }

  /**
   * The stored verdict for these bytes, or null (unknown to the store, an older server, or any
   * failure: the upload that follows then reports the server's state).
   * @param {{serverUrl: string, apiKey: string, fetch: typeof fetch}} client
   * @param {string} sha256
   * @param {string | null} pageUrl
   * @param {string | null} name
   * @returns {Promise<Record<string, any> | null>}
   */
  byHash(client, sha256, pageUrl, name) {
    if (this.noHashes.has(client.serverUrl) || this.paused) return Promise.resolve(null);
    return new Promise((resolve) => {
      if (this.batch && this.batch.client.serverUrl !== client.serverUrl) this.flush();
      this.batch ??= { client, items: [], timer: setTimeout(() => this.flush(), HASH_BATCH_MS) };
      this.batch.items.push({ sha256, pageUrl, name, resolve });
      if (this.batch.items.length >= HASH_BATCH_MAX) this.flush();
    });
  }

  /** Send the hashes gathered so far. */
  flush() {
    const batch = this.batch;
    if (!batch) return;
    this.batch = null;
    clearTimeout(batch.timer);
    lookupHashes(batch.client, batch.items).then(
      (found) => batch.items.forEach((item, i) => item.resolve(found[i])),
      (err) => {
        if (err instanceof ApiError && err.problem === "not_headcheck") {
          this.noHashes.add(batch.client.serverUrl); // a server from before /v1/lookup-hashes
        }
        batch.items.forEach((item) => item.resolve(null));
      });
  }

  /**
   * The image's bytes, or null when the worker may not read them (no host permission for that
   * site and no CORS): then the server is asked to fetch the image itself.
   * @param {string} imageUrl
   * @returns {Promise<ArrayBuffer | null>}
   */
  async download(imageUrl) {
    let response;
    try {
      response = await this.fetch(imageUrl, { credentials: "omit", signal: AbortSignal.timeout(15_000) });
    } catch {
      return null;
    }
    if (!response.ok) {
      throw new ApiError("image_unreachable", `the image could not be downloaded (HTTP ${response.status})`);
    }
    const declared = Number(response.headers.get("Content-Length"));
    if (declared > MAX_IMAGE_BYTES) throw new ApiError("image_rejected", "the image is too large");
    const bytes = await response.arrayBuffer();
    if (bytes.byteLength > MAX_IMAGE_BYTES) throw new ApiError("image_rejected", "the image is too large");
    if (bytes.byteLength === 0) throw new ApiError("image_rejected", "the image is empty");
    return bytes;
  }

  /**
   * Call the server in a free slot; a request refused for load is tried again once, after the
   * server's Retry-After; the server's state is reported when it changes.
   * @template T
   * @param {string} serverUrl
   * @param {() => Promise<T>} call
   * @returns {Promise<T>}
   */
  async ask(serverUrl, call) {
    for (let attempt = 0; ; attempt += 1) {
      this.checkPause(serverUrl);
      try {
        const out = await this.slots.run(call);
        this.report(serverUrl, "ok");
        return out;
      } catch (err) {
        if (!(err instanceof ApiError) || !err.serverWide) throw err;
        const transient = err.problem === "rate_limited" || err.problem === "busy";
        if (transient && attempt === 0) {
          await sleep(Math.min(err.retryAfterMs ?? 1000, 10_000));
          continue;
        }
        const pause = /** @type {Record<string, number>} */ (PAUSE_MS)[err.problem] ?? 15_000;
        this.paused = { problem: err.problem, message: err.message, serverUrl,
                        until: this.now() + Math.max(pause, err.retryAfterMs ?? 0) };
        this.report(serverUrl, err.problem, err.message);
        throw err;
      }
    }
  }

  /** @param {string} serverUrl */
  checkPause(serverUrl) {
    const p = this.paused;
    if (p && p.serverUrl === serverUrl && this.now() < p.until) {
      throw new ApiError(p.problem, p.message);
    }
  }

  /** @param {string} serverUrl @param {string} state @param {string} [detail] */
  report(serverUrl, state, detail) {
    if (state === this.lastState) return;
    this.lastState = state;
    if (state === "ok") this.paused = null;
    this.onStatus({ state, serverUrl, detail, at: this.now() });
  }
}

/** A counting semaphore. */
class Slots {
  constructor(/** @type {number} */ n) {
    this.free = n;
    /** @type {(() => void)[]} */
    this.waiting = [];
  }

  /** @template T @param {() => Promise<T>} fn @returns {Promise<T>} */
  async run(fn) {
    if (this.free > 0) this.free -= 1;
    else await new Promise((resolve) => this.waiting.push(() => resolve(undefined)));
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.free += 1;
    }
  }
}

/** @param {ArrayBuffer | Uint8Array} bytes */
export async function sha256Hex(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));
