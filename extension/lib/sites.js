/**
 * Finding profile photos: per-site adapters (LinkedIn, GitHub, X, Mastodon) and a generic one.
 *
 * The content script does the DOM part (runs `selector`, measures each image) and hands plain
 * descriptions to the pure functions here, which decide what is a profile photo and which
 * profile it belongs to.
 */

/**
 * @typedef {object} PageInfo  what the content script reads from the page
 * @property {string} url
 * @property {string} hostname
 * @property {string} pathname
 * @property {string} [ogSiteName]
 * @property {string} [ogType]
 * @property {string} [ogImage]      absolute URL
 * @property {string} [applicationName]
 * @property {boolean} [mastodonRoot]  the page has Mastodon's app root (#mastodon)
 * @property {string[]} [jsonLd]     texts of application/ld+json scripts
 * @property {string} [heading]      the page's first <h1>, trimmed
 *
 * @typedef {object} ImageInfo  one <img>, measured
 * @property {string} src          absolute URL (currentSrc)
 * @property {string} [alt]
 * @property {string} [className]
 * @property {string} [id]
 * @property {number} width        rendered size, CSS pixels
 * @property {number} height
 * @property {string} [linkHref]   the enclosing link, absolute
 * @property {string} [linkText]   the enclosing link's text, trimmed
 * @property {boolean} [main]      matches the adapter's selector for the page's own photo
 *
 * @typedef {object} Adapter
 * @property {string} id
 * @property {string} name
 * @property {(hostname: string) => boolean} host
 * @property {(page: PageInfo) => boolean} detect  recognises the site under another host name
 * @property {string} selector      images worth a look
 * @property {string} mainSelector  the profile's own photo on a profile page
 * @property {(img: ImageInfo) => boolean} accept
 * @property {RegExp} profilePath   paths of profile pages
 * @property {(url: URL) => string} [canonical]
 */

/** Smaller images are icons in lists (GitHub's 20 px avatars): a badge would hide them. */
export const MIN_SIDE = 32;

const onHost = (/** @type {string[]} */ ...hosts) => (/** @type {string} */ h) =>
  hosts.some((d) => h === d || h.endsWith(`.${d}`));
const squareish = (/** @type {ImageInfo} */ img) =>
  img.width >= MIN_SIDE && img.height >= MIN_SIDE &&
  img.width / img.height < 1.5 && img.height / img.width < 1.5;
const siteName = (/** @type {PageInfo} */ p, /** @type {RegExp} */ re) =>
  re.test(p.ogSiteName ?? "") || re.test(p.applicationName ?? "");
const stripQuery = (/** @type {URL} */ u) => `${u.origin}${u.pathname}`;

/** @type {Adapter} */
export const LINKEDIN = {
  id: "linkedin",
  name: "LinkedIn",
  host: onHost("linkedin.com"),
  detect: (p) => siteName(p, /^LinkedIn$/i),
  // Member photos are served as profile-displayphoto (framed: #OpenToWork); company logos and
  // banners have other names.
  selector: 'img[src*="profile-displayphoto"], img[src*="profile-framedphoto"], ' +
            "img.pv-top-card-profile-picture__image, img.pv-top-card-profile-picture__image--show",
  mainSelector: ".pv-top-card img, .pv-top-card-profile-picture img, " +
                ".profile-photo-edit img",
  accept: (img) => squareish(img) && !/company-logo|displaybackgroundimage/.test(img.src),
  profilePath: /^\/in\/[^/]+\/?$/,
  canonical: (u) => `${u.origin}${u.pathname.replace(/\/?$/, "/")}`,
};

const GITHUB_RESERVED = /^\/(about|apps|codespaces|collections|enterprise|events|explore|features|issues|login|marketplace|new|notifications|orgs|organizations|pricing|pulls|search|settings|sponsors|topics|trending)\/?$/;

