/**
 * The toolbar popup: what was found on the current tab, and one notice when the server cannot
 * be used. Opened as a page (`popup.html?tab=ID`) it reports on that tab instead.
 */

import { buildFeedback } from "../content/feedback.js";
import { SERVER_PROBLEMS } from "../lib/api.js";
import { MSG } from "../lib/messages.js";
import { noticeFor } from "../lib/status.js";
import { link } from "../lib/wording.js";

const REFRESH_MS = 1000;
const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));

async function targetTab() {
  const asked = Number(new URLSearchParams(location.search).get("tab"));
  if (Number.isInteger(asked) && asked > 0) return asked;
  const [tab] = await chrome.tabs.query({ active: true, currentWindow: true });
  return tab?.id;
}

/** @type {number | undefined} */
let targetTabId;

async function refresh(/** @type {number | undefined} */ tabId) {
  const status = await chrome.runtime.sendMessage({ type: MSG.GET_STATUS }).catch(() => null);
  const page = tabId === undefined ? null
    : await chrome.tabs.sendMessage(tabId, { type: MSG.GET_PAGE_STATE }).catch(() => null);
  renderNotice(noticeFor(status));
  renderPage(page);
}

/**
 * Send the user's answer through the worker (as the badge's panel does), then tell the page, so
 * its badge says it was answered too.
 * @type {import("../content/feedback.js").SendFeedback}
 */
async function sendFeedback(sha256, label, note) {
  const reply = await chrome.runtime.sendMessage({ type: MSG.FEEDBACK, sha256, label, note })
    .catch(() => null);
  if (reply?.ok && targetTabId !== undefined) {
    await chrome.tabs.sendMessage(targetTabId, { type: MSG.ANSWERED, sha256, feedback: reply.feedback })
      .catch(() => null);
  }
  return reply ?? { ok: false, message: "the extension did not answer" };
}

/** @param {ReturnType<typeof noticeFor>} notice */
function renderNotice(notice) {
  $("notice").hidden = !notice;
  if (!notice) return;
  $("notice-title").textContent = notice.title;
  $("notice-text").textContent = notice.text;
  $("retry").textContent = notice.action;
}

/** @param {any} page  the content script's state(), or null where it does not run */
function renderPage(page) {
  const list = $("photos");
  if (!page) {
    $("site").textContent = "";
    $("summary").textContent = "headcheck does not run on this page. Add the site in Options " +
                               "to check its profile photos.";
    list.replaceChildren();
    return;
  }
  $("site").textContent = page.site;
  /** @type {any[]} */ const photos = page.photos;
  const flagged = photos.filter((p) => p.view && p.view.label !== "none");
  const clean = photos.filter((p) => p.view && p.view.label === "none").length;
  const pending = photos.filter((p) => p.state === "pending" || p.state === "waiting").length;
  const failed = photos.filter((p) => p.state === "error").length;
  const parts = [];
  if (!photos.length) parts.push("No profile photos found on this page.");
  else {
    parts.push(`${flagged.length} of ${photos.length} profile ${photos.length === 1 ? "photo" : "photos"} flagged`);
    if (clean) parts.push(`${clean} with no signal`);
    if (pending) parts.push(`${pending} not checked yet`);
    if (failed) parts.push(`${failed} could not be checked`);
  }
  $("summary").textContent = parts.join(" · ");
  // An answer being written is never swept away by the next refresh.
  if (list.querySelector(".hc-note:not([hidden])")) return;
  // Flagged first, strongest first; then the rest in page order.
  const rank = (/** @type {any} */ p) => (p.view && p.view.label !== "none" ? p.view.confidence : -1);
  const order = [...photos].sort((a, b) => rank(b) - rank(a));
  list.replaceChildren(...order.map(photoItem));
}

/** @param {any} p */
function photoItem(p) {
  const li = document.createElement("li");
  li.dataset.label = p.view?.label ?? p.state;
  li.classList.toggle("disputed", Boolean(p.view?.disputed) || p.feedback?.label === "false_positive");
  const thumb = document.createElement("img");
  thumb.alt = "";
  thumb.src = p.imageUrl;
  thumb.referrerPolicy = "no-referrer";
  const label = document.createElement("span");
  const reason = document.createElement("p");
  reason.className = "reason";
  if (p.view) {
    label.className = `label ${p.view.label}`;
    label.textContent = p.view.label === "none" ? "No signal found" : p.view.badgeText;
    reason.textContent = p.view.reasons[0]?.headline ?? "";
  } else {
    label.className = `label ${p.state === "error" ? "error" : "pending"}`;
    label.textContent = p.state === "error" ? "Not checked" : "Checking…";
    // A server-wide failure is told once, in the notice; only a photo's own problem is told here.
    reason.textContent = p.state === "error" && !SERVER_PROBLEMS.includes(p.problem) ? p.message ?? "" : "";
  }
  const where = document.createElement("p");
  where.className = "where";
  const profile = p.pageUrl ? link(p.pageUrl) : null;
  const name = typeof p.name === "string" && p.name ? p.name : "";
  if (profile) {
    const a = document.createElement("a");
    a.href = profile.href;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    a.textContent = name ? `${name} (${profile.text})` : profile.text;
    where.append(p.shown ? "Profile: " : "In the page's metadata: ", a);
  } else {
    where.textContent = [p.shown ? "" : "In the page's metadata", name].filter(Boolean).join(": ");
  }
  li.append(thumb, label, reason, where);
  if (p.view && p.view.label !== "none" && p.view.sha256) {
    // The same "Wrong?" / "Confirmed" as the badge's panel; re-drawn as answered once sent.
    const answer = () => buildFeedback(p.view, p.feedback ?? null, sendFeedback, (feedback) => {
      p.feedback = feedback;
      box.replaceWith(box = answer());
    });
    let box = answer();
    li.append(box);
  }
  return li;
}

async function main() {
  const tabId = await targetTab();
  targetTabId = tabId;
  $("retry").addEventListener("click", async () => {
    await chrome.runtime.sendMessage({ type: MSG.RETRY });
    if (tabId !== undefined) await chrome.tabs.sendMessage(tabId, { type: MSG.RESCAN }).catch(() => null);
    await refresh(tabId);
  });
  await refresh(tabId);
  setInterval(() => refresh(tabId), REFRESH_MS); // lookups finish while the popup is open
}

main();
