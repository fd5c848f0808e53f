// Content scripts cannot be ES modules; this classic script imports the module that is.
// (The modules are web_accessible_resources so that import() may load them.)
(() => {
  if (globalThis.headcheckLoaded) return; // injected twice into one document
  globalThis.headcheckLoaded = true;
  import(chrome.runtime.getURL("content/main.js"))
    .then((m) => m.start())
    .catch((err) => console.debug("headcheck did not start:", err));
})();
