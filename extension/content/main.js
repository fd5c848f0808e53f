/**
 * The content script: finds profile photos (lib/sites.js), asks the service worker about each
 * one when it comes near the screen, and draws the answers (overlay.js). It never calls the
 * server itself: page CORS and Local Network Access would block it, and the worker caches.
 */

import { MSG, isMessage } from "../lib/messages.js";
import {
  GENERIC, declaredPhotos, isProfilePhoto, pickAdapter, profileNameFor, profileUrlFor, sameImage,
} from "../lib/sites.js";
import { describeImage, isLoaded, readPage } from "./dom.js";
import { Overlay } from "./overlay.js";

/** Mutations come in bursts (a timeline rendering): look once they settle. */
const SCAN_DELAY_MS = 60;
/** Start a lookup this far (CSS pixels) before the photo scrolls into view. */
const NEAR_PX = 400;

/**
 * @typedef {object} Photo
 * @property {HTMLImageElement | null} img  null for a photo only named in the page's metadata
 * @property {string} imageUrl
 * @property {string | null} pageUrl         the profile it belongs to, when known
 * @property {string | null} name            the profile's name, where the page shows it
 * @property {"waiting" | "pending" | "done" | "error"} state
 * @property {import("../lib/wording.js").VerdictView} [view]
 * @property {{label: string, at: number} | null} [feedback]  what the user said about it
 * @property {string} [problem]
 * @property {string} [message]
 */

class PhotoWatcher {
  constructor() {
    /** @type {Map<HTMLImageElement | string, Photo>} images, and metadata-only photos by URL */
    this.photos = new Map();
    this.overlay = new Overlay(document, (sha256, label, note) =>
      this.send({ type: MSG.FEEDBACK, sha256, label, note }));
    this.showChecked = false;
    this.site = GENERIC.name;
    this.scanTimer = 0;
    this.summaryTimer = 0;
    this.stopped = false;
    this.near = new IntersectionObserver((entries) => this.onNear(entries), { rootMargin: `${NEAR_PX}px` });
    this.visible = new IntersectionObserver((entries) => {
      for (const e of entries) this.overlay.setVisible(/** @type {HTMLImageElement} */ (e.target), e.isIntersecting);
    });
    this.resized = new ResizeObserver(() => this.overlay.schedule());
    this.mutations = new MutationObserver(() => this.scheduleScan());
  }

  async start() {
    const settings = await this.send({ type: MSG.CONTENT_SETTINGS });
    this.showChecked = Boolean(settings?.showChecked);
    this.mutations.observe(document.documentElement, {
      childList: true, subtree: true, attributes: true, attributeFilter: ["src", "srcset"],
    });
    // A photo that loads later (lazy loading, a src set by script) is looked at as it loads.
    document.addEventListener("load", (e) => {
      if (e.target instanceof HTMLImageElement) this.considerOne(e.target);
    }, true);
    const place = () => this.overlay.schedule();
    addEventListener("scroll", place, { capture: true, passive: true });
    addEventListener("resize", place, { passive: true });
    chrome.runtime.onMessage.addListener((message, sender, reply) => this.onMessage(message, sender, reply));
    chrome.storage.onChanged.addListener((changes, area) => {
      if (area === "local" && "showChecked" in changes) {
        this.showChecked = Boolean(changes.showChecked.newValue);
        for (const photo of this.photos.values()) this.draw(photo);
      }
    });
    this.scan();
  }

  scheduleScan() {
    if (this.scanTimer || this.stopped) return;
    this.scanTimer = setTimeout(() => {
      this.scanTimer = 0;
      this.scan();
    }, SCAN_DELAY_MS);
  }

  /** What the page is, and the photos its metadata declares. */
  context() {
    const page = readPage(document);
    const adapter = pickAdapter(page);
    this.site = adapter.name;
    return { page, adapter, declared: adapter === GENERIC ? declaredPhotos(page) : [] };
  }

  /** Find the profile photos now on the page; forget those gone. */
  scan() {
    if (!chrome.runtime?.id) return this.stop(); // the extension was reloaded or removed
    const ctx = this.context();
    for (const [key, photo] of this.photos) {
      if (photo.img && (!photo.img.isConnected || (photo.img.currentSrc || photo.img.src) !== photo.imageUrl)) {
        this.forget(key, photo);
      }
    }
    for (const img of /** @type {NodeListOf<HTMLImageElement>} */ (document.querySelectorAll(ctx.adapter.selector))) {
      this.consider(img, ctx);
    }
    // A photo the page declares but does not show is still looked up, for the popup's list.
    const shown = Array.from(document.images, (i) => i.currentSrc || i.src);
    for (const d of ctx.declared) {
      const known = this.photos.get(d.image);
      if (shown.some((src) => sameImage(src, d.image))) {
        if (known && !known.img) this.photos.delete(d.image); // it is on show now
      } else if (!known) {
        const photo = /** @type {Photo} */ ({ img: null, imageUrl: d.image, pageUrl: d.profileUrl,
                                              name: d.name ?? null, state: "waiting" });
        this.photos.set(d.image, photo);
        this.lookUp(photo);
      }
    }
    this.overlay.schedule();
  }

