"""Make the bundled sample site: a small company site whose profiles exercise every path.

    python data/sample-site/make_site.py

Writes this folder reproducibly from data/sample/images/ (composites, reuse, StyleGAN faces,
declared-AI metadata, plain photos; see data/sample/make_sample.py) and one more photo from
data/faces/. The site lives on the made-up host sample.headcheck.test; ``headcheck crawl
--sample`` serves it on 127.0.0.1 (crawler/site_server.py adds content negotiation for the
ActivityPub profiles, so serve it with that, not a plain static server).

What it exercises:
- every extraction path: JSON-LD Person (plain and ProfilePage/@graph), OpenGraph profile,
  h-card, ActivityPub actor (same URL with content negotiation, and a separate actor URL), and a
  plain <img> avatar; pages that are not profiles (home, about, listings) give no headshot;
- every verdict: template composites, one photo reused under four names (re-encoded) and one file
  shown on two profiles, StyleGAN faces, AI-declared metadata, plain photos;
- a team listing with pagination, a sitemap (one profile is reachable only through it), a page
  disallowed by robots.txt, a broken link, and broken images (truncated, not an image, missing).

``expected.csv`` lists what a crawl must find: one row a profile, with the label (or the error)
the store must end up with. The tests read it. ``ATTRIBUTION.md`` credits the photos each avatar
comes from (the Flickr photos are CC BY 2.0: keep it with any copy).
"""

from __future__ import annotations

import csv
import html
import io
import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
DATA = HERE.parent
HOST = "http://sample.headcheck.test"
SITE = "Northwind Consulting"


@dataclass(frozen=True)
class Person:
    slug: str
    name: str
    source: str  # image under data/, or a broken kind: "truncated", "not-an-image", "missing"
    how: str  # jsonld, profilepage, opengraph, hcard, activitypub, activitypub-linked, img
    expect: str  # the label, or "error:<kind>"
    listed: bool = True  # on the team pages (else only in the sitemap)
    image: str = ""  # shared image path (another profile's); default /img/avatars/<slug>.jpg
    folder: str = "people"

    @property
    def path(self) -> str:
        if self.how.startswith("activitypub"):
            return f"/users/{self.slug}"
        return f"/{self.folder}/{self.slug}.html"

    @property
    def image_path(self) -> str:
        return self.image or f"/img/avatars/{self.slug}.jpg"


S = "sample/images/"
PEOPLE = [
    Person("stock-model", "Ellis Grant", S + "stock-template.jpg", "profilepage", "composited"),
    Person("dana-whitfield", "Dana Whitfield", S + "composite-1.jpg", "jsonld", "composited"),
    Person("marc-oyelaran", "Marc Oyelaran", S + "composite-2.jpg", "opengraph", "composited"),
    Person("lena-brandt", "Lena Brandt", S + "composite-3.jpg", "hcard", "composited"),
    Person("sam-keller", "Sam Keller", S + "reused-original.jpg", "jsonld", "reused"),
    Person("samuel-k", "Samuel K", S + "reused-resize_200.jpg", "img", "reused"),
    Person("skeller", "S Keller Consulting", S + "reused-mirror.jpg", "activitypub", "reused"),
    Person("keller-sam", "Keller Sam", S + "reused-ring.jpg", "opengraph", "reused"),
    Person("jordan-hale", "Jordan Hale", S + "stylegan-013.jpg", "jsonld", "synthetic"),
    Person("priya", "Priya Natarajan", S + "stylegan-015.jpg", "activitypub-linked",
           "synthetic"),
    Person("alex-moreau", "Alex Moreau", S + "declared-iptc.jpg", "hcard", "synthetic"),
    Person("chris-tanaka", "Chris Tanaka", S + "declared-exif.jpg", "img", "synthetic"),
    Person("maria-santos", "Maria Santos", S + "plain-3936813347.jpg", "jsonld", "none"),
    Person("tom-becker", "Tom Becker", S + "plain-4530910556.jpg", "opengraph", "none"),
    Person("howie-le", "Howie Le", S + "plain-3377864339.jpg", "hcard", "none", listed=False),
    # One person's own photo on two of their profiles: information, never a flag.
    Person("nina-park", "Nina Park", "faces/real/images/large_2890368131@2x.jpg", "jsonld",
           "none"),
    Person("n-park-consulting", "N. Park Consulting", "", "img", "none",
           image="/img/avatars/nina-park.jpg"),
    Person("ivo-rask", "Ivo Rask", "truncated", "opengraph", "error:image_invalid"),
    Person("kim-ode", "Kim Ode", "not-an-image", "jsonld", "error:image_invalid"),
    Person("lee-vance", "Lee Vance", "missing", "hcard", "error:image_download"),
]
# Linked from the team pages, never recorded: one is disallowed by robots.txt, one is gone.
PRIVATE = Person("ghost-writer", "Ghost Writer", "faces/real/images/large_3156504080@2x.jpg",
                 "jsonld", "robots", folder="private")
