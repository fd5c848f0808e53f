"""Headshot extraction and link discovery on saved pages, and the spider's parsing."""

from __future__ import annotations

import asyncio
import gzip
import json

import pytest
from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Response, TextResponse, XmlResponse
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from crawler.extract import (
    Found,
    activitypub_actor_url,
    actor_headshot,
    fallback_headshot,
    hcard_headshot,
    img_avatar,
    jsonld_headshot,
    opengraph_headshot,
    page_headshot,
)
from crawler.items import Headshot, PageError
from crawler.links import page_links, robots_sitemaps, sitemap_entries
from crawler.spider import HeadshotSpider
from tests.crawl_helpers import FIXTURES, saved_page

GRAVATAR = "https://secure.gravatar.example/avatar/5d1c?s=96&d=mm&r=g"
JUNO_AVATAR = "https://files.social.example/accounts/avatars/000/000/042/original/a1b2.png"


def test_jsonld_person_behind_graph_references() -> None:
    page = saved_page("wordpress_author.html", "https://fieldnotes.example/author/rosa/")
    assert jsonld_headshot(page) == Found(GRAVATAR, "Rosa Lindqvist", "jsonld")
    # JSON-LD outranks the OpenGraph image (a larger size of the same avatar here).
    assert page_headshot(page) == Found(GRAVATAR, "Rosa Lindqvist", "jsonld")


def test_jsonld_skips_bad_blocks_and_reads_lists() -> None:
    page = saved_page("broken_jsonld.html", "https://uni.example/people/lina")
    assert jsonld_headshot(page) == Found("https://uni.example/people/lina/photo.jpg",
                                          "Lina Berg", "jsonld")


def test_jsonld_profilepage_main_entity() -> None:
    graph = {"@context": "https://schema.org", "@graph": [
        {"@type": "ProfilePage", "mainEntity": {"@id": "#me"}},
        {"@type": "Person", "@id": "#me", "name": "Me", "image": {"@id": "#pic"}},
        {"@type": "Person", "@id": "#friend", "name": "Friend", "image": "/friend.jpg"},
        {"@type": "ImageObject", "@id": "#pic", "contentUrl": "/me.jpg"},
    ]}
    body = f'<script type="application/ld+json">{json.dumps(graph)}</script>'.encode()
    page = HtmlResponse("https://a.example/me", body=body, encoding="utf-8")
    assert jsonld_headshot(page) == Found("https://a.example/me.jpg", "Me", "jsonld")


def test_an_article_is_not_its_authors_profile() -> None:
    page = saved_page("wordpress_article.html", "https://fieldnotes.example/2024/03/spring/")
    assert page_headshot(page) is None
    assert img_avatar(page) is not None  # the author box alone would look like a profile
    assert fallback_headshot(page) is None


def test_opengraph_profile() -> None:
    page = saved_page("code_profile.html", "https://code.example/tkowal")
    assert opengraph_headshot(page) == Found("https://avatars.code.example/u/118273?v=4",
                                             "tkowal", "opengraph")
    site = HtmlResponse("https://code.example/", encoding="utf-8", body=(
        b'<meta property="og:type" content="website">'
        b'<meta property="og:image" content="/card.png">'))
    assert opengraph_headshot(site) is None


def test_hcard_representative_card_only() -> None:
    page = saved_page("indieweb_home.html", "https://ada.example/")
    # <base href> applies; the author h-card nested in an h-entry is someone else.
    assert hcard_headshot(page) == Found("https://ada.example/site/img/ada.jpg", "Ada Okafor",
                                         "hcard")


def test_mastodon_profile_page_and_actor() -> None:
    page = saved_page("mastodon_profile.html", "https://social.example/@juno")
    assert page_headshot(page) == Found(JUNO_AVATAR, "juno", "opengraph")
    shell = saved_page("mastodon_app_shell.html", "https://social.example/@juno")
    assert page_headshot(shell) is None
    assert activitypub_actor_url(shell) == "https://social.example/users/juno"
    actor = json.loads((FIXTURES / "mastodon_actor.json").read_text())
    # The icon is the avatar; "image" is the profile's header banner.
    assert actor_headshot(actor, "https://social.example/users/juno") == Found(
        JUNO_AVATAR, "Juno Marr", "activitypub")


@pytest.mark.parametrize("actor", [
    {"type": "Person", "preferredUsername": "bo", "icon": [
        {"type": "Image", "url": [{"type": "Link", "href": "/a/bo.jpg"}]}]},
    {"type": ["Person"], "preferredUsername": "bo", "icon": "/a/bo.jpg"},
])
def test_actor_icon_forms(actor: dict) -> None:
    assert actor_headshot(actor, "https://s.example/users/bo") == Found(
        "https://s.example/a/bo.jpg", "bo", "activitypub")


@pytest.mark.parametrize("actor", [
    {"type": "Organization", "icon": "/logo.png"},  # a logo, not a face
    {"type": "Person"},  # no avatar set
    {"type": "Person", "icon": {"url": "data:image/png;base64,AAAA"}},
    ["not", "an", "actor"],
])
def test_actors_without_a_headshot(actor: object) -> None:
    assert actor_headshot(actor, "https://s.example/users/x") is None


def test_plain_img_avatar() -> None:
    page = saved_page("plain_profile.html", "https://clinic.example/staff/aalto")
    # The lazy-loaded source, not the data: placeholder; logo, icon and banner are not faces.
    assert img_avatar(page) == Found("https://clinic.example/media/staff/aalto_s.jpg",
                                     "Dr. Sven Aalto", "img")


def test_default_avatar_is_not_a_headshot() -> None:
    assert img_avatar(saved_page("placeholder_avatar.html", "https://forum.example/u/1")) is None


