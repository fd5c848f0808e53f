/** The options page: server address and key, sites, and how photos with no signal are shown. */

import { ApiError, checkServer } from "../lib/api.js";
import { SETTINGS_KEYS, normalizeServerUrl, originPattern, parseSites, withDefaults } from "../lib/settings.js";

const form = /** @type {HTMLFormElement} */ (document.getElementById("form"));
const field = (/** @type {string} */ name) => /** @type {HTMLInputElement} */ (form.elements.namedItem(name));
const message = /** @type {HTMLElement} */ (document.getElementById("message"));

/** @param {string} text @param {"ok" | "error" | ""} [kind] */
function say(text, kind = "") {
  message.textContent = text;
  message.className = kind;
}

/** Under the sites field: the match patterns the lines become, or what is wrong with one. */
function preview() {
  const out = /** @type {HTMLElement} */ (document.getElementById("sites-preview"));
  const { patterns, errors } = parseSites(field("sites").value);
  out.className = errors.length ? "preview error" : "preview";
  out.textContent = errors.length ? errors[0]
    : patterns.length ? `Runs on: ${patterns.join(", ")}` : "Runs on no site.";
}

async function load() {
  const s = withDefaults(await chrome.storage.local.get(SETTINGS_KEYS));
  field("serverUrl").value = s.serverUrl;
  field("apiKey").value = s.apiKey;
  field("sites").value = s.sites.join("\n");
  field("showChecked").checked = s.showChecked;
  field("sendPageUrl").checked = s.sendPageUrl;
  preview();
}

field("sites").addEventListener("input", preview);

/** The form's values, checked; throws an Error that says what to fix. */
function read() {
  const serverUrl = normalizeServerUrl(field("serverUrl").value);
  const { patterns, errors } = parseSites(field("sites").value);
  if (errors.length) throw new Error(errors.join("\n"));
  return {
    serverUrl,
    apiKey: field("apiKey").value.trim(),
    sites: patterns,
    showChecked: field("showChecked").checked,
    sendPageUrl: field("sendPageUrl").checked,
  };
}

/**
 * Ask for the host permissions that are missing (the sites, and the server unless it is local).
 * @param {string[]} origins
 * @returns {Promise<string[]>} the origins still not granted
 */
async function requestAccess(origins) {
  const missing = [];
  for (const o of origins) {
    if (!(await chrome.permissions.contains({ origins: [o] }))) missing.push(o);
  }
  if (!missing.length) return [];
  const granted = await chrome.permissions.request({ origins: missing }).catch(() => false);
  return granted ? [] : missing;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  let values;
  try {
    values = read();
  } catch (err) {
    say(String(/** @type {Error} */ (err).message), "error");
    return;
  }
  const refused = await requestAccess([...values.sites, originPattern(values.serverUrl)]);
  await chrome.storage.local.set(values);
  field("sites").value = values.sites.join("\n");
  preview();
  if (refused.length) {
    say(`Saved, but the permission prompt was refused for: ${refused.join(", ")}. headcheck ` +
        "will not run there (or cannot reach the server) until it is granted: save again to " +
        "be asked again.", "error");
  } else {
    say("Saved.", "ok");
  }
});

field("test").addEventListener("click", async () => {
  let values;
  try {
    values = read();
  } catch (err) {
    say(String(/** @type {Error} */ (err).message), "error");
    return;
  }
  await requestAccess([originPattern(values.serverUrl)]);
  say("Connecting…");
  try {
    const { version, photos, detectorsOff } = await checkServer({ serverUrl: values.serverUrl, apiKey: values.apiKey, fetch: (...a) => fetch(...a), timeoutMs: 5000 });
    const off = Object.entries(detectorsOff);
    // A check the server cannot run is said here: its photos then lack that check's signals,
    // and "no signal" must not be read as "checked".
    say(`Connected to headcheck ${version}: ${photos.toLocaleString("en")} photos in its store.` +
        (off.length ? ` Not checked on this server: ${off.map(([name, why]) => `${name} (${why})`).join("; ")}.` : ""),
        off.length ? "warn" : "ok");
  } catch (err) {
    const e = /** @type {ApiError} */ (err);
    const why = {
      unreachable: `Nothing answered at ${values.serverUrl}.`,
      unauthorized: `The server refused the API key (${e.message}).`,
      not_headcheck: `${values.serverUrl} is not a headcheck server.`,
    }[/** @type {string} */ (e.problem)] ?? `The server failed: ${e.message}`;
    say(why, "error");
  }
});

load();