GONE_PATH = "/people/former-staff.html"
# What each image of data/sample/images/ was made from (see data/sample/make_sample.py).
R, G, D = "real/images/large_{}@2x.jpg", "stylegan2/images/sfhq_{}.jpg", "diffusion/images/{}.jpg"
ORIGINS = {
    "stock-template.jpg": ("re-encoded", [R.format(4452457288)]),
    **{f"composite-{i + 1}.jpg": ("a face pasted on another photo's body and backdrop",
                                  [R.format(4452457288), G.format(n)])
       for i, n in enumerate(("011", "024", "036"))},
    "reused-original.jpg": ("re-encoded", [R.format(3788426000)]),
    "reused-resize_200.jpg": ("resized", [R.format(3788426000)]),
    "reused-mirror.jpg": ("mirrored", [R.format(3788426000)]),
    "reused-ring.jpg": ("with a ring overlay", [R.format(3788426000)]),
    "stylegan-013.jpg": ("as published", [G.format("013")]),
    "stylegan-015.jpg": ("as published", [G.format("015")]),
    "declared-iptc.jpg": ("re-encoded with IPTC DigitalSourceType in XMP",
                          [D.format("t2i_FLUX1_pro_011")]),
    "declared-exif.jpg": ("re-encoded with EXIF Software 'Midjourney v6'",
                          [D.format("t2i_SDXL_090")]),
    **{f"plain-{n}.jpg": ("as published", [R.format(n)])
       for n in (3936813347, 4530910556, 3377864339)},
}


def page(title: str, body: str, head: str = "") -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{html.escape(title)} | {SITE}</title>
{head}</head>
<body>
<header><a href="/"><img class="site-logo" src="/img/site/logo.png" alt="{SITE} logo"
  width="120" height="40"></a>
<nav><a href="/">Home</a> <a href="/team/">Team</a> <a href="/about.html">About</a></nav>
</header>
<main>
{body}
</main>
<footer><p>&copy; {SITE}</p></footer>
</body>
</html>
"""


def jsonld(data: object) -> str:
    return f'<script type="application/ld+json">{json.dumps(data, indent=1)}</script>\n'


def bio(p: Person) -> str:
    return (f"<p>{html.escape(p.name)} advises clients on supply-chain planning and has been "
            f"with {SITE} since 2019.</p>")


def profile_page(p: Person) -> str:
    e, img = html.escape(p.name), p.image_path
    if p.how == "jsonld":
        head = jsonld({"@context": "https://schema.org", "@type": "Person", "name": p.name,
                       "jobTitle": "Consultant", "image": img,
                       "worksFor": {"@type": "Organization", "name": SITE}})
        return page(p.name, f'<h1>{e}</h1>\n<img src="{img}" alt="">\n{bio(p)}', head)
    if p.how == "profilepage":  # the Yoast/WordPress shape: an @graph with references
        url = HOST + p.path
        head = jsonld({"@context": "https://schema.org", "@graph": [
            {"@type": "ProfilePage", "@id": url, "url": url,
             "mainEntity": {"@id": url + "#person"}},
            {"@type": "WebSite", "@id": HOST + "/#website", "name": SITE},
            {"@type": "Person", "@id": url + "#person", "name": p.name,
             "image": {"@id": url + "#avatar"}},
            {"@type": "ImageObject", "@id": url + "#avatar", "contentUrl": HOST + img,
             "caption": p.name},
        ]})
        return page(p.name, f'<h1>{e}</h1>\n<img src="{img}" alt="{e}">\n{bio(p)}', head)
    if p.how == "opengraph":
        first, _, last = p.name.partition(" ")
        head = (f'<meta property="og:type" content="profile">\n'
                f'<meta property="og:title" content="{e} - {SITE}">\n'
                f'<meta property="og:image" content="{HOST}{img}">\n'
                f'<meta property="profile:first_name" content="{html.escape(first)}">\n'
                f'<meta property="profile:last_name" content="{html.escape(last)}">\n')
        return page(p.name, f'<h1>{e}</h1>\n<img src="{img}" alt="">\n{bio(p)}', head)
    if p.how == "hcard":
        return page(p.name, f"""<article class="h-card">
