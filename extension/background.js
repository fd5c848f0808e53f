/**
 * The service worker: the only part that talks to the headcheck server. Content scripts send it
 * image URLs; it downloads the images (host permissions: no CORS, no Local Network Access
 * prompt for a server on loopback), asks the server, caches the answers and keeps the server's
 * state for the popup. It also registers the content script on the sites chosen in Options.
 */

import { AnswerCache } from "./lib/cache.js";
import { LookupService } from "./lib/lookup.js";
import { MSG, isMessage } from "./lib/messages.js";
import { sendFeedback } from "./lib/api.js";
import { SETTINGS_KEYS, withDefaults } from "./lib/settings.js";

const CONTENT_SCRIPT_ID = "headcheck-content";
const STATUS_KEY = "hc:status";
const BADGE_COLOUR = "#9a3412";
/** What the user answered about a photo, by sha256 (kept across pages and restarts). */
const FEEDBACK_PREFIX = "hc:feedback:";
const FEEDBACK_LABELS = ["false_positive", "confirmed"];

/** @param {string} sha256 @returns {Promise<{label: string, at: number} | null>} */
async function answered(sha256) {
  if (!/^[0-9a-f]{64}$/.test(sha256)) return null;
  const key = FEEDBACK_PREFIX + sha256;
  return (await chrome.storage.local.get(key))[key] ?? null;
}

/** @type {Promise<import("./lib/settings.js").Settings> | null} */
let settingsLoaded = null;
const settings = () => {
  settingsLoaded ??= chrome.storage.local.get(SETTINGS_KEYS).then(withDefaults);
  return settingsLoaded;
};

const cache = new AnswerCache(chrome.storage.session);
const service = new LookupService({
  settings,
  cache,
  fetch: (...args) => fetch(...args),
  onStatus: (status) => chrome.storage.session.set({ [STATUS_KEY]: status }),
});

// --- content script registration ---------------------------------------------------------------

let syncing = Promise.resolve();

/** Run the content script on the chosen sites we hold host permission for. */
function syncContentScripts() {
  const run = async () => {
    const { sites } = await settings();
    const granted = [];
    for (const pattern of sites) {
      // A site whose permission the user declined (or removed) is skipped, not an error.
      if (await chrome.permissions.contains({ origins: [pattern] }).catch(() => false)) {
        granted.push(pattern);
      }
    }
    const existing = await chrome.scripting.getRegisteredContentScripts({ ids: [CONTENT_SCRIPT_ID] });
    if (existing.length) await chrome.scripting.unregisterContentScripts({ ids: [CONTENT_SCRIPT_ID] });
    if (!granted.length) return;
    await chrome.scripting.registerContentScripts([{
      id: CONTENT_SCRIPT_ID,
      matches: granted,
      js: ["content/loader.js"],
      runAt: "document_idle",
      persistAcrossSessions: true,
    }]);
  };
  syncing = syncing.then(run, run).catch((err) => console.warn("headcheck: sites not registered:", err));
  return syncing;
}

chrome.runtime.onInstalled.addListener(() => syncContentScripts());
chrome.runtime.onStartup.addListener(() => syncContentScripts());
chrome.permissions.onAdded.addListener(() => syncContentScripts());
chrome.permissions.onRemoved.addListener(() => syncContentScripts());

chrome.storage.onChanged.addListener((changes, area) => {
  if (area !== "local" || !SETTINGS_KEYS.some((k) => k in changes)) return;
  settingsLoaded = null;
  if ("serverUrl" in changes || "apiKey" in changes || "sendPageUrl" in changes) {
    // Another server or key may answer differently: start afresh, and let open pages look up
    // again the photos that failed (a fixed address or key then shows badges without a reload).
    service.resume();
    Promise.all([cache.clear(), chrome.storage.session.remove(STATUS_KEY)]).then(rescanTabs);
  }
  if ("sites" in changes) syncContentScripts();
});

/** Ask the content script in every tab (where there is one) to retry what failed. */
async function rescanTabs() {
  for (const tab of await chrome.tabs.query({})) {
    if (tab.id !== undefined) chrome.tabs.sendMessage(tab.id, { type: MSG.RESCAN }).catch(() => {});
  }
}

// --- messages ---------------------------------------------------------------------------------

/**
 * @param {any} message
 * @param {chrome.runtime.MessageSender} sender
 */
async function handle(message, sender) {
  switch (message.type) {
    case MSG.LOOKUP: {
      const { imageUrl, pageUrl, name } = message;
      if (typeof imageUrl !== "string" || !/^https?:\/\//i.test(imageUrl)) {
        return { ok: false, problem: "image_rejected", message: "not an http(s) image URL", serverWide: false };
      }
      const answer = await service.lookup({ imageUrl, pageUrl: typeof pageUrl === "string" ? pageUrl : null,
                                            name: typeof name === "string" ? name.slice(0, 200) : null });
      return answer.ok ? { ...answer, feedback: await answered(answer.view.sha256) } : answer;
    }
    case MSG.FEEDBACK: {
      const { sha256, label, note } = message;
      if (typeof sha256 !== "string" || !/^[0-9a-f]{64}$/.test(sha256) || !FEEDBACK_LABELS.includes(label)) {
        return { ok: false, message: "not a verdict one can answer" };
      }
      const s = await settings();
      try {
        await sendFeedback({ serverUrl: s.serverUrl, apiKey: s.apiKey, fetch: (...a) => fetch(...a) },
                           { sha256, label, note: typeof note === "string" ? note.trim() : "" });
      } catch (err) {
        return { ok: false, message: String(/** @type {Error} */ (err).message ?? err) };
      }
      const record = { label, at: Date.now() };
      await chrome.storage.local.set({ [FEEDBACK_PREFIX + sha256]: record });
      return { ok: true, feedback: record };
    }
    case MSG.CONTENT_SETTINGS: {
      const s = await settings();
      return { showChecked: s.showChecked }; // never the API key
    }
    case MSG.PAGE_SUMMARY: {
      const tabId = sender.tab?.id;
      if (tabId === undefined) return null;
      const flagged = Number(message.flagged) || 0;
      await chrome.action.setBadgeText({ tabId, text: flagged ? String(flagged) : "" });
      await chrome.action.setBadgeBackgroundColor({ tabId, color: BADGE_COLOUR });
      return null;
    }
    case MSG.GET_STATUS: {
      const s = await settings();
      const status = (await chrome.storage.session.get(STATUS_KEY))[STATUS_KEY];
      return status?.serverUrl === s.serverUrl ? status
                                               : { state: "unknown", serverUrl: s.serverUrl, at: Date.now() };
    }
    case MSG.RETRY: {
      service.resume();
      await chrome.storage.session.remove(STATUS_KEY);
      return null;
    }
    default:
      return null;
  }
}

chrome.runtime.onMessage.addListener((message, sender, sendResponse) => {
  if (sender.id !== chrome.runtime.id || !isMessage(message)) return false;
  handle(message, sender).then(sendResponse, (err) => {
    console.warn("headcheck:", message.type, err);
    sendResponse(null);
  });
  return true; // answered asynchronously
});
