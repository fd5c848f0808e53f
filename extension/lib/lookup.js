/**
 * One photo's lookup, as the service worker runs it: cached answer, else download the image
 * (host permissions let the worker read it without CORS), hash it, cached answer by hash, else
 * ask the server. Concurrent requests for the same photo share one lookup; a server that is down
 * or refuses the key is asked again only after a pause, so a page full of avatars costs one
 * failed request, not fifty.
 */

import { ApiError, lookupBytes, lookupUrl } from "./api.js";
import { shaKey, urlKey } from "./cache.js";
import { describeVerdict } from "./wording.js";

/** Largest image the worker downloads (the server's own limit is 12 MiB). */
export const MAX_IMAGE_BYTES = 10 * 1024 * 1024;
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
  constructor({ settings, cache, fetch, onStatus = () => {}, now = Date.now, maxConcurrent = 3 }) {
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
  }

  /** Forget a server failure (the user asked to try again, or the settings changed). */
  resume() {
    this.paused = null;
    this.lastState = "unknown";
  }

  /**
   * @param {{imageUrl: string, pageUrl?: string | null}} request
   * @returns {Promise<Answer>}
   */
  async lookup({ imageUrl, pageUrl }) {
    const s = await this.settings();
    const page = s.sendPageUrl ? pageUrl ?? null : null;
    const key = urlKey(imageUrl, page);
    const cached = await this.cache.get(key);
    if (cached) return { ok: true, view: cached, cached: "url" };
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.run(s, imageUrl, page).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return pending;
  }

  /**
   * @param {Settings} s
   * @param {string} imageUrl
   * @param {string | null} page
   * @returns {Promise<Answer>}
   */
  async run(s, imageUrl, page) {
    const client = { serverUrl: s.serverUrl, apiKey: s.apiKey, fetch: this.fetch };
    try {
      this.checkPause(s.serverUrl);
      const image = await this.download(imageUrl);
      let verdict;
      if (image) {
        const sha = await sha256Hex(image);
        const bySha = await this.cache.get(shaKey(sha, page));
        if (bySha) {
          await this.cache.put([urlKey(imageUrl, page)], bySha).catch(() => {});
          return { ok: true, view: bySha, cached: "sha" };
        }
        verdict = await this.ask(s.serverUrl, () => lookupBytes(client, image, { pageUrl: page, imageUrl }));
      } else {
        verdict = await this.ask(s.serverUrl, () => lookupUrl(client, { pageUrl: page, imageUrl }));
      }
      const view = describeVerdict(verdict, { pageUrl: page });
      const keys = [urlKey(imageUrl, page)];
      if (view.sha256) keys.push(shaKey(view.sha256, page));
      await this.cache.put(keys, view).catch(() => {}); // storage full: answer anyway, uncached
      return { ok: true, view, cached: verdict.cached ? "server" : false };
    } catch (err) {
      const e = err instanceof ApiError ? err : new ApiError("image_rejected", String(err));
      return { ok: false, problem: e.problem, message: e.message, serverWide: e.serverWide };
    }
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