<img class="u-photo" src="{img}" alt="">
<h1 class="p-name">{e}</h1>
<p class="p-job-title">Consultant</p>
{bio(p)}
</article>""")
    if p.how == "img":
        return page(p.name, f"""<div class="profile">
<img class="avatar" src="{img}" alt="Photo of {e}" width="200" height="200">
<h1>{e}</h1>
{bio(p)}
</div>""")
    raise ValueError(p.how)


def actor_pages(p: Person) -> dict[str, str]:
    """Mastodon-style: /users/NAME is HTML for browsers and the actor for ActivityPub."""
    url = HOST + p.path
    if p.how == "activitypub":  # the same URL, negotiated by Accept
        actor_url, actor_file = url, p.path.lstrip("/") + ".json"
        link = f'<link rel="alternate" type="application/activity+json" href="{actor_url}">\n'
        icon: object = {"type": "Image", "mediaType": "image/jpeg", "url": HOST + p.image_path}
    else:  # a separate actor URL, and the icon in the Link form
        actor_url, actor_file = f"{HOST}/ap/actors/{p.slug}", f"ap/actors/{p.slug}.json"
        link = ('<link rel="alternate" type=\'application/ld+json; '
                f'profile="https://www.w3.org/ns/activitystreams"\' href="{actor_url}">\n')
        icon = [{"type": "Image", "url": [{"type": "Link", "href": HOST + p.image_path}]}]
    body = (f"<h1>@{p.slug}</h1>\n<p>This profile is shown by the app; "
            f'<a href="{url}">open in the app</a>.</p>')
    actor = {"@context": ["https://www.w3.org/ns/activitystreams"], "id": actor_url,
             "type": "Person", "preferredUsername": p.slug, "name": p.name, "url": url,
             "icon": icon, "image": {"type": "Image", "url": f"{HOST}/img/site/banner.jpg"}}
    return {p.path.lstrip("/") + ".html": page(f"@{p.slug}", body, link),
            actor_file: json.dumps(actor, indent=1) + "\n"}


def card(p: Person) -> str:
    return (f'<li class="h-card"><a class="u-url p-name" href="{p.path}">{html.escape(p.name)}'
            f'</a> <img class="u-photo" src="{p.image_path}" alt="" width="64" height="64"></li>')


def team_pages(listed: list[Person]) -> dict[str, str]:
    half = (len(listed) + 1) // 2
    first, second = listed[:half], [*listed[half:], PRIVATE]
    p1 = page("Team", "<h1>Our team</h1>\n<ul>\n" + "\n".join(map(card, first)) + "\n</ul>\n"
              '<a rel="next" href="page-2.html">More people</a>',
              '<link rel="next" href="/team/page-2.html">\n')
    items = [{"@type": "ListItem", "position": i + 1,
              "item": {"@type": "Person", "name": p.name, "image": p.image_path,
                       "url": HOST + p.path}} for i, p in enumerate(second)]
    p2 = page("Team (page 2)", "<h1>Our team, continued</h1>\n<ul>\n"
              + "\n".join(map(card, second))
              + f'\n<li><a href="{GONE_PATH}">Former staff</a></li>\n</ul>\n'
              '<a rel="prev" href="./">Back</a>',
              jsonld({"@context": "https://schema.org", "@type": "ItemList",
                      "itemListElement": items}))
    return {"team/index.html": p1, "team/page-2.html": p2}


def other_pages() -> dict[str, str]:
    home = page("Home", '<h1>Planning that works</h1>\n<p><a href="/team/">Meet the team</a> '
                'or read <a href="/about.html">about us</a>.</p>',
                '<meta property="og:type" content="website">\n'
                f'<meta property="og:image" content="{HOST}/img/site/office.jpg">\n')
    about = page("About", '<h1>About us</h1>\n<img class="hero" src="/img/site/office.jpg" '
                 'alt="Our office" width="800" height="300">\n<p>Founded in 2012.</p>')
    return {"index.html": home, "about.html": about}


def site_files() -> dict[str, bytes]:
    """Generated images: the logo, banner and office picture (no faces)."""
    out = {}
    for name, size, fmt in (("logo.png", (120, 40), "PNG"), ("office.jpg", (800, 300), "JPEG"),
                            ("banner.jpg", (1500, 500), "JPEG")):
        im = Image.new("RGB", size, (32, 64, 96))
        ImageDraw.Draw(im).rectangle((size[0] // 8, size[1] // 4, size[0] // 2, size[1] // 2),
                                     fill=(220, 180, 40))
        buf = io.BytesIO()
        im.save(buf, format=fmt)
        out[f"img/site/{name}"] = buf.getvalue()
    return out


def avatar_bytes(p: Person) -> bytes | None:
    if p.source == "missing" or not p.source:
        return None
    if p.source == "not-an-image":
        return page("Not found", "<p>This is an HTML error page served as a JPEG.</p>").encode()
    if p.source == "truncated":
        data = (DATA / S / "plain-3936813347.jpg").read_bytes()
        return data[: len(data) * 2 // 5]
    return (DATA / p.source).read_bytes()


def sitemap(people: list[Person]) -> str:
    paths = ["/", "/team/", "/team/page-2.html", *(p.path for p in people)]
    urls = "\n".join(f"  <url><loc>{HOST}{x}</loc></url>" for x in paths)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            f"{urls}\n</urlset>\n")


def credit(face: str) -> str:
    """One source photo's credit line, from data/faces/*/labels.csv."""
    folder, _, rel = face.partition("/")
    with (DATA / "faces" / folder / "labels.csv").open(newline="") as fh:
        row = next(r for r in csv.DictReader(fh) if r["file"] == rel)
    if folder == "real":
        return (f"\"{row['title']}\" by {row['author']}, {row['license']}, "
                f"{row['photo_url']}")
    return f"`data/faces/{face}`, MIT (SFHQ datasets by David Beniaguev)"


