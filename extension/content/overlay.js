/**
 * Badges drawn over the page: one layer (a shadow root at the end of the document), each badge
 * absolutely positioned over its image, so the page's layout never moves and its CSS never
 * reaches ours. Everything is built with DOM calls and textContent: the server's words are
 * never parsed as HTML.
 */

import { buildFeedback, make } from "./feedback.js";
import { CSS } from "./styles.js";

/** Images narrower than this get a smaller badge on their bottom edge instead of one inside. */
const COMPACT_BELOW = 96;
const CLOSE_DELAY_MS = 200;
/** 16x16 icon paths (drawn as SVG: a font may lack a symbol); the words carry the meaning. */
const ICONS = Object.freeze({
  synthetic: "M8 0l1.8 6.2L16 8l-6.2 1.8L8 16l-1.8-6.2L0 8l6.2-1.8z", // a sparkle
  composited: "M1 1h14v14H1zM3 3v10h10V3zM8 5a3 3 0 1 0 .01 0z", // a face pasted in a frame
  reused: "M5 1h10v10H5zM7 3v6h6V3zM1 5h3v2H3v6h6v-1h2v3H1z", // two copies
  none: "M6.2 11.6L2.4 7.8l1.4-1.4 2.4 2.4 6-6 1.4 1.4z", // a tick
});
const SVG = "http://www.w3.org/2000/svg";
let panelIds = 0;

/**
 * @typedef {import("../lib/wording.js").VerdictView} VerdictView
 * @typedef {{el: HTMLElement, pill: HTMLButtonElement, panel: HTMLElement,
 *            visible: boolean, closeTimer: number}} Badge
 * @typedef {import("./feedback.js").Answered} Answered
 * @typedef {import("./feedback.js").SendFeedback} SendFeedback
 */

export class Overlay {
  /** @param {Document} doc @param {SendFeedback} [sendFeedback] */
  constructor(doc, sendFeedback) {
    this.doc = doc;
    this.sendFeedback = sendFeedback;
    /** @type {Map<HTMLImageElement, Badge>} */
    this.badges = new Map();
    /** @type {HTMLElement | null} */
    this.host = null;
    /** @type {ShadowRoot | null} */
    this.root = null;
    this.frame = 0;
  }

  /** The badges' layer, created on first use; put back if the page removed it. */
  layer() {
    if (!this.host || !this.root) {
      this.host = this.doc.createElement("headcheck-overlay");
      // Zero-sized and at the origin: absolutely placed children use document coordinates.
      this.host.style.cssText = "all: initial; position: absolute; top: 0; left: 0; width: 0; " +
                                "height: 0; overflow: visible; z-index: 2147483646; display: block;";
      this.root = this.host.attachShadow({ mode: "open" });
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      this.root.adoptedStyleSheets = [sheet];
    }
    if (!this.host.isConnected) this.doc.documentElement.append(this.host);
    return this.root;
  }

  /**
   * Show (or update) the badge of an image.
   * @param {HTMLImageElement} img
   * @param {VerdictView} view
   * @param {string} imageUrl
   * @param {Answered} [answered]
   * @param {(a: Answered) => void} [onAnswered]
   */
  show(img, view, imageUrl, answered = null, onAnswered = () => {}) {
    const wasOpen = this.badges.get(img)?.panel.hidden === false;
    this.remove(img);
    const badge = buildBadge(view, imageUrl);
    if (view.label !== "none" && this.sendFeedback) {
      badge.panel.append(buildFeedback(view, answered, this.sendFeedback, onAnswered));
    }
    badge.el.classList.toggle("hc-disputed", answered?.label === "false_positive");
    badge.el.classList.toggle("hc-disputed-verdict", Boolean(view.disputed));
    this.layer().append(badge.el);
    this.badges.set(img, badge);
    wireHover(badge);
    this.layout();
    if (wasOpen) badge.pill.click(); // redrawn after an answer: keep the reasons open
  }

