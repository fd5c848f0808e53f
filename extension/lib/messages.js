/**
 * Message ids between the content script, the popup, the options page and the service worker.
 * Named constants, so a typo is an import error instead of a message nobody answers.
 */
export const MSG = Object.freeze({
  /** content → worker `{imageUrl, pageUrl, name}`: the verdict for one photo. */
  LOOKUP: "headcheck:lookup",
  /** content → worker: the settings a content script may see (never the API key). */
  CONTENT_SETTINGS: "headcheck:content-settings",
  /** content → worker `{flagged}`: the count shown on the toolbar button. */
  PAGE_SUMMARY: "headcheck:page-summary",
  /** content/popup → worker `{sha256, label, note}`: the user says a verdict is wrong or right. */
  FEEDBACK: "headcheck:feedback",
  /** popup → worker: the server status (ok, unreachable, key refused, ...). */
  GET_STATUS: "headcheck:get-status",
  /** popup → worker: forget a server failure and try again. */
  RETRY: "headcheck:retry",
  /** popup → content: the photos found on this page and what the server said. */
  GET_PAGE_STATE: "headcheck:get-page-state",
  /** popup/worker → content: look up again the photos that could not be checked. */
  RESCAN: "headcheck:rescan",
  /** popup → content `{sha256, feedback}`: the user answered in the popup; the badge says so. */
  ANSWERED: "headcheck:answered",
});

const KNOWN = new Set(Object.values(MSG));

/**
 * Whether `message` is one of ours, with the given id if one is asked for.
 * @param {unknown} message
 * @param {string} [type]
 */
export function isMessage(message, type) {
  if (!message || typeof message !== "object") return false;
  const t = /** @type {{type?: unknown}} */ (message).type;
  return typeof t === "string" && KNOWN.has(t) && (type === undefined || t === type);
}