def attribution(people: list[Person]) -> str:
    lines = ["# Image credits", "",
             "The avatars are made from these photos (`data/faces/`); the Flickr photos are "
             "licensed CC BY 2.0, which asks for this credit with every copy.", ""]
    for p in people:
        if p.source in ("", "missing", "not-an-image"):
            continue
        if p.source == "truncated":
            how, faces = "the first 40% of the bytes", ORIGINS["plain-3936813347.jpg"][1]
        elif p.source.startswith(S):
            how, faces = ORIGINS[p.source.removeprefix(S)]
        else:
            how, faces = "as published", [p.source.removeprefix("faces/")]
        lines.append(f"- `{p.image_path.lstrip('/')}` ({how}):")
        lines += [f"  - {credit(f)}" for f in faces]
    return "\n".join(lines) + "\n"


def main() -> int:
    for sub in ("people", "users", "ap", "team", "private", "img"):
        shutil.rmtree(HERE / sub, ignore_errors=True)
    files: dict[str, str | bytes] = {**other_pages(), **site_files(),
                                     **team_pages([p for p in PEOPLE if p.listed])}
    for p in [*PEOPLE, PRIVATE]:
        if p.how.startswith("activitypub"):
            files.update(actor_pages(p))
        else:
            files[p.path.lstrip("/")] = profile_page(p)
        data = avatar_bytes(p)
        if data is not None:
            files[p.image_path.lstrip("/")] = data
    files["robots.txt"] = (f"User-agent: *\nDisallow: /private/\n\n"
                           f"Sitemap: {HOST}/sitemap.xml\n")
    files["sitemap.xml"] = sitemap(PEOPLE)
    for rel, content in sorted(files.items()):
        path = HERE / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)
    with (HERE / "expected.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["page_path", "image_path", "profile_name", "how", "expect"])
        for p in [*PEOPLE, PRIVATE]:
            how = "activitypub" if p.how.startswith("activitypub") else (
                "jsonld" if p.how == "profilepage" else p.how)
            w.writerow([p.path, p.image_path, p.name, how, p.expect])
        w.writerow([GONE_PATH, "", "", "", "error:page"])
    (HERE / "ATTRIBUTION.md").write_text(attribution([*PEOPLE, PRIVATE]), encoding="utf-8")
    print(f"wrote {len(files)} files, expected.csv and ATTRIBUTION.md to {HERE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