  /**
   * Track the image if it is a loaded profile photo not tracked yet.
   * @param {HTMLImageElement} img
   * @param {ReturnType<PhotoWatcher["context"]>} ctx
   */
  consider(img, { page, adapter, declared }) {
    if (this.photos.has(img) || !isLoaded(img)) return;
    const info = describeImage(img, adapter);
    if (!isProfilePhoto(adapter, info, declared)) return;
    const photo = /** @type {Photo} */ ({
      img, imageUrl: info.src, pageUrl: profileUrlFor(adapter, info, page, declared),
      name: profileNameFor(adapter, info, page, declared), state: "waiting",
    });
    this.photos.set(img, photo);
    this.near.observe(img);
    this.visible.observe(img);
    this.resized.observe(img);
    // Already on screen: ask now rather than a frame later, when the observer reports.
    const box = img.getBoundingClientRect();
    if (box.bottom > -NEAR_PX && box.top < innerHeight + NEAR_PX &&
        box.right > -NEAR_PX && box.left < innerWidth + NEAR_PX) {
      this.lookUp(photo);
    }
  }

  /** An image that just loaded: look at it at once (the scan after a mutation may have skipped it). */
  considerOne(/** @type {HTMLImageElement} */ img) {
    if (this.stopped || this.photos.has(img)) return;
    const ctx = this.context();
    let wanted = false;
    try {
      wanted = img.matches(ctx.adapter.selector);
    } catch {
      wanted = false;
    }
    if (wanted) this.consider(img, ctx);
    this.overlay.schedule();
  }

  /** @param {HTMLImageElement | string} key @param {Photo} photo */
  forget(key, photo) {
    this.photos.delete(key);
    if (!photo.img) return;
    this.near.unobserve(photo.img);
    this.visible.unobserve(photo.img);
    this.resized.unobserve(photo.img);
    this.overlay.remove(photo.img);
    this.scheduleSummary();
  }

  /** @param {IntersectionObserverEntry[]} entries */
  onNear(entries) {
    for (const e of entries) {
      const photo = this.photos.get(/** @type {HTMLImageElement} */ (e.target));
      if (e.isIntersecting && photo?.state === "waiting") this.lookUp(photo);
    }
  }

  /** @param {Photo} photo */
  async lookUp(photo) {
    photo.state = "pending";
    const answer = await this.send({ type: MSG.LOOKUP, imageUrl: photo.imageUrl, pageUrl: photo.pageUrl,
                                     name: photo.name });
    if (photo.img && this.photos.get(photo.img) !== photo) return; // replaced meanwhile
    if (answer?.ok) {
      photo.state = "done";
      photo.view = answer.view;
      photo.feedback = answer.feedback ?? null;
    } else {
      // No badge and no console noise: the popup tells the user once what went wrong.
      photo.state = "error";
      photo.problem = answer?.problem ?? "no_answer";
      photo.message = answer?.message ?? "";
    }
    this.draw(photo);
    this.scheduleSummary();
  }

  /** @param {Photo} photo */
  draw(photo) {
    if (!photo.img) return;
    const label = photo.view?.label;
    if (photo.state === "done" && photo.view && (label !== "none" || this.showChecked)) {
      this.overlay.show(photo.img, photo.view, photo.imageUrl, photo.feedback ?? null, (feedback) => {
        photo.feedback = feedback;
        this.draw(photo);
      });
    } else {
      this.overlay.remove(photo.img);
    }
  }

  scheduleSummary() {
    clearTimeout(this.summaryTimer);
    this.summaryTimer = setTimeout(() => {
      const flagged = [...this.photos.values()].filter((p) => p.view && p.view.label !== "none").length;
      this.send({ type: MSG.PAGE_SUMMARY, flagged });
    }, 100);
  }

  /** Look up again the photos that failed (the popup's "Try again"). */
  retry() {
    for (const photo of this.photos.values()) {
      if (photo.state !== "error") continue;
      photo.state = "waiting";
      if (!photo.img) this.lookUp(photo);
      else {
        // Re-observing delivers a fresh entry, so a photo already in view is looked up now.
        this.near.unobserve(photo.img);
        this.near.observe(photo.img);
      }
    }
  }

  /**
   * The user answered in the popup: every badge of that photo says so, as after the panel.
   * @param {unknown} sha256 @param {any} feedback
   */
  answered(sha256, feedback) {
    if (typeof sha256 !== "string" || !feedback || typeof feedback.label !== "string") return;
    for (const photo of this.photos.values()) {
      if (photo.view?.sha256 !== sha256) continue;
      photo.feedback = { label: feedback.label, at: Number(feedback.at) || Date.now() };
      this.draw(photo);
    }
  }

  /** What the popup lists. */
  state() {
    return {
      site: this.site,
      pageUrl: location.href,
      photos: [...this.photos.values()].map((p) => ({
        imageUrl: p.imageUrl, pageUrl: p.pageUrl, name: p.name, shown: Boolean(p.img), state: p.state,
        view: p.view ?? null, feedback: p.feedback ?? null, problem: p.problem ?? null,
        message: p.message ?? null,
      })),
    };
  }

  /**
   * @param {any} message
   * @param {chrome.runtime.MessageSender} sender
   * @param {(reply: any) => void} reply
   */
  onMessage(message, sender, reply) {
    if (sender.id !== chrome.runtime.id || !isMessage(message)) return false;
    if (message.type === MSG.GET_PAGE_STATE) reply(this.state());
    else if (message.type === MSG.RESCAN) {
      this.retry();
      reply(this.state());
    } else if (message.type === MSG.ANSWERED) {
      this.answered(message.sha256, message.feedback);
      reply(this.state());
    } else return false;
    return false;
  }

  /** @param {Record<string, unknown>} message */
  async send(message) {
    try {
      return await chrome.runtime.sendMessage(message);
    } catch {
      if (!chrome.runtime?.id) this.stop(); // the extension went away: leave the page as it is
      return undefined;
    }
  }

  stop() {
    if (this.stopped) return;
    this.stopped = true;
    this.mutations.disconnect();
    this.near.disconnect();
    this.visible.disconnect();
    this.resized.disconnect();
  }
}

export function start() {
  new PhotoWatcher().start();
}