/** @type {Adapter} */
export const GITHUB = {
  id: "github",
  name: "GitHub",
  host: onHost("github.com"),
  detect: (p) => siteName(p, /^GitHub$/i),
  selector: "img.avatar-user, img.avatar[src*='/u/']",
  mainSelector: '[itemtype$="schema.org/Person"] img.avatar-user, a[itemprop="image"] img',
  accept: (img) => squareish(img),
  profilePath: /^\/(?!-)[A-Za-z0-9-]{1,39}\/?$/,
};

const X_RESERVED = /^\/(home|explore|notifications|messages|i|settings|search|compose|login|logout|tos|privacy|jobs)(\/|$)/;

/** @type {Adapter} */
export const X = {
  id: "x",
  name: "X",
  host: onHost("x.com", "twitter.com"),
  detect: (p) => siteName(p, /^X( \(formerly Twitter\))?$|^Twitter$/i),
  // X draws avatars as a background and keeps a transparent <img> on top: both have the URL.
  selector: 'img[src*="/profile_images/"], [data-testid^="UserAvatar-Container"] img',
  mainSelector: 'a[href$="/photo"] img',
  accept: (img) => squareish(img) && !/default_profile_images/.test(img.src),
  profilePath: /^\/[A-Za-z0-9_]{1,15}(\/photo)?\/?$/,
  canonical: (u) => `${u.origin}${u.pathname.replace(/\/photo\/?$/, "").replace(/\/$/, "")}`,
};

/** @type {Adapter} */
export const MASTODON = {
  id: "mastodon",
  name: "Mastodon",
  host: onHost("mastodon.social", "mastodon.online", "mstdn.social", "fosstodon.org"),
  // Mastodon runs on thousands of hosts: its web app's root element says what it is.
  detect: (p) => Boolean(p.mastodonRoot) || siteName(p, /^Mastodon$/i),
  selector: ".account__avatar img, img.account__avatar, .status__avatar img, " +
            ".account__header__bar img, img[src*='/accounts/avatars/']",
  mainSelector: ".account__header img, .account__header__bar img",
  accept: (img) => squareish(img) && !/\/avatars\/original\/missing\.png/.test(img.src),
  profilePath: /^\/@[\w.-]+(@[\w.-]+)?\/?$/,
};

const AVATARISH = /avatar|headshot|portrait|profile[-_ ]?(photo|pic|picture|image|img)|author[-_ ]?(photo|image|img|pic)|user[-_ ]?(photo|pic|image)|member[-_ ]?photo|mugshot/i;
const NOT_A_FACE = /logo|icon|sprite|emoji|badge|banner|cover|background|placeholder|default[-_]?avatar|gravatar\.com\/avatar\/0{32}/i;

/** @type {Adapter} */
export const GENERIC = {
  id: "generic",
  name: "Web page",
  host: () => false,
  detect: () => true,
  selector: "img",
  mainSelector: '[itemtype$="schema.org/Person"] img[itemprop="image"]',
  accept: (img) =>
    squareish(img) && !NOT_A_FACE.test(`${img.className ?? ""} ${img.id ?? ""} ${img.src}`) &&
    (Boolean(img.main) || AVATARISH.test(`${img.className ?? ""} ${img.id ?? ""} ` +
                                          `${img.alt ?? ""} ${img.src}`)),
  profilePath: /^/,
};

export const ADAPTERS = Object.freeze([LINKEDIN, GITHUB, X, MASTODON]);

/**
 * The adapter for a page: by host name, else by what the page says it is (a Mastodon instance,
 * GitHub Enterprise, a saved copy of a LinkedIn page), else the generic one.
 * @param {PageInfo} page
 * @returns {Adapter}
 */
export function pickAdapter(page) {
  return ADAPTERS.find((a) => a.host(page.hostname)) ??
         ADAPTERS.find((a) => a.detect(page)) ?? GENERIC;
}

/**
 * Profile photos the page declares in its metadata: JSON-LD Person (or ProfilePage with a Person
 * as mainEntity) and, on a profile page, og:image.
 * @param {PageInfo} page
 * @returns {Declared[]}  absolute URLs, and the Person's name where given
 */