def test_a_listing_gives_no_headshot() -> None:
    page = saved_page("team_listing.html", "https://studio.example/people")
    for finder in (jsonld_headshot, opengraph_headshot, hcard_headshot, img_avatar):
        assert finder(page) is None, finder.__name__


def test_page_links() -> None:
    page = saved_page("team_listing.html", "https://studio.example/people")
    assert page_links(page, ("studio.example",)) == [
        "https://studio.example/people/mia-chen",
        "https://studio.example/people/omar-haddad",
        "https://studio.example/people/lu-zhang#bio",
        "https://studio.example/people?page=2",
    ]  # not: the partner site, the nofollow link, the PDF


def test_sitemaps_and_robots() -> None:
    urlset = (b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
              b"<url><loc>https://a.example/p/1</loc></url><url><loc>https://a.example/p/2</loc>"
              b"</url></urlset>")
    assert sitemap_entries(XmlResponse("https://a.example/sitemap.xml", body=urlset),
                           10**6) == ("urlset", ["https://a.example/p/1", "https://a.example/p/2"])
    gz = Response("https://a.example/sitemap.xml.gz", body=gzip.compress(urlset))
    assert sitemap_entries(gz, 10**6)[1] == ["https://a.example/p/1", "https://a.example/p/2"]
    index = (b'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap>'
             b"<loc>https://a.example/s2.xml</loc></sitemap></sitemapindex>")
    assert sitemap_entries(XmlResponse("https://a.example/s.xml", body=index), 10**6) == (
        "sitemapindex", ["https://a.example/s2.xml"])
    assert sitemap_entries(XmlResponse("https://a.example/x.xml", body=b"<rss/>"), 10**6) == (
        "", [])
    assert sitemap_entries(Response("https://a.example/x.xml", body=b""), 10**6) == ("", [])
    robots = TextResponse("https://a.example/robots.txt", encoding="utf-8", body=(
        b"User-agent: *\nDisallow: /private/\nSitemap: /sitemap.xml\n"
        b"sitemap: https://cdn.example/s.xml\n"))
    assert robots_sitemaps(robots) == ["https://a.example/sitemap.xml", "https://cdn.example/s.xml"]


# -- the spider ----------------------------------------------------------------------------------
def spider(depth: int = 3) -> HeadshotSpider:
    crawler = get_crawler(HeadshotSpider, {"HEADCHECK_DEPTH": depth})
    return HeadshotSpider.from_crawler(crawler, seeds=["https://studio.example/people",
                                                       "https://studio.example/about"])


def with_depth(response: HtmlResponse, depth: int) -> HtmlResponse:
    request = Request(response.url, meta={"depth": depth})
    return response.replace(request=request)


def test_spider_yields_the_headshot_and_follows_links() -> None:
    s = spider()
    assert s.allowed_domains == ["studio.example"]
    page = with_depth(saved_page("plain_profile.html", "https://studio.example/staff/a"), 0)
    out = list(s.parse(page))
    assert out[0] == Headshot(page_url="https://studio.example/staff/a",
                              image_url="https://studio.example/media/staff/aalto_s.jpg",
                              how="img", profile_name="Dr. Sven Aalto")
    assert out[0].file_urls == [out[0].image_url]
    listing = with_depth(saved_page("team_listing.html", "https://studio.example/people"), 2)
    followed = list(s.parse(listing))
    assert all(isinstance(r, Request) and r.callback == s.parse for r in followed)
    assert len(followed) == 4
    # At the depth limit the page's own headshot is still taken, its links are not followed.
    assert list(s.parse(with_depth(listing, 3))) == []


def test_spider_fetches_the_actor_as_activitypub() -> None:
    s = spider()
    shell = with_depth(saved_page("mastodon_app_shell.html", "https://social.example/@juno"), 3)
    (request,) = s.parse(shell)
    assert request.url == "https://social.example/users/juno"
    assert request.headers["Accept"] == b"application/activity+json"
    assert request.cb_kwargs == {"page_url": "https://social.example/@juno"}
    assert request.meta["allow_offsite"]  # the actor may live on another host
    actor = Response(request.url, body=(FIXTURES / "mastodon_actor.json").read_bytes(),
                     headers={"Content-Type": "application/activity+json"}, request=request)
    (item,) = s.parse_actor(actor, page_url="https://social.example/@juno")
    assert item == Headshot("https://social.example/@juno", JUNO_AVATAR, "activitypub",
                            "Juno Marr")
    (error,) = s.parse_actor(actor.replace(body=b"<html>"), page_url="x")
    assert isinstance(error, PageError)


def test_spider_start_sitemaps_and_errors() -> None:
    s = spider()

    async def start() -> list:
        return [r async for r in s.start()]

    starts = asyncio.run(start())
    assert [r.url for r in starts] == ["https://studio.example/people",
                                       "https://studio.example/about",
                                       "https://studio.example/robots.txt"]
    urlset = (b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
              b"<url><loc>https://studio.example/p/1</loc></url>"
              b"<url><loc>https://elsewhere.example/p/2</loc></url></urlset>")
    (page,) = s.parse(XmlResponse("https://studio.example/sitemap.xml", body=urlset))
    assert page.url == "https://studio.example/p/1"  # sitemaps may list other sites: not ours
    request = Request("https://studio.example/gone")
    not_found = HttpError(HtmlResponse(request.url, status=404, request=request))
    failure = Failure(not_found)
    failure.request = request
    assert list(s.failed(failure)) == [PageError("https://studio.example/gone", "HTTP 404")]
    ignored = Failure(IgnoreRequest("Forbidden by robots.txt"))
    ignored.request = request
    assert list(s.failed(ignored)) == []
