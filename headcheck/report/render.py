"""HTML rendering: a Jinja2 template with autoescaping (profile names and URLs come from crawled
pages and are untrusted), CSS inline, images as relative files; nothing loads from the network."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from .stats import Proportion

TEMPLATES = Path(__file__).parent / "templates"
LINKABLE_SCHEMES = {"http", "https", "file"}


def safe_href(url: str | None) -> str | None:
    """The URL when it is safe to link (no javascript:, data: ...), else None."""
    if not url:
        return None
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return None
    return url.strip() if scheme in LINKABLE_SCHEMES else None


def pct(value: float, digits: int = 1) -> str:
    return f"{100 * value:.{digits}f}%"


def ci(p: Proportion) -> str:
    return f"{100 * p.low:.1f}–{100 * p.high:.1f}%"


def environment() -> Environment:
    # Escape the HTML template; the CSS it includes is ours and must stay as written.
    escape = select_autoescape(["html", "j2"], default_for_string=True, default=False)
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=escape,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(pct=pct, ci=ci, href=safe_href)
    return env


def render(context: dict[str, Any]) -> str:
    return environment().get_template("report.html.j2").render(**context)