export function declaredPhotos(page) {
  /** @type {Declared[]} */ const out = [];
  let profilePage = page.ogType === "profile";
  for (const text of page.jsonLd ?? []) {
    for (const node of jsonLdNodes(text)) {
      if (hasType(node, "ProfilePage")) {
        profilePage = true;
        for (const e of [node.mainEntity].flat()) if (hasType(e, "Person")) push(e, node.url);
      } else if (hasType(node, "Person")) {
        push(node, undefined);
      }
    }
  }
  if (profilePage && page.ogImage) add(page.ogImage, page.url, out[0]?.name);
  return out;

  /** @param {any} person @param {unknown} pageUrl */
  function push(person, pageUrl) {
    const profile = absolute(person.url, page.url) ?? absolute(pageUrl, page.url) ?? page.url;
    const name = cleanName(person.name);
    for (const image of [person.image].flat()) {
      const src = typeof image === "string" ? image : image?.contentUrl ?? image?.url;
      add(src, profile, name);
    }
  }
  /** @param {unknown} src @param {string} profileUrl @param {string | null | undefined} name */
  function add(src, profileUrl, name) {
    const image = absolute(src, page.url);
    if (image && !out.some((d) => d.image === image)) {
      out.push(name ? { image, profileUrl, name } : { image, profileUrl });
    }
  }
}

/** @typedef {{image: string, profileUrl: string, name?: string}} Declared */

const NOT_A_NAME = /avatar|photo|picture|image|profile|logo|icon|headshot|portrait|user|member|^\W*$/i;

/**
 * A person's name as a page shows it, or null: alt texts such as "Photo of Dana Whitfield" and
 * "Dana Whitfield's profile picture" give the name; "avatar", handles and sentences do not.
 * @param {unknown} text
 * @returns {string | null}
 */
