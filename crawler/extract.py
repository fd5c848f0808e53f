"""Headshot extraction, as pure functions of one response (no requests, no state).

In order of trust: a schema.org ``Person`` in JSON-LD (``image``), an OpenGraph profile
(``og:type=profile``, ``og:image``), a microformats h-card (``u-photo``), the ActivityPub actor the
page links to (its ``icon``, fetched separately), and a plain ``<img>`` that looks like an avatar.

Each finder returns the page's one headshot or None. A page that describes several people (a team
listing, a search result) gives None: its thumbnails are the members' photos, and counting them as
sightings on the listing would make every member look "reused".
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from parsel import Selector
from scrapy.http import TextResponse
from scrapy.utils.response import get_base_url

from .items import ACTIVITYPUB, HCARD, IMG, JSONLD, OPENGRAPH

ACTIVITY_JSON = "application/activity+json"
# Pages about something other than a person they mention (an article and its author).
NOT_A_PROFILE = frozenset({
    "Article", "BlogPosting", "NewsArticle", "Report", "ScholarlyArticle", "TechArticle",
    "SocialMediaPosting", "DiscussionForumPosting", "Review", "Product", "Event", "Recipe",
    "ItemList", "CollectionPage", "SearchResultsPage", "QAPage", "FAQPage",
})
NOT_A_PROFILE_OG = ("article", "product", "book", "video.", "music.")
ACTOR_TYPES = frozenset({"Person", "Service"})
# Plain <img> heuristic: words that mark an avatar, and words that mark anything else.
AVATAR_HINT = re.compile(r"avatar|profile|headshot|portrait|user-?pic|userphoto|author|member"
                         r"|photo of|picture of", re.I)
NOT_A_HEADSHOT = re.compile(r"logo|icon|sprite|banner|emoji|badge|spinner|placeholder|default"
                            r"|blank|anonymous|no-?photo|missing|cover|hero|background", re.I)
ALT_NAME = re.compile(r"^(?:photo|picture|portrait|headshot|avatar|image) of\s+(.+)$", re.I)
MIN_AVATAR_PX = 48


@dataclass(frozen=True)
class Found:
    image_url: str
    name: str | None
    how: str


def page_headshot(response: TextResponse) -> Found | None:
    """The most trusted headshot the page declares itself (JSON-LD, OpenGraph, h-card)."""
    for finder in (jsonld_headshot, opengraph_headshot, hcard_headshot):
        found = finder(response)
        if found:
            return found
    return None


def fallback_headshot(response: TextResponse) -> Found | None:
    """The plain ``<img>`` avatar, unless the page says it is about something else (an
    article's author box is the author's photo, not a profile of them on this page)."""
    return None if declares_other_subject(response) else img_avatar(response)


def declares_other_subject(response: TextResponse) -> bool:
    og_type = (_meta(response, "og:type") or "").lower()
    return og_type.startswith(NOT_A_PROFILE_OG) or any(
        _types(n) & NOT_A_PROFILE for n in jsonld_nodes(response))


# -- helpers -------------------------------------------------------------------------------------
def _clean(text: Any) -> str | None:
    if not isinstance(text, str):
        return None
    text = " ".join(text.split())
    return text[:200] or None


def _absolute(base_url: str, url: Any) -> str | None:
    """An absolute http(s) URL, or None (data: URIs and scripts are not photos we can record)."""
    url = _clean(url)
    if not url:
        return None
    url = urljoin(base_url, url)
    return url if urlsplit(url).scheme in ("http", "https") else None


def _image_url(response: TextResponse, url: Any) -> str | None:
    return _absolute(get_base_url(response), url)  # honours <base href>


def _types(node: dict[str, Any], key: str = "@type") -> set[str]:
    t = node.get(key)
    if isinstance(t, str):
        return {t.rsplit("/", 1)[-1]}
    return {x.rsplit("/", 1)[-1] for x in t if isinstance(x, str)} if isinstance(t, list) else set()


def _classes(sel: Selector) -> set[str]:
    return set((sel.attrib.get("class") or "").split())


def _has_class(name: str) -> str:
    return f'contains(concat(" ", normalize-space(@class), " "), " {name} ")'


# -- schema.org JSON-LD --------------------------------------------------------------------------
def jsonld_nodes(response: TextResponse) -> list[dict[str, Any]]:
    """Top-level JSON-LD nodes (``@graph`` members included); blocks that do not parse are
    skipped, as browsers and search engines do."""
    nodes: list[dict[str, Any]] = []
    for raw in response.xpath('//script[contains(@type, "ld+json")]/text()').getall():
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):  # nesting deeper than the parser's stack
            continue
        for top in data if isinstance(data, list) else [data]:
            if not isinstance(top, dict):
                continue
            graph = top.get("@graph")
            if isinstance(graph, list):
                nodes += [n for n in graph if isinstance(n, dict)]
            else:
                nodes.append(top)
    return nodes


def _jsonld_image(node: dict[str, Any], deref: Callable[[Any], Any]) -> Any:
    image = deref(node.get("image"))
    if isinstance(image, list):
        image = deref(image[0]) if image else None
    if isinstance(image, dict):
        return image.get("contentUrl") or image.get("url")
    return image


def jsonld_headshot(response: TextResponse) -> Found | None:
    nodes = jsonld_nodes(response)
    by_id = {n["@id"]: n for n in nodes if isinstance(n.get("@id"), str)}

    def deref(x: Any) -> Any:
        if isinstance(x, dict) and isinstance(x.get("@id"), str) and len(x) == 1:
            return by_id.get(x["@id"], x)
        return x

    person = None
    for n in nodes:
        if "ProfilePage" in _types(n):
            main = deref(n.get("mainEntity") or n.get("about"))
            if isinstance(main, dict) and "Person" in _types(main):
                person = main
                break
    if person is None:
        if any(_types(n) & NOT_A_PROFILE for n in nodes):
            return None
        people = [n for n in nodes if "Person" in _types(n) and _jsonld_image(n, deref)]
        if len(people) != 1:
            return None
        person = people[0]
    url = _image_url(response, _jsonld_image(person, deref))
    if not url:
        return None
    name = _clean(person.get("name")) or _clean(
        " ".join(x for x in (person.get("givenName"), person.get("familyName"))
                 if isinstance(x, str)))
    return Found(url, name, JSONLD)


# -- OpenGraph -----------------------------------------------------------------------------------
def _meta(response: TextResponse, prop: str) -> str | None:
    return _clean(response.xpath(
        f'//meta[@property="{prop}" or @name="{prop}"]/@content').get())


def opengraph_headshot(response: TextResponse) -> Found | None:
    if (_meta(response, "og:type") or "").lower() != "profile":
        return None
    url = _image_url(response, _meta(response, "og:image") or _meta(response, "og:image:url"))
    if not url:
        return None
    first, last = _meta(response, "profile:first_name"), _meta(response, "profile:last_name")
    name = (_clean(" ".join(x for x in (first, last) if x))
            or _meta(response, "profile:username") or _meta(response, "og:title"))
    return Found(url, name, OPENGRAPH)


# -- microformats h-card -------------------------------------------------------------------------
def _is_nested(card: Selector) -> bool:
    return any(c.startswith("h-") for a in card.xpath("ancestor::*[@class]")
               for c in _classes(a))


def _u_photo(response: TextResponse, card: Selector) -> str | None:
    els = ([card] if "u-photo" in _classes(card) else []) + card.xpath(
        f".//*[{_has_class('u-photo')}]")
    for el in els:
        tag = el.xpath("name()").get("").lower()
        attr = {"img": "src", "a": "href", "area": "href", "link": "href",
                "object": "data"}.get(tag, "src")
        url = _image_url(response, el.attrib.get(attr))
        if url:
            return url
    return None


def hcard_headshot(response: TextResponse) -> Found | None:
    cards = []
    for card in response.xpath(f"//*[{_has_class('h-card')}]"):
        if _is_nested(card):
            continue
        url = _u_photo(response, card)
        if url:
            cards.append((card, url))
    if len(cards) != 1:
        return None
    card, url = cards[0]
    name = _clean(" ".join(card.xpath(f".//*[{_has_class('p-name')}]//text()").getall()))
    return Found(url, name, HCARD)


# -- ActivityPub ---------------------------------------------------------------------------------
def activitypub_actor_url(response: TextResponse) -> str | None:
    """The actor document a profile page links to (Mastodon and others publish one)."""
    for link in response.xpath("//link[@href]"):
        rel = (link.attrib.get("rel") or "").lower().split()
        kind = (link.attrib.get("type") or "").lower()
        is_actor = kind == ACTIVITY_JSON or (
            kind.startswith("application/ld+json") and "activitystreams" in kind)
        if "alternate" in rel and is_actor:
            return _image_url(response, link.attrib["href"])
    return None


def _icon_urls(icon: Any) -> Iterator[Any]:
    for x in icon if isinstance(icon, list) else [icon]:
        if isinstance(x, str):
            yield x
        elif isinstance(x, dict):
            url = x.get("url", x.get("href"))
            for u in url if isinstance(url, list) else [url]:
                yield u.get("href") if isinstance(u, dict) else u


def actor_headshot(actor: Any, base_url: str) -> Found | None:
    """The ``icon`` of an ActivityPub actor document (``image`` is its header banner)."""
    if not isinstance(actor, dict) or not _types(actor, "type") & ACTOR_TYPES:
        return None
    for u in _icon_urls(actor.get("icon")):
        url = _absolute(base_url, u)
        if url:
            name = _clean(actor.get("name")) or _clean(actor.get("preferredUsername"))
            return Found(url, name, ACTIVITYPUB)
    return None


# -- plain <img> ---------------------------------------------------------------------------------
def _px(value: str | None) -> int | None:
    m = re.match(r"\s*(\d+)", value or "")
    return int(m.group(1)) if m else None


def _looks_like_avatar(img: Selector, src: str) -> bool:
    hints = " ".join([img.attrib.get("class", ""), img.attrib.get("id", ""),
                      img.attrib.get("alt", ""), urlsplit(src).path.rsplit("/", 1)[-1]])
    if not AVATAR_HINT.search(hints) or NOT_A_HEADSHOT.search(hints):
        return False
    w, h = _px(img.attrib.get("width")), _px(img.attrib.get("height"))
    if (w is not None and w < MIN_AVATAR_PX) or (h is not None and h < MIN_AVATAR_PX):
        return False
    return not (w and h and not 0.5 <= w / h <= 2)


def img_avatar(response: TextResponse) -> Found | None:
    """The one avatar-looking ``<img>`` of a page that declares nothing better; None when there
    are several (a listing) or none."""
    found: dict[str, Selector] = {}
    for img in response.xpath("//img"):
        src = next((u for a in ("src", "data-src", "data-original")
                    if (u := _image_url(response, img.attrib.get(a)))), None)
        if src and _looks_like_avatar(img, src):
            found.setdefault(src, img)
    if len(found) != 1:
        return None
    (url, img), = found.items()
    alt = _clean(img.attrib.get("alt"))
    m = ALT_NAME.match(alt or "")
    name = (_clean(m.group(1)) if m else None) or (
        alt if alt and not AVATAR_HINT.search(alt) else None) or _clean(
        " ".join(response.xpath("//h1//text()").getall()))
    return Found(url, name, IMG)