  /** @param {HTMLImageElement} img */
  remove(img) {
    const badge = this.badges.get(img);
    if (!badge) return;
    clearTimeout(badge.closeTimer);
    badge.el.remove();
    this.badges.delete(img);
  }

  /** @param {HTMLImageElement} img @param {boolean} visible */
  setVisible(img, visible) {
    const badge = this.badges.get(img);
    if (!badge || badge.visible === visible) return;
    badge.visible = visible;
    this.layout();
  }

  /** Re-place every badge at the next frame (scrolling, resizing, the page changing). */
  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.layout();
    });
  }

  /** Place every badge over its photo; in a row of small avatars, stack badges that collide. */
  layout() {
    /** @type {{x: number, y: number, w: number, h: number, el: HTMLElement}[]} */
    const spots = [];
    for (const [img, badge] of this.badges) {
      if (!img.isConnected) this.remove(img);
      else {
        const spot = this.place(img, badge);
        if (spot) spots.push({ ...spot, el: badge.el });
      }
    }
    spots.sort((a, b) => a.y - b.y || a.x - b.x);
    /** @type {typeof spots} */ const done = [];
    for (const s of spots) {
      for (let moved = true; moved;) {
        moved = false;
        for (const o of done) {
          if (s.x < o.x + o.w && o.x < s.x + s.w && s.y < o.y + o.h && o.y < s.y + s.h) {
            s.y = o.y + o.h + 2;
            moved = true;
          }
        }
      }
      done.push(s);
      s.el.style.transform = `translate(${Math.round(s.x)}px, ${Math.round(s.y)}px)`;
      if (s.el.style.visibility === "hidden" && !s.el.dataset.placed) {
        // Shown only once it has been painted in place: a badge first painted at the layer's
        // origin and then moved counts as a layout shift (CLS).
        s.el.dataset.placed = "";
        const el = s.el;
        requestAnimationFrame(() => requestAnimationFrame(() => { el.style.visibility = ""; }));
      }
    }
  }

  /**
   * Show or hide a badge as its photo is; where it goes, in document coordinates.
   * @param {HTMLImageElement} img
   * @param {Badge} badge
   * @returns {{x: number, y: number, w: number, h: number} | null}
   */
  place(img, badge) {
    const box = img.getBoundingClientRect();
    const shown = badge.visible && box.width > 0 && box.height > 0 && !covered(img, box);
    badge.el.hidden = !shown;
    if (!shown) return null;
    const compact = box.width < COMPACT_BELOW;
    badge.el.classList.toggle("hc-compact", compact);
    badge.el.classList.remove("hc-tiny", "hc-icon-only");
    // A small avatar's badge stays within the avatar's width (over the card, not past it):
    // the word gives way to the percentage, then the percentage to the icon alone.
    if (compact && badge.pill.offsetWidth > box.width) badge.el.classList.add("hc-tiny");
    if (compact && badge.pill.offsetWidth > box.width) badge.el.classList.add("hc-icon-only");
    const w = badge.pill.offsetWidth;
    const h = badge.pill.offsetHeight;
    const view = this.doc.defaultView;
    const sx = view?.scrollX ?? 0;
    const sy = view?.scrollY ?? 0;
    // A large photo: centred inside, above the bottom edge (under the face). A small avatar:
    // straddling its bottom edge, right-aligned with it (left-aligned right to left), so it
    // covers neither the name beside it nor the card's edge before it.
    const rtl = view ? view.getComputedStyle(img).direction === "rtl" : false;
    const x = !compact ? box.left + box.width / 2 - w / 2 : rtl ? box.left : box.right - w;
    return { x: Math.max(sx + 2, sx + x), y: sy + box.bottom - (compact ? h / 2 : h + 6), w, h };
  }
}

/**
 * Whether something of the page's (a dialog, a menu) covers the image's centre. Something no
 * larger than the image itself is a decoration of it (X draws the avatar as a background over a
 * transparent <img>), not a cover.
 * @param {HTMLImageElement} img
 * @param {DOMRect} box
 */
