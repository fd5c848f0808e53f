"""The pieces of the extension's browser tests (and of bench/extension_bench.py): a store built
from the sample profiles, a real `headcheck serve` on 127.0.0.1, local pages that mimic LinkedIn,
GitHub, X, Mastodon and an ordinary site, and Chromium with the unpacked extension loaded."""

from __future__ import annotations

import contextlib
import csv
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

from headcheck.detectors.registry import DISABLE_ENV
from tests.server_support import headcheck_server as serve

ROOT = Path(__file__).resolve().parent.parent
EXTENSION = ROOT / "extension"
PAGES = ROOT / "tests" / "fixtures" / "pages"
SAMPLE = ROOT / "data" / "sample"
IMAGE_DIRS = (SAMPLE / "images", ROOT / "data" / "faces" / "real" / "images")
CHROMIUM = os.environ.get("HEADCHECK_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
API_KEY = "extension-e2e-key-0123456789"
CLI = [sys.executable, "-c", "from headcheck.cli import main; main()"]

# The fake sites' addresses: the paths real profiles have (the adapters read them).
ROUTES = {
    "/in/dana-whitfield/": "linkedin-profile.html",
    "/marc-oyelaran": "github-profile.html",
    "/chris_t": "x-profile.html",
    "/home": "x-home.html",
    "/@alex": "mastodon-profile.html",
    "/team/lena-brandt": "generic-profile.html",
    "/in/avery-stone/": "linkedin-column.html",
    "/bench": "bench.html",
}
# Size suffixes that X and others add to one photo's name (the same bytes are served).
_SIZE_SUFFIX = re.compile(r"(_\d+x\d+|_normal|_bigger|_mini)$")


def store_without_clean_photos(db: Path) -> Path:
    """`headcheck index` over the sample profiles except the three "plain" photos: the pages show
    those on other profiles, and a photo the store holds from one profile, seen on another, is
    (rightly) reused."""
    rows = list(csv.reader((SAMPLE / "pages.csv").open()))[1:]
    listing = db.with_suffix(".csv")
    with listing.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "page_url", "profile"])
        for path, page, name in rows:
            if not Path(path).name.startswith("plain-"):
                w.writerow([SAMPLE / path, page, name])
    done = subprocess.run([*CLI, "index", "--db", str(db), "--pages", str(listing)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"headcheck index failed:\n{done.stderr}")
    return db


def headcheck_server(db: Path, api_key: str | None = API_KEY, port: int = 0
                     ) -> contextlib.AbstractContextManager[str]:
    """The real server for the extension's tests (see tests.server_support), without the
    diffusion probe: these tests time the extension's UI against live lookups, and on a crowded
    test machine the CLIP pass (seconds a face there) outlasts their waits. The probe is tested
    in tests/core/test_diffusion.py, the detector harness, and every other server and CLI test."""
    return serve(db, api_key, port, extra_env={DISABLE_ENV: "diffusion.clip_probe"})


def image_file(name: str) -> Path | None:
    """The sample photo a fake CDN URL names: its last path segment, size suffix dropped."""
    stem = _SIZE_SUFFIX.sub("", Path(name).stem)
    for folder in IMAGE_DIRS:
        if (folder / f"{stem}.jpg").is_file():
            return folder / f"{stem}.jpg"
    return None


class _Pages(BaseHTTPRequestHandler):
    """ROUTES as HTML; any other path ending in a sample photo's name as that photo (a fresh copy,
    with different bytes, under /fresh/TOKEN/...); SVG and PNG files from the fixtures."""

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, code: int, body: bytes, ctype: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "max-age=3600")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        path = urlparse(self.path).path
        if path in ROUTES:
            self._send(200, (PAGES / ROUTES[path]).read_bytes(), "text/html; charset=utf-8")
            return
        name = path.rsplit("/", 1)[-1]
        photo = image_file(name)
        if photo is not None:
            body = photo.read_bytes()
            if path.startswith("/fresh/"):  # bytes after the JPEG's end: a photo nobody has seen
                body += path.split("/")[2].encode()
            self._send(200, body, "image/jpeg")
        elif name.endswith((".svg", ".png")) and (PAGES / name).is_file():
            ctype = "image/svg+xml" if name.endswith(".svg") else "image/png"
            self._send(200, (PAGES / name).read_bytes(), ctype)
        else:
            self._send(404, b"not found", "text/plain")


@contextlib.contextmanager
def page_server(handler: Callable[..., BaseHTTPRequestHandler] = _Pages) -> Iterator[str]:
    """The fake sites (or what ``handler`` serves) on 127.0.0.1 (a free port); yields the base
    URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Browser:
    context: object  # playwright BrowserContext
    extension_id: str

    def url(self, path: str) -> str:
        return f"chrome-extension://{self.extension_id}/{path}"


def launch(playwright: object, profile: Path) -> Browser:
    """Chromium (Debian's) with the unpacked extension, headless; the id from its worker's URL."""
    args = [f"--disable-extensions-except={EXTENSION}", f"--load-extension={EXTENSION}",
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"]
    context = playwright.chromium.launch_persistent_context(  # type: ignore[attr-defined]
        str(profile), executable_path=CHROMIUM, headless=False, args=args,
        viewport={"width": 1280, "height": 900})
    workers = context.service_workers or [context.wait_for_event("serviceworker", timeout=30_000)]
    return Browser(context, urlparse(workers[0].url).hostname or "")


def configure(browser: Browser, server_url: str, api_key: str = "", *,
              show_checked: bool = False, sites: str = "http://127.0.0.1/*") -> None:
    """Set the options as a user does, on the options page; wait until the content script is
    registered for the sites."""
    page = browser.context.new_page()  # type: ignore[attr-defined]
    try:
        page.goto(browser.url("options/options.html"))
        page.fill("#serverUrl", server_url)
        page.fill("#apiKey", api_key)
        page.fill("#sites", sites)
        page.set_checked("#showChecked", show_checked)
        page.click("#save")
        page.wait_for_selector("#message.ok")
        page.wait_for_function(
            """async (sites) => {
                 const [s] = await chrome.scripting.getRegisteredContentScripts();
                 return Boolean(s) && s.matches.join() === sites;
               }""", arg=sites, timeout=10_000, polling=50)
    finally:
        page.close()


def open_popup(browser: Browser, tab_url: str) -> object:
    """The toolbar popup for the tab showing `tab_url`, opened as a page (popup.html?tab=ID)."""
    popup = browser.context.new_page()  # type: ignore[attr-defined]
    popup.set_viewport_size({"width": 400, "height": 640})
    popup.goto(browser.url("popup/popup.html"))
    tab = popup.evaluate(
        "async (url) => (await chrome.tabs.query({})).find((t) => t.url === url)?.id", tab_url)
    assert tab, f"no tab shows {tab_url}"
    popup.goto(browser.url(f"popup/popup.html?tab={tab}"))
    return popup
