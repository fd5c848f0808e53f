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
const HOST = /^(?:\*\.)?(?:[a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:]+\])(:\d{1,5})?(\/.*)?$/i;
const LOCAL = /^(localhost|\d{1,3}(\.\d{1,3}){3}|\[[0-9a-f:]+\])$/i;

/**
 * The "sites" field, one site a line, the way people type them: a host (`example.org`: http and
 * https, subdomains included; `127.0.0.1` or `localhost`: that host only), with a port
 * (`localhost:8080`) or a path (`linkedin.com/in/`) if wanted; an address
 * (`http://127.0.0.1:18765`, `https://www.linkedin.com/in/`: that scheme, host and port, and
 * every page under that path); or a match pattern (`https://*.example.org/*`).
 * @param {string} text
 * @returns {{patterns: string[], errors: string[]}}
 */
export function parseSites(text) {
  /** @type {string[]} */ const patterns = [];
  /** @type {string[]} */ const errors = [];
  for (const raw of String(text).split(/[\n,]/)) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const pattern = sitePattern(line);
    if (pattern === null) {
      errors.push(`"${line}" is neither a host (example.org, localhost:8080), an address ` +
                  "(https://www.example.org/team/) nor a pattern (https://*.example.org/*)");
    } else if (!patterns.includes(pattern)) patterns.push(pattern);
  }
  return { patterns, errors };
}

/**
 * One line of the sites field as a match pattern, or null.
 * @param {string} line
 * @returns {string | null}
 */
export function sitePattern(line) {
  if (line.includes("://")) {
    const m = PATTERN.exec(line.includes("/", line.indexOf("://") + 3) ? line : `${line}/`);
    if (!m || (m[2] === "*" && m[1] === "*")) return null;
    return `${m[1].toLowerCase()}://${m[2].toLowerCase()}${m[3] ?? ""}${pathPattern(m[4])}`;
  }
  const m = HOST.exec(line);
  if (!m) return null;
  const host = line.slice(0, line.length - (m[2]?.length ?? 0) - (m[1]?.length ?? 0)).toLowerCase();
  const bare = host.replace(/^\*\./, "");
  // An address or "localhost" is that host alone; a name includes its subdomains.
  const hostPart = LOCAL.test(bare) || host.startsWith("*.") ? host : `*.${host}`;
  return `*://${hostPart}${m[1] ?? ""}${pathPattern(m[2] ?? "/")}`;
}

/** A typed path as a prefix: "/in/" and "/in" cover every page under them. */
function pathPattern(/** @type {string} */ path) {
  return path.endsWith("*") ? path : `${path}*`;
}

/**
 * The host-permission pattern that lets the service worker call `url` (ports are ignored).
 * @param {string} url
 */
export function originPattern(url) {
  const u = new URL(url);
  return `${u.protocol}//${u.hostname}/*`;
}
