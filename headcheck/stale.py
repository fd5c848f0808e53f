"""Signals made by another version of a detector than the one installed now (pure, like the judge).

The store keeps, per photo, the detectors that ran on it (name -> version) and, per signal, the
detector and version that made it. A detector's version is bumped when its output changes for the
same input, so a flag made by another version is not what the installed detector says of that
photo (the diffusion probe v4 flagged one casual real photo in ten). Where the bytes are at hand
the photo is analysed again (``stale``); where only the stored signals are (stored verdicts, a
lookup by sha256), each scored signal of another version becomes a score-0 note (``demote``), so
no label rests on it. A signal whose version was never recorded (stored before versions were
kept) counts as another version: that is the v4 case.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from .signals import Signal

# Signal name -> (detector name, its version then); None where the store does not know.
Sources = Mapping[str, tuple[str | None, str | None]]

# How an analysis records a detector that applied but was off on its machine: a version no
# machine that runs the detector has, so the photo is stale where it runs.
OFF = "off:"


def off_version(version: str) -> str:
    return f"{OFF}{version}"


def installed(version: str) -> str:
    """The installed version behind a recorded one (``off:5`` is version 5, off there)."""
    return str(version).removeprefix(OFF)


HEADLINE = ("Flagged by an older version of this check; not counted until the photo is analysed "
            "again")
HEADLINE_GONE = ("Flagged by a check that is no longer installed; not counted until the photo is "
                 "analysed again")


def stale(stored: Mapping[str, str] | None, current: Mapping[str, str],
          installed_then: Mapping[str, str] | None = None) -> bool:
    """Whether a photo whose analysis the detectors ``stored`` made (name -> version; None:
    stored before versions were kept) should be analysed again by the detectors ``current``:
    versions unknown, a detector both name at another version now, or a detector of
    ``current`` installed since (in neither ``stored`` nor ``installed_then``, every detector
    installed at that analysis; None: not recorded, so once, to record it). A detector off here
    (``off:<version>``) is never a reason. One that was installed then but is not in ``stored``
    did not apply to the photo (no face) or failed: analysing again would not change that."""
    if stored is None:
        return True
    for name, now in current.items():
        if str(now).startswith(OFF):
            continue  # off here: cannot improve on what is stored, whatever that is
        if name in stored:
            if str(stored[name]) != str(now):
                return True
        elif installed_then is None or name not in installed_then:
            return True  # installed since the photo was analysed: it never looked at it
    return False


def demote(signals: list[Signal], sources: Sources, current: Mapping[str, str],
           keeps: Mapping[str, frozenset[str]] | None = None) -> list[Signal]:
    """``signals`` with each scored one whose detector's version is not ``current``'s (or not
    known, or whose detector is no longer installed) turned into a score-0 note saying so; notes
    and current signals unchanged, in order. ``keeps``: per detector, the earlier versions
    whose signals the installed one would make too (it only added findings): theirs count."""
    # A detector off on this machine is still installed at its version: what that version
    # stored elsewhere stands.
    current = {name: installed(v) for name, v in current.items()}
    return [_note(s, *sources.get(s.name, (None, None)), current)
            if is_stale(s, sources, current, keeps) else s for s in signals]


def is_stale(s: Signal, sources: Sources, current: Mapping[str, str],
             keeps: Mapping[str, frozenset[str]] | None = None) -> bool:
    if s.score <= 0:
        return False  # a note already: it never swayed a verdict
    detector, version = sources.get(s.name, (None, None))
    if detector is None or version is None or detector not in current:
        return True
    return current[detector] != version and version not in (keeps or {}).get(detector, ())


def _note(s: Signal, detector: str | None, version: str | None,
          current: Mapping[str, str]) -> Signal:
    now = current.get(detector) if detector is not None else None
    check = f"the {detector} detector" if detector else "a detector"
    if version is None:
        then = (f"{check} of a version not recorded (the photo was analysed before headcheck "
                "kept detector versions)")
    else:
        then = f"{check} version {version}"
    if detector is not None and now is None:
        said = f"found by {then}, which is no longer installed"
    else:
        said = f"found by {then}; the version installed now is {now or 'another'}"
    return replace(
        s, score=0.0,
        detail=f"{said}: not counted until the photo is analysed again ({s.detail})",
        headline=HEADLINE_GONE if detector is not None and now is None else HEADLINE,
        evidence={**s.evidence, "stale": True, "detector": detector, "stored_version": version,
                  "current_version": now, "stored_score": s.score})