export function cleanName(text) {
  if (typeof text !== "string") return null;
  let t = text.replace(/\s+/g, " ").trim();
  t = t.replace(/^(photo|picture|image|portrait|avatar|headshot) of /i, "")
       .replace(/[’']s? (profile )?(photo|picture|image|avatar|headshot)$/i, "")
       .replace(/,? (profile )?(photo|picture|avatar)$/i, "").trim();
  if (!t || t.length > 80 || t.includes("@") || /https?:|[<>{}|\\/]/.test(t)) return null;
  if (NOT_A_NAME.test(t) || t.split(" ").length > 6) return null;
  return t;
}

/**
 * The name of the profile a photo belongs to, where the page shows it: the Person the page
 * declares, the page's heading for the profile's own photo, else the photo's alt text or the
 * text of the profile link around it. Sent with the lookup: reuse under other names is what a
 * recruiter needs to see.
 * @param {Adapter} adapter
 * @param {ImageInfo} img
 * @param {PageInfo} page
 * @param {Declared[]} [declared]
 * @returns {string | null}
 */
export function profileNameFor(adapter, img, page, declared = []) {
  const d = declared.find((x) => sameImage(x.image, img.src));
  if (d?.name) return d.name;
  if (img.main || (adapter !== GENERIC && !img.linkHref && isProfilePath(adapter, page.pathname))) {
    const own = cleanName(page.heading) ?? declared.find((x) => x.name)?.name;
    if (own) return own;
  }
  return cleanName(img.alt) ?? cleanName(img.linkText);
}

/**
 * Every JSON object in a JSON-LD text, @graph members and nested mainEntity included.
 * @param {string} text
 * @returns {any[]}
 */
export function jsonLdNodes(text) {
  let data;
  try {
    data = JSON.parse(text);
  } catch {
    return []; // broken JSON-LD is common; it just says nothing
  }
  const out = [];
  const stack = [data];
  while (stack.length && out.length < 200) {
    const node = stack.pop();
    if (Array.isArray(node)) stack.push(...node);
    else if (node && typeof node === "object") {
      out.push(node);
      if (node["@graph"]) stack.push(node["@graph"]);
    }
  }
  return out;
}

function hasType(/** @type {any} */ node, /** @type {string} */ type) {
  const t = node?.["@type"];
  return [t].flat().some((x) => typeof x === "string" && x.replace(/^.*[/:#]/, "") === type);
}

/** @param {unknown} value @param {string} base */
function absolute(value, base) {
  if (typeof value !== "string" || !value.trim()) return undefined;
  try {
    const u = new URL(value.trim(), base);
    return u.protocol === "http:" || u.protocol === "https:" ? u.href : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether two image URLs name the same picture (ignoring size parameters and fragments).
 * @param {string} a
 * @param {string} b
 */
export function sameImage(a, b) {
  if (a === b) return true;
  try {
    return stripQuery(new URL(a)) === stripQuery(new URL(b));
  } catch {
    return false;
  }
}

/**
 * Is this image a profile photo? For the generic adapter an image the page declares as the
 * profile's photo counts even when it does not look like an avatar.
 * @param {Adapter} adapter
 * @param {ImageInfo} img
 * @param {{image: string}[]} [declared]  from declaredPhotos()
 */
export function isProfilePhoto(adapter, img, declared = []) {
  if (!/^https?:/i.test(img.src)) return false; // data: and blob: URLs: placeholders, previews
  if (adapter === GENERIC && declared.some((d) => sameImage(d.image, img.src))) {
    return squareish(img) || (img.width >= MIN_SIDE && img.height >= MIN_SIDE);
  }
  return adapter.accept(img);
}

/**
 * The profile a photo belongs to, sent with the lookup so the server can tell reuse across
 * profiles: the profile link around the photo, or the page itself when it is the profile's own
 * photo on its profile page; null when unknown (a photo in a feed with no profile link).
 * @param {Adapter} adapter
 * @param {ImageInfo} img
 * @param {PageInfo} page
 * @param {Declared[]} [declared]
 * @returns {string | null}
 */
export function profileUrlFor(adapter, img, page, declared = []) {
  if (adapter === GENERIC) {
    const d = declared.find((x) => sameImage(x.image, img.src));
    if (d) return d.profileUrl;
    // A link to a page of its own on the same site (a team page linking each member) names the
    // profile; otherwise the photo is seen on this page, which is said so the verdict does not
    // depend on which adapter ran.
    const own = canonicalUrl(GENERIC, page.url);
    if (!img.main && img.linkHref) {
      try {
        const link = new URL(img.linkHref);
        const here = new URL(page.url);
        if (link.host === here.host && /^https?:$/.test(link.protocol) && link.pathname !== "/") {
          const target = canonicalUrl(GENERIC, link.href);
          if (target !== own) return target;
        }
      } catch {
        // an unparsable link says nothing about the profile
      }
    }
    return own;
  }
  const pageUrl = new URL(page.url);
  if (img.linkHref) {
    try {
      const link = new URL(img.linkHref);
      if (link.host === pageUrl.host && isProfilePath(adapter, link.pathname)) {
        return canonicalUrl(adapter, link.href);
      }
    } catch {
      // an unparsable link says nothing about the profile
    }
  }
  if (img.main && isProfilePath(adapter, pageUrl.pathname)) return canonicalUrl(adapter, page.url);
  return null;
}

function isProfilePath(/** @type {Adapter} */ adapter, /** @type {string} */ path) {
  if (adapter === GITHUB && GITHUB_RESERVED.test(path)) return false;
  if (adapter === X && X_RESERVED.test(path)) return false;
  return adapter.profilePath.test(path);
}

/** @param {Adapter} adapter @param {string} url */
function canonicalUrl(adapter, url) {
  const u = new URL(url);
  return adapter.canonical ? adapter.canonical(u) : stripQuery(u).replace(/(.)\/$/, "$1");
}
