"""Who a photo was shown as: profile names grouped into identities (pure functions).

Reuse is about identities, not pages: one person's headshot on their LinkedIn page and on their
company's team page is the normal case; the same photo under "Sam Keller" and "Samuel K" is the
tell. Names are compared after normalisation (case, diacritics, punctuation, token order,
honorifics and company suffixes), and an initial matches any token it begins ("S Keller" is
"Sam Keller"). When in doubt two names count as one identity: a missed reuse costs less than
calling one person two.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

# Words that say nothing about who someone is: titles, degrees, generational and company suffixes.
_NOISE_WORDS = """
    mr mrs ms miss mx dr prof professor sir dame rev hon
    jr sr ii iii iv phd md mba msc bsc cpa esq
    consulting consultancy consultant consultants coaching coach services solutions group
    llc inc ltd limited gmbh bv company corp corporation plc studio studios
    official profile the and of at
"""
_NOISE = frozenset(_NOISE_WORDS.split())
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def name_tokens(name: str | None) -> tuple[str, ...]:
    """Lower-case ASCII-folded word tokens of a name, without titles and suffixes, sorted."""
    if not name:
        return ()
    folded = unicodedata.normalize("NFKD", name)
    folded = "".join(c for c in folded if not unicodedata.combining(c)).casefold()
    return tuple(sorted(t for t in _WORD.findall(folded) if t not in _NOISE))


def _token_fits(a: str, b: str) -> bool:
    """Same word, or one is an initial of the other."""
    return a == b or (len(a) == 1 and b.startswith(a)) or (len(b) == 1 and a.startswith(b))


def same_identity(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Whether two normalised names can be the same person: every token of the shorter name
    fits a distinct token of the longer one, and at least one full word is shared."""
    if not a or not b:
        return True  # an unknown name contradicts nothing
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    if not any(len(t) > 1 and t in long_ for t in short) and not (
            all(len(t) == 1 for t in short) and len(short) == len(long_)):
        return False
    return _assign(list(short), list(long_))


def _assign(short: list[str], long_: list[str]) -> bool:
    # Names have a handful of tokens: a plain backtracking match is enough.
    if not short:
        return True
    head, rest = short[0], short[1:]
    for i, t in enumerate(long_):
        if _token_fits(head, t) and _assign(rest, long_[:i] + long_[i + 1:]):
            return True
    return False


def identities(names: Iterable[str | None]) -> list[list[str]]:
    """Known names grouped into identities (connected by ``same_identity``), in first-seen
    order; unknown (empty) names are left out."""
    groups: list[tuple[list[tuple[str, ...]], list[str]]] = []
    for name in names:
        toks = name_tokens(name)
        if not toks:
            continue
        hits = [g for g in groups if any(same_identity(toks, t) for t in g[0])]
        if not hits:
            groups.append(([toks], [name.strip()]))  # type: ignore[union-attr]
            continue
        first = hits[0]
        for g in hits[1:]:  # the new name links two groups: merge them
            first[0].extend(g[0])
            first[1].extend(g[1])
            groups.remove(g)
        first[0].append(toks)
        if name.strip() not in first[1]:  # type: ignore[union-attr]
            first[1].append(name.strip())  # type: ignore[union-attr]
    return [g[1] for g in groups]


def site_of(url: str) -> str:
    """The site a page belongs to: its host without ``www.`` (files: one local site)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").removeprefix("www.")
    return host or parts.scheme or url


@dataclass(frozen=True)
class Seen:
    """One sighting: the page a photo was on, the profile name it was shown under (if known)
    and when it was first seen there."""

    page: str
    name: str | None = None
    first_seen: str | None = None


def unique_pages(seen: Iterable[Seen]) -> list[str]:
    """Distinct pages in first-seen order."""
    out: dict[str, None] = {}
    for s in seen:
        out.setdefault(s.page, None)
    return list(out)
