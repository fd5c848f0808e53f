/** Reading the page for lib/sites.js: page metadata and measured images, as plain data. */

/**
 * @param {Document} doc
 * @returns {import("../lib/sites.js").PageInfo}
 */
export function readPage(doc) {
  const meta = (/** @type {string} */ sel) => doc.querySelector(sel)?.getAttribute("content")?.trim() || undefined;
  const ogImage = meta('meta[property="og:image"]');
  let ogImageUrl;
  try {
    ogImageUrl = ogImage ? new URL(ogImage, doc.baseURI).href : undefined;
  } catch {
    ogImageUrl = undefined;
  }
  return {
    url: doc.location.href,
    hostname: doc.location.hostname,
    pathname: doc.location.pathname,
    ogSiteName: meta('meta[property="og:site_name"]'),
    ogType: meta('meta[property="og:type"]'),
    ogImage: ogImageUrl,
    applicationName: meta('meta[name="application-name"]'),
    mastodonRoot: Boolean(doc.getElementById("mastodon")),
    heading: doc.querySelector("h1")?.textContent?.replace(/\s+/g, " ").trim().slice(0, 120) || undefined,
    jsonLd: Array.from(doc.querySelectorAll('script[type="application/ld+json"]'), (s) => s.textContent ?? "")
      .slice(0, 20),
  };
}

/**
 * @param {HTMLImageElement} img
 * @param {import("../lib/sites.js").Adapter} adapter
 * @returns {import("../lib/sites.js").ImageInfo}
 */
export function describeImage(img, adapter) {
  const box = img.getBoundingClientRect();
  const cls = (/** @type {Element | null} */ el) => (el && typeof el.className === "string" ? el.className : "");
  return {
    src: img.currentSrc || img.src,
    alt: img.alt,
    // Sites often mark the wrapper, not the image, as the avatar.
    className: `${cls(img)} ${cls(img.parentElement)}`.trim(),
    id: img.id,
    width: box.width,
    height: box.height,
    linkHref: /** @type {HTMLAnchorElement | null} */ (img.closest("a[href]"))?.href,
    linkText: img.closest("a[href]")?.textContent?.replace(/\s+/g, " ").trim().slice(0, 120) || undefined,
    main: matches(img, adapter.mainSelector),
  };
}

/** @param {Element} el @param {string} selector */
function matches(el, selector) {
  try {
    return el.matches(selector);
  } catch {
    return false;
  }
}

/** Whether an image has pixels to show (loaded, not broken). */
export const isLoaded = (/** @type {HTMLImageElement} */ img) => img.complete && img.naturalWidth > 0;
