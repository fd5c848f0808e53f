/**
 * The headcheck server's HTTP API (docs/server.md), as the service worker calls it.
 * Every failure becomes an ApiError whose `problem` says whose fault it is: the server as a whole
 * (unreachable, key refused, ...) or this one image (not an image, too large, ...).
 */

/** Problems that concern the server as a whole: the popup shows one notice for them. */
export const SERVER_PROBLEMS = Object.freeze([
  "unreachable", "unauthorized", "rate_limited", "busy", "server_error", "not_headcheck",
]);

export class ApiError extends Error {
  /**
   * @param {string} problem  one of SERVER_PROBLEMS, or "image_rejected" / "image_unreachable"
   * @param {string} message  what happened, in words
   * @param {{status?: number, retryAfterMs?: number}} [extra]
   */
  constructor(problem, message, { status, retryAfterMs } = {}) {
    super(message);
    this.name = "ApiError";
    this.problem = problem;
    this.status = status;
    this.retryAfterMs = retryAfterMs;
  }

  get serverWide() {
    return SERVER_PROBLEMS.includes(this.problem);
  }
}

/**
 * @typedef {object} Client
 * @property {string} serverUrl
 * @property {string} apiKey
 * @property {typeof fetch} fetch
 * @property {number} [timeoutMs]
 */

/**
 * POST the image bytes to /v1/lookup.
 * @param {Client} client
 * @param {ArrayBuffer | Uint8Array} bytes
 * @param {{pageUrl?: string | null, imageUrl?: string | null, name?: string | null}} where
 * @returns {Promise<Record<string, any>>} the verdict JSON
 */
export async function lookupBytes(client, bytes, { pageUrl, imageUrl, name } = {}) {
  const params = new URLSearchParams();
  if (pageUrl) params.set("page_url", pageUrl);
  if (imageUrl && /^https?:/i.test(imageUrl)) params.set("image_url", imageUrl);
  if (name) params.set("name", name);
  const query = params.size ? `?${params}` : "";
  // The server sniffs the format itself; octet-stream also covers types a CDN mislabels.
  return call(client, `/v1/lookup${query}`, {
    method: "POST", body: bytes, headers: { "Content-Type": "application/octet-stream" },
  });
}

/**
 * POST /v1/lookup-url: the server fetches the image (public addresses only). Used when the
 * worker may not fetch it itself (no host permission and no CORS on the image's site).
 * @param {Client} client
 * @param {{pageUrl?: string | null, imageUrl: string, name?: string | null}} where
 */
export async function lookupUrl(client, { pageUrl, imageUrl, name }) {
  const body = JSON.stringify({ image_url: imageUrl, ...(pageUrl ? { page_url: pageUrl } : {}),
                                ...(name ? { name } : {}) });
  return call(client, "/v1/lookup-url", {
    method: "POST", body, headers: { "Content-Type": "application/json" },
  });
}

/**
 * POST /v1/lookup-hashes: verdicts for bytes the server's store already holds, many photos in
 * one request, nothing uploaded. Unknown ones come back as null.
 * @param {Client} client
 * @param {{sha256: string, pageUrl?: string | null, name?: string | null}[]} photos
 * @returns {Promise<(Record<string, any> | null)[]>} a verdict or null per photo, in order
 */
export async function lookupHashes(client, photos) {
  const body = JSON.stringify({ photos: photos.map((p) => ({
    sha256: p.sha256, ...(p.pageUrl ? { page_url: p.pageUrl } : {}), ...(p.name ? { name: p.name } : {}),
  })) });
  const out = await call(client, "/v1/lookup-hashes", {
    method: "POST", body, headers: { "Content-Type": "application/json" },
  });
  const results = Array.isArray(out?.results) ? out.results : [];
  return photos.map((_, i) => (results[i]?.known && results[i].verdict) || null);
}

/**
 * POST /v1/feedback: the user says a verdict was wrong (false_positive) or right (confirmed).
 * @param {Client} client
 * @param {{sha256: string, label: "false_positive" | "confirmed", note?: string}} feedback
 */
export async function sendFeedback(client, { sha256, label, note }) {
  const body = JSON.stringify({ sha256, label, ...(note ? { note: note.slice(0, 2000) } : {}) });
  return call(client, "/v1/feedback", {
    method: "POST", body, headers: { "Content-Type": "application/json" },
  });
}

/**
 * Health (needs no key), then stats (needs the key when the server has keys). `detectorsOff`:
 * the detectors that cannot run on that server, and why (its lookups carry none of their signals).
 * @param {Client} client
 * @returns {Promise<{version: string, photos: number, detectorsOff: Record<string, string>}>}
 */
export async function checkServer(client) {
  const health = await call(client, "/v1/health", { method: "GET" });
  if (health?.status !== "ok") {
    throw new ApiError("not_headcheck", "The address answers, but not as a headcheck server");
  }
  const stats = await call(client, "/v1/stats", { method: "GET" });
  const off = health.detectors_off && typeof health.detectors_off === "object" ? health.detectors_off : {};
  const detectorsOff = Object.fromEntries(Object.entries(off).map(([k, v]) => [String(k), String(v)]));
  return { version: String(health.version), photos: Number(stats.photos), detectorsOff };
}

/**
 * @param {Client} client
 * @param {string} path
 * @param {RequestInit & {headers?: Record<string, string>}} init
 */
async function call(client, path, init) {
  const headers = { Accept: "application/json", ...init.headers };
  if (client.apiKey) headers.Authorization = `Bearer ${client.apiKey}`;
  let response;
  try {
    response = await client.fetch(client.serverUrl + path, {
      ...init, headers, credentials: "omit", cache: "no-store",
      signal: AbortSignal.timeout(client.timeoutMs ?? 30_000),
    });
  } catch (err) {
    const timedOut = err instanceof Error && err.name === "TimeoutError";
    throw new ApiError("unreachable", timedOut ? "The server did not answer in time"
                                               : "The server could not be reached");
  }
  const body = await response.json().catch(() => undefined);
  if (response.ok) {
    if (body === undefined || typeof body !== "object") {
      throw new ApiError("not_headcheck", "The address answers, but not as a headcheck server",
                         { status: response.status });
    }
    return body;
  }
  throw errorFor(response, body);
}

/**
 * @param {Response} response
 * @param {any} body
 */
function errorFor(response, body) {
  const status = response.status;
  const detail = typeof body?.detail === "string" ? body.detail : `HTTP ${status}`;
  const retryAfterMs = retryAfter(response.headers.get("Retry-After"));
  if (status === 401 || status === 403) {
    return new ApiError("unauthorized", detail, { status });
  }
  if (status === 429) return new ApiError("rate_limited", detail, { status, retryAfterMs });
  if (status === 503) return new ApiError("busy", detail, { status, retryAfterMs });
  if (status === 404 || status === 405) {
    return new ApiError("not_headcheck", "The address answers, but not as a headcheck server",
                        { status });
  }
  if ([400, 413, 415, 422].includes(status)) {
    return new ApiError("image_rejected", detail, { status });
  }
  if (status === 502 || status === 504) {
    return new ApiError("image_unreachable", detail, { status });
  }
  return new ApiError("server_error", detail, { status });
}

/** @param {string | null} value  seconds or an HTTP date */
export function retryAfter(value, now = Date.now()) {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
