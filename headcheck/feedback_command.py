"""``headcheck feedback list|accept|reject``: the operator's review of what recruiters marked
wrong or confirmed (a thin click layer over ``headcheck.feedback``)."""

from __future__ import annotations

import getpass
import json
import sys
from typing import Any

import click

from .cli import open_store_path, store_errors
from .feedback import ACCEPTED, REJECTED, feedback_counts, review, with_feedback
from .store import Store
from .verdicts import PhotoVerdict, photo_verdict

DB = click.option("--db", required=True, type=click.Path(dir_okay=False), help="SQLite store.")


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (a container without a passwd entry)
        return "operator"


@click.group()
def feedback() -> None:
    """Review the feedback on verdicts: list it, accept a false positive (suppressed for good,
    re-indexing keeps it) or reject it (the flag stays)."""


def _verdict_of(store: Store, sha: str) -> PhotoVerdict | None:
    pid = store.photo_id(sha)
    return photo_verdict(store, pid) if pid is not None else None


@feedback.command("list")
@DB
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line.")
@click.option("--all", "everything", is_flag=True,
              help="Every photo with feedback, reviewed ones too (default: awaiting review).")
@click.option("--dispute-after", type=click.IntRange(min=1), default=1, show_default=True,
              help="Distinct keys marking a verdict wrong before it shows as disputed.")
def list_(db: str, as_json: bool, everything: bool, dispute_after: int) -> None:
    """Photos with feedback awaiting review, most disputed first."""
    open_store_path(db)
    with store_errors(db):
        store = Store(db)
        counts = feedback_counts(store)
        rows = []
        for sha, c in counts.items():
            if not everything and not (c.pending_false_positive or c.pending_confirmed):
                continue
            pv = _verdict_of(store, sha)
            verdict: dict[str, Any] = pv.verdict.to_dict() if pv else {
                "label": None, "confidence": None, "reasons": []}
            out = with_feedback(verdict, c, dispute_after)
            rows.append({"sha256": sha, "known_photo": pv is not None,
                         "pages": [p.url for p in pv.pages] if pv else [],
                         "label": out["label"], "confidence": out["confidence"],
                         "disputed": out["disputed"], "feedback": out["feedback"],
                         "pending": {"false_positive": c.pending_false_positive,
                                     "confirmed": c.pending_confirmed},
                         "notes": list(c.notes), "review": c.review})
        store.close()
    rows.sort(key=lambda r: (-r["pending"]["false_positive"], -r["feedback"]["false_positive"],
                             r["sha256"]))
    for r in rows:
        if as_json:
            click.echo(json.dumps(r, ensure_ascii=False))
            continue
        state = "disputed" if r["disputed"] else (r["label"] or "not in the store")
        reviewed = f"; last review: {r['review']['decision']} by {r['review']['reviewer']}" \
            if r["review"] else ""
        click.echo(f"{r['sha256'][:12]} {state}: {r['feedback']['false_positive']} marked wrong, "
                   f"{r['feedback']['confirmed']} confirmed{reviewed}")
        for p in r["pages"][:2]:
            click.echo(f"    on {p}")
        for n in r["notes"]:
            click.echo(f"    note: {n}")
    if not as_json:
        what = "with feedback" if everything else "with feedback awaiting review"
        click.echo(f"{len(rows)} photos {what} in {db}")


def _resolve(store: Store, given: str) -> str:
    """A full sha256 or an unambiguous prefix of at least 8 hex digits."""
    h = given.strip().lower()
    if len(h) < 8 or any(ch not in "0123456789abcdef" for ch in h):
        raise click.ClickException(f"{given}: give a photo's sha256 (at least 8 hex digits)")
    found = store.sha256s_with_prefix(h)
    if not found:
        raise click.ClickException(f"{given}: no such photo in the store")
    if len(found) > 1:
        raise click.ClickException(f"{given}: more than one photo starts so; give more digits")
    return found[0]


def _decide(db: str, shas: tuple[str, ...], decision: str, by: str | None,
            note: str | None) -> None:
    open_store_path(db)
    failed = 0
    with store_errors(db):
        store = Store(db)
        reviewer = by or _operator()
        for given in shas:
            try:
                sha = _resolve(store, given)
            except click.ClickException as exc:
                failed += 1
                click.echo(f"error: {exc.message}", err=True)
                continue
            pv = _verdict_of(store, sha)
            assert pv is not None  # _resolve found it
            before = pv.verdict
            if decision == ACCEPTED and before.label == "none":
                failed += 1
                click.echo(f"error: {sha[:12]}: nothing is flagged, so there is nothing to "
                           "accept as a false positive", err=True)
                continue
            d = review(store, sha, decision, before, reviewer, note)
            after = _verdict_of(store, sha)
            now = after.verdict.label if after else "none"
            if decision == ACCEPTED:
                click.echo(f"accepted {sha[:12]} as a false positive ({before.label}): "
                           f"{len(d.suppressed)} relations or findings suppressed for good, by "
                           f"{reviewer} at {d.decided_at}; verdict now {now}")
            else:
                click.echo(f"rejected the feedback on {sha[:12]}: the {before.label} verdict "
                           f"stands (by {reviewer} at {d.decided_at}); verdict now {now}")
        store.close()
    sys.exit(1 if failed else 0)


def _review_command(decision: str, doc: str) -> None:
    @feedback.command(name="accept" if decision == ACCEPTED else "reject", help=doc)
    @DB
    @click.option("--by", help="Who decides (default: the login name).")
    @click.option("--note", help="Why, for the record.")
    @click.argument("sha256s", nargs=-1, required=True)
    def command(db: str, by: str | None, note: str | None, sha256s: tuple[str, ...]) -> None:
        _decide(db, sha256s, decision, by, note)


_review_command(ACCEPTED, "Accept SHA256S' flags as false positives: what they rest on is "
                          "suppressed for good.")
_review_command(REJECTED, "Reject the feedback on SHA256S: the flags stay and their dispute "
                          "is closed.")
