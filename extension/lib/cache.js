/**
 * Answers cached in a chrome.storage area (the service worker uses storage.session: it survives
 * the worker being stopped between events, and is gone when the browser closes).
 *
 * One answer is stored under two keys: the image URL (a photo seen again costs nothing) and the
 * image's sha256 (the same bytes under another URL cost a download but no server call). Both
 * keys include the page the lookup named, since the server's verdict depends on it (reuse counts
 * pages).
 */

const PREFIX = "hc:cache:";
const INDEX = `${PREFIX}#index`;

/**
 * @typedef {object} StorageArea  the subset of chrome.storage.StorageArea used here
 * @property {(keys: string | string[]) => Promise<Record<string, any>>} get
 * @property {(items: Record<string, any>) => Promise<void>} set
 * @property {(keys: string | string[]) => Promise<void>} remove
 */

/** @param {string} imageUrl @param {string | null | undefined} pageUrl */
export const urlKey = (imageUrl, pageUrl) => `url ${pageUrl ?? ""} ${imageUrl}`;
/** @param {string} sha256 @param {string | null | undefined} pageUrl */
export const shaKey = (sha256, pageUrl) => `sha ${pageUrl ?? ""} ${sha256}`;

export class AnswerCache {
  /**
   * @param {StorageArea} area
   * @param {{ttlMs?: number, maxEntries?: number, now?: () => number}} [options]
   *   ttlMs: the server's store grows while we browse, so answers age out (10 minutes);
   *   maxEntries: keys kept, oldest dropped first (storage.session holds 10 MB).
   */
  constructor(area, { ttlMs = 10 * 60_000, maxEntries = 2000, now = Date.now } = {}) {
    this.area = area;
    this.ttlMs = ttlMs;
    this.maxEntries = maxEntries;
    this.now = now;
    /** Writes are chained: two interleaved read-modify-writes of the index would lose keys. */
    this.writing = Promise.resolve();
  }

  /**
   * @param {string} key
   * @returns {Promise<any>} the value, or undefined when absent or too old
   */
  async get(key) {
    const item = (await this.area.get(PREFIX + key))[PREFIX + key];
    if (!item || this.now() - item.at > this.ttlMs) return undefined;
    return item.value;
  }

  /**
   * Store `value` under every key in `keys`.
   * @param {string[]} keys
   * @param {any} value
   */
  put(keys, value) {
    const run = async () => {
      const at = this.now();
      const stored = (await this.area.get(INDEX))[INDEX];
      const index = Array.isArray(stored) ? stored.filter((k) => !keys.includes(k)) : [];
      index.push(...keys);
      const dropped = index.splice(0, Math.max(0, index.length - this.maxEntries));
      /** @type {Record<string, any>} */
      const items = { [INDEX]: index };
      for (const k of keys) items[PREFIX + k] = { at, value };
      if (dropped.length) await this.area.remove(dropped.map((k) => PREFIX + k));
      await this.area.set(items);
    };
    this.writing = this.writing.then(run, run);
    return this.writing;
  }

  /** Forget every answer (the server or its key changed). */
  clear() {
    const run = async () => {
      const stored = (await this.area.get(INDEX))[INDEX];
      const keys = Array.isArray(stored) ? stored.map((k) => PREFIX + k) : [];
      await this.area.remove([...keys, INDEX]);
    };
    this.writing = this.writing.then(run, run);
    return this.writing;
  }
}

/**
 * A Map with the StorageArea interface, for tests and as a stand-in where no storage exists.
 * @returns {StorageArea & {data: Map<string, any>}}
 */
export function memoryArea() {
  const data = new Map();
  const list = (/** @type {string | string[]} */ keys) => (Array.isArray(keys) ? keys : [keys]);
  return {
    data,
    async get(keys) {
      /** @type {Record<string, any>} */ const out = {};
      for (const k of list(keys)) if (data.has(k)) out[k] = structuredClone(data.get(k));
      return out;
    },
    async set(items) {
      for (const [k, v] of Object.entries(items)) data.set(k, structuredClone(v));
    },
    async remove(keys) {
      for (const k of list(keys)) data.delete(k);
    },
  };
}
