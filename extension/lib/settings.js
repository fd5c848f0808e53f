/** Settings: defaults, validation of what the options page accepts, and permission patterns. */

/** The sites a fresh install runs on; each is covered by the manifest's host_permissions. */
export const DEFAULT_SITES = Object.freeze([
  "https://*.linkedin.com/*",
  "https://github.com/*",
  "https://x.com/*",
  "https://twitter.com/*",
  "https://mastodon.social/*",
]);

/**
 * @typedef {object} Settings
 * @property {string} serverUrl  base URL of the headcheck server, without a trailing slash
 * @property {string} apiKey     Bearer key ("" when the server needs none, as on loopback)
 * @property {string[]} sites    match patterns of the pages the content script runs on
 * @property {boolean} showChecked  quiet "checked" mark on photos with no signal
 * @property {boolean} sendPageUrl  send the profile address with each lookup (helps spot reuse)
 */

/** @type {Readonly<Settings>} */
export const DEFAULT_SETTINGS = Object.freeze({
  serverUrl: "http://127.0.0.1:8000",
  apiKey: "",
  sites: [...DEFAULT_SITES],
  showChecked: false,
  sendPageUrl: true,
});

/** Keys of the settings in chrome.storage.local. */
export const SETTINGS_KEYS = Object.freeze(Object.keys(DEFAULT_SETTINGS));

/**
 * Stored values over the defaults; values of the wrong type are ignored.
 * @param {Record<string, unknown>} [stored]
 * @returns {Settings}
 */
export function withDefaults(stored = {}) {
  /** @type {Record<string, unknown>} */
  const out = { ...DEFAULT_SETTINGS, sites: [...DEFAULT_SETTINGS.sites] };
  for (const key of SETTINGS_KEYS) {
    const value = stored[key];
    const wanted = /** @type {Record<string, unknown>} */ (DEFAULT_SETTINGS)[key];
    if (Array.isArray(wanted) ? Array.isArray(value) : typeof value === typeof wanted) {
      out[key] = value;
    }
  }
  return /** @type {Settings} */ (out);
}

/**
 * The server address as the options page accepts it: http(s), no credentials, no query.
 * @param {string} text
 * @returns {string} the URL without a trailing slash
 * @throws {Error} saying what is wrong
 */
export function normalizeServerUrl(text) {
  let url;
  try {
    url = new URL(String(text).trim());
  } catch {
    throw new Error("Enter the server address, e.g. http://127.0.0.1:8000");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new Error("The server address must start with http:// or https://");
  }
  if (url.username || url.password) {
    throw new Error("Put the API key in its own field, not in the address");
  }
  if (url.search || url.hash) throw new Error("The server address takes no ?query or #part");
  return url.href.replace(/\/+$/, "");
}

const PATTERN = /^(\*|https?):\/\/(\*|(?:\*\.)?[a-z0-9.-]+|\[[0-9a-f:]+\])(:\d+)?(\/.*)$/i;
const HOST = /^(?:\*\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)*(:\d+)?$/i;

/**
 * The "sites" field: one match pattern (https://*.example.org/*) or bare host (example.org) a
 * line. A bare host means https on that host and its subdomains.
 * @param {string} text
 * @returns {{patterns: string[], errors: string[]}}
 */
export function parseSites(text) {
  /** @type {string[]} */ const patterns = [];
  /** @type {string[]} */ const errors = [];
  for (const raw of String(text).split(/[\n,]/)) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    let pattern = null;
    if (line.includes("://")) {
      const m = PATTERN.exec(line);
      // Ports are dropped: Chrome's match patterns ignore them.
      if (m && (m[2] !== "*" || m[1] !== "*")) pattern = `${m[1]}://${m[2]}${m[4]}`;
    } else if (HOST.test(line)) {
      const host = line.replace(/:\d+$/, "").toLowerCase();
      pattern = host.startsWith("*.") ? `https://${host}/*` : `https://*.${host}/*`;
    }
    if (pattern === null) errors.push(`"${line}" is neither a host (example.org) nor a pattern ` +
                                      "(https://*.example.org/*)");
    else if (!patterns.includes(pattern)) patterns.push(pattern);
  }
  return { patterns, errors };
}

/**
 * The host-permission pattern that lets the service worker call `url` (ports are ignored).
 * @param {string} url
 */
export function originPattern(url) {
  const u = new URL(url);
  return `${u.protocol}//${u.hostname}/*`;
}
