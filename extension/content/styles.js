/** The badges' style sheet, adopted by the overlay's shadow root (the page's CSS cannot reach it). */
export const CSS = `
:host { all: initial; }
.hc-badge {
  position: absolute; top: 0; left: 0; pointer-events: auto;
  font: 600 12px/1.25 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: #111827; letter-spacing: 0; text-align: left;
}
.hc-badge[hidden] { display: none; }
.hc-badge.hc-open { z-index: 1; }
.hc-pill {
  all: unset; box-sizing: border-box; cursor: pointer; display: inline-flex; align-items: center;
  gap: 4px; white-space: nowrap; padding: 2px 8px 2px 6px; border-radius: 999px;
  color: #fff; border: 1.5px solid #fff; box-shadow: 0 1px 3px rgba(0, 0, 0, .45);
  font: inherit;
}
.hc-pill:focus-visible { outline: 3px solid #2563eb; outline-offset: 1px; }
.hc-compact .hc-pill { font-size: 10.5px; padding: 1px 6px 1px 4px; }
.hc-tiny .hc-word, .hc-icon-only .hc-pct { display: none; }
.hc-tiny .hc-pill { gap: 2px; padding: 1px 4px 1px 3px; }
.hc-synthetic .hc-pill { background: #6d28d9; }
.hc-composited .hc-pill { background: #b45309; }
.hc-reused .hc-pill { background: #b91c1c; }
.hc-none .hc-pill {
  background: rgba(243, 244, 246, .92); color: #374151; border-color: #d1d5db;
  font-weight: 500; box-shadow: none;
}
.hc-icon { width: 1em; height: 1em; flex: none; }
.hc-panel {
  position: absolute; z-index: 1; width: max-content; max-width: min(340px, 90vw);
  box-sizing: border-box; padding: 10px 12px; border-radius: 8px; background: #fff;
  color: #111827; border: 1px solid #d1d5db; box-shadow: 0 8px 24px rgba(0, 0, 0, .22);
  font: 400 13px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; white-space: normal;
}
.hc-panel[hidden] { display: none; }
.hc-title { margin: 0 0 2px; font-weight: 700; font-size: 13.5px; }
.hc-summary { margin: 0 0 8px; color: #4b5563; }
.hc-reasons { margin: 0; padding: 0; list-style: none; }
.hc-reasons li { margin: 0 0 8px; padding-left: 10px; border-left: 3px solid #d1d5db; }
.hc-reasons li.hc-synthetic { border-color: #6d28d9; }
.hc-reasons li.hc-composited { border-color: #b45309; }
.hc-reasons li.hc-reused { border-color: #b91c1c; }
.hc-headline { margin: 0; font-weight: 600; }
.hc-evidence { margin: 2px 0 0; color: #4b5563; font-size: 12px; }
.hc-links { margin: 2px 0 0; font-size: 12px; color: #4b5563; overflow-wrap: anywhere; }
.hc-links a { color: #1d4ed8; text-decoration: underline; }
.hc-names { margin: 4px 0 0; padding: 0; list-style: none; font-size: 12px; }
.hc-names li { display: flex; align-items: center; gap: 6px; margin: 2px 0; }
.hc-thumb { width: 28px; height: 28px; border-radius: 4px; object-fit: cover; flex: none; }
.hc-name { font-weight: 600; color: #111827; }
a.hc-name { color: #1d4ed8; text-decoration: underline; }
.hc-seen { color: #6b7280; }
.hc-details { margin: 3px 0 0; font-size: 11.5px; color: #4b5563; }
.hc-details summary { cursor: pointer; color: #374151; width: max-content; }
.hc-details summary:focus-visible { outline: 2px solid #2563eb; outline-offset: 1px; }
.hc-details p { margin: 2px 0 0; overflow-wrap: anywhere; }
.hc-feedback { margin: 8px 0 0; padding-top: 6px; border-top: 1px solid #e5e7eb; font-size: 12px; }
.hc-ask, .hc-answered, .hc-status { margin: 0; color: #374151; }
.hc-fb {
  font: inherit; font-size: 12px; cursor: pointer; padding: 1px 8px; border-radius: 6px;
  border: 1px solid #9ca3af; background: #f9fafb; color: #111827;
}
.hc-fb:focus-visible { outline: 2px solid #2563eb; outline-offset: 1px; }
.hc-note { margin: 4px 0 0; }
.hc-note[hidden] { display: none; }
.hc-note label { display: block; color: #4b5563; }
.hc-note textarea { display: block; width: 100%; box-sizing: border-box; margin: 2px 0 4px; font: inherit; }
.hc-disputed-verdict .hc-pill { background: #6b7280; }
.hc-disputed .hc-pill { outline: 2px dashed #111827; outline-offset: 1px; }
.hc-foot { margin: 4px 0 0; color: #6b7280; font-size: 11.5px; }
`;
