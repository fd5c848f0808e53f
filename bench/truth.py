"""Ground truth of the labelled corpus (bench/corpus.py): what two files really are to each
other, and which half (tuning or test) a file belongs to."""

from __future__ import annotations

import csv
import zlib
from pathlib import Path


def load_manifest(corpus: Path) -> list[dict]:
    with (corpus / "manifest.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


def groups_of(row: dict) -> set[str]:
    extra = {g for g in (row.get("also_group") or "").split(";") if g}
    return {row["group"], *extra}


def truth(ra: dict, rb: dict) -> str:
    """What two corpus photos really are to each other: a shared template or photo group with
    the same person is the same photo; with another person's face, a shared context."""
    shared = groups_of(ra) & groups_of(rb)
    if not any(g.startswith(("tpl:", "photo:")) for g in shared):
        if ra["source"] == rb["source"] or ra["source"] == rb["face_source"] \
                or rb["source"] == ra["face_source"]:
            # e.g. a person cut out onto a plain backdrop and a composite on that person's
            # photo, or with that person's face: they share body or face pixels, so neither a
            # claim nor silence is wrong.
            return "ambiguous"
        return "unrelated"  # includes negsame: the same person on two different templates
    if ra["person"] and ra["person"] == rb["person"]:
        return "same_photo"
    return "same_context"


def split_of(row: dict) -> str:
    """``tune`` or ``test``, by the template or original a file was made from (never by file),
    so no template, photo or person is seen on both sides."""
    key = row["source"] if row["task"] != "negative" else row["face_source"]
    return "tune" if zlib.crc32(key.encode()) % 2 == 0 else "test"