function covered(img, box) {
  const doc = img.ownerDocument;
  const view = doc.defaultView;
  const x = box.left + box.width / 2;
  const y = box.top + box.height / 2;
  if (!view || x < 0 || y < 0 || x >= view.innerWidth || y >= view.innerHeight) return false;
  const top = doc.elementFromPoint(x, y);
  if (!top || top === img || top.contains(img) || top.localName === "headcheck-overlay") return false;
  const t = top.getBoundingClientRect();
  const within = t.left >= box.left - 2 && t.top >= box.top - 2 &&
                 t.right <= box.right + 2 && t.bottom <= box.bottom + 2;
  return !within;
}

/**
 * @param {VerdictView} view
 * @param {string} imageUrl
 * @returns {Badge}
 */
function buildBadge(view, imageUrl) {
  const el = make("div", `hc-badge hc-${view.label}`);
  el.style.visibility = "hidden"; // until placed (see layout)
  el.dataset.label = view.label;
  el.dataset.imageUrl = imageUrl;
  el.dataset.headcheckBadge = "";

  const panelId = `hc-panel-${++panelIds}`;
  const pill = /** @type {HTMLButtonElement} */ (make("button", "hc-pill"));
  pill.type = "button";
  pill.setAttribute("aria-expanded", "false");
  pill.setAttribute("aria-controls", panelId);
  pill.setAttribute("aria-label", `headcheck: ${view.summary} Show the reasons.`);
  // On a small avatar the word may give way to the percentage (hc-tiny): the icon and colour
  // still say which finding, and the accessible name says it in full.
  if (view.label === "none") pill.append(icon(view.label), make("span", "hc-text", view.badgeText));
  else {
    pill.append(icon(view.label), make("span", "hc-text hc-word", view.labelText),
                make("span", "hc-text hc-pct", view.percent ?? ""));
  }

  const panel = make("div", "hc-panel");
  panel.id = panelId;
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", "headcheck reasons");
  panel.hidden = true;
  const none = view.reasons.length ? "headcheck: nothing flagged" : "headcheck: no signal found";
  panel.append(make("p", "hc-title", view.label === "none" ? none
                                                           : `headcheck: ${view.labelText}, ` +
                                                             `${Math.round(view.confidence * 100)}% confidence` +
                                                             (view.disputed ? " (disputed)" : "")));
  panel.append(make("p", "hc-summary", view.explain));
  if (view.reasons.length) {
    const list = make("ul", "hc-reasons");
    for (const r of view.reasons) list.append(buildReason(r));
    panel.append(list);
  }
  const linked = view.reasons.some((r) => r.links.length || r.names?.some((n) => n.href));
  panel.append(make("p", "hc-foot", view.label === "none"
    ? "Nothing suspicious was found, which is not proof that the photo is genuine."
    : `A reason to look closer, not proof.${linked ? " Check the linked profiles." : ""}`));
  el.append(pill, panel);
  return { el, pill, panel, visible: true, closeTimer: 0 };
}

/** @param {import("../lib/wording.js").ReasonView} r */
function buildReason(r) {
  const li = make("li", `hc-${r.kind}`);
  li.append(make("p", "hc-headline", r.headline));
  if (r.evidence) li.append(make("p", "hc-evidence", r.evidence));
  if (r.names?.length) li.append(buildNames(r.names));
  if (r.links.length) {
    const p = make("p", "hc-links", "Seen on: ");
    r.links.forEach((l, i) => {
      if (i) p.append(", ");
      const a = /** @type {HTMLAnchorElement} */ (make("a", "", l.text));
      a.href = l.href;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      p.append(a);
    });
    if (r.moreLinks) p.append(` and ${r.moreLinks} more`);
    li.append(p);
  }
  if (r.details?.length) {
    // The numbers and technical terms, for whoever wants them; closed by default.
    const details = make("details", "hc-details");
    details.append(make("summary", "", "Details"));
    for (const line of r.details) details.append(make("p", "", line));
    li.append(details);
  }
  return li;
}

/** The names the photo appeared under, with a thumbnail and the date first seen where given. */
function buildNames(/** @type {import("../lib/wording.js").NameView[]} */ names) {
  const list = make("ul", "hc-names");
  list.setAttribute("aria-label", "Names this photo appeared under");
  for (const n of names.slice(0, 5)) {
    const item = make("li", "");
    if (n.thumb) {
      const img = /** @type {HTMLImageElement} */ (make("img", "hc-thumb"));
      img.src = n.thumb;
      img.alt = "";
      img.referrerPolicy = "no-referrer";
      item.append(img);
    }
    if (n.href) {
      const a = /** @type {HTMLAnchorElement} */ (make("a", "hc-name", n.name));
      a.href = n.href;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      item.append(a);
    } else item.append(make("span", "hc-name", n.name));
    if (n.firstSeen) item.append(make("span", "hc-seen", ` · first seen ${n.firstSeen}`));
    list.append(item);
  }
  if (names.length > 5) list.append(make("li", "hc-seen", `and ${names.length - 5} more`));
  return list;
}

/** Hover or focus opens the reasons; leaving both the badge and its panel closes them. */
function wireHover(/** @type {Badge} */ badge) {
  const open = () => {
    clearTimeout(badge.closeTimer);
    if (!badge.panel.hidden) return;
    badge.panel.hidden = false;
    // Each badge is its own stacking context (transform): the open one must rise above its
    // neighbours, or their pills paint over its panel and take its clicks.
    badge.el.classList.add("hc-open");
    badge.pill.setAttribute("aria-expanded", "true");
    placePanel(badge);
  };
  const close = () => {
    badge.panel.hidden = true;
    badge.el.classList.remove("hc-open");
    badge.pill.setAttribute("aria-expanded", "false");
  };
  const closeSoon = () => {
    clearTimeout(badge.closeTimer);
    // Not while the user types a note in it.
    badge.closeTimer = setTimeout(() => badge.panel.querySelector("textarea:focus") || close(),
                                  CLOSE_DELAY_MS);
  };
  badge.el.addEventListener("pointerenter", open);
  badge.el.addEventListener("pointerleave", closeSoon);
  badge.el.addEventListener("focusin", open);
  badge.el.addEventListener("focusout", (e) => {
    if (!badge.el.contains(/** @type {Node | null} */ (e.relatedTarget))) closeSoon();
  });
  badge.pill.addEventListener("click", (e) => {
    e.preventDefault();
    e.stopPropagation(); // the photo is often inside a link: do not follow it
    if (badge.panel.hidden) open();
    else close();
  });
  badge.el.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !badge.panel.hidden) {
      close();
      badge.pill.focus();
    }
  });
}

/** Below the pill, or above it near the bottom of the window; kept inside the window. */
function placePanel(/** @type {Badge} */ badge) {
  const { panel, pill } = badge;
  const view = pill.ownerDocument.defaultView;
  const pillBox = pill.getBoundingClientRect();
  const below = !view || pillBox.bottom + panel.offsetHeight + 8 < view.innerHeight ||
                pillBox.top < panel.offsetHeight + 8;
  panel.style.top = below ? `${pill.offsetHeight + 4}px` : "";
  panel.style.bottom = below ? "" : `${pill.offsetHeight + 4}px`;
  panel.style.left = "0px";
  const right = pillBox.left + panel.offsetWidth;
  const overflow = view ? right - (view.innerWidth - 8) : 0;
  if (overflow > 0) panel.style.left = `${-Math.min(overflow, pillBox.left - 8)}px`;
}

/** @param {string} label */
function icon(label) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("class", "hc-icon");
  svg.setAttribute("viewBox", "0 0 16 16");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(SVG, "path");
  path.setAttribute("d", ICONS[/** @type {keyof typeof ICONS} */ (label)] ?? ICONS.none);
  path.setAttribute("fill", "currentColor");
  path.setAttribute("fill-rule", "evenodd");
  svg.append(path);
  return svg;
}
