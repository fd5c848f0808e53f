"""Command line: a thin click layer over the library (``headcheck.engine``).

The commands ``analyze``, ``index`` and ``check`` and their JSON are a contract that other tools
call exactly as documented; extend them, never change them.
Exit status: 0 every file processed, 1 some file failed (its JSON or message says why), 2 usage.
"""

from __future__ import annotations

import contextlib
import csv
import importlib
import json
import sqlite3
import sys
from collections import Counter
from collections.abc import Iterator
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import TYPE_CHECKING

import click
from tqdm import tqdm

from . import __version__
from .errors import HeadcheckError

if TYPE_CHECKING:  # the core loads its models only when a command needs them
    from .analyze import Analyzer

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".avif"}


def _emit(obj: dict) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False))


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise HeadcheckError(f"cannot read file: {exc.strerror or exc}") from None


def iter_images(paths: tuple[str, ...]) -> Iterator[Path]:
    """Files named explicitly, and image files found recursively under folders, in name order."""
    for p in map(Path, paths):
        if p.is_dir():
            yield from sorted(f for f in p.rglob("*")
                              if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
        else:
            yield p


def read_pages_csv(path: Path) -> list[tuple[Path, str, str | None]]:
    """Rows of ``path,page_url[,profile_name]`` (a header row is optional); relative paths are
    taken from the current folder when they exist there, else from the CSV's folder."""
    rows = []
    with path.open(newline="", encoding="utf-8") as fh:
        for n, row in enumerate(csv.reader(fh), start=1):
            if not row or not "".join(row).strip() or row[0].startswith("#"):
                continue
            if n == 1 and [c.strip().lower() for c in row[:2]] == ["path", "page_url"]:
                continue
            if len(row) < 2 or not row[1].strip():
                raise click.UsageError(f"{path}:{n}: expected 'path,page_url'")
            f = Path(row[0].strip())
            if not f.is_absolute() and not f.exists():
                f = path.parent / f
            name = row[2].strip() if len(row) > 2 and row[2].strip() else None
            rows.append((f, row[1].strip(), name))
    return rows


class StoreError(click.ClickException):
    """The --db path is no usable store: a usage error (exit 2), said in one line."""

    exit_code = 2


def open_store_path(db: str, *, create: bool = False) -> None:
    """Refuse a missing store (unless the command creates one, which it then says) and a file
    that is not a database, before anything is opened or created."""
    from .storefile import StoreFileError, check_store_path

    try:
        new = check_store_path(db, create=create)
    except StoreFileError as exc:
        raise StoreError(str(exc)) from None
    if new:
        click.echo(f"creating a new store at {db}", err=True)


@contextlib.contextmanager
def store_errors(db: str) -> Iterator[None]:
    """A damaged store (or one SQLite cannot open) as one message, not a traceback."""
    try:
        yield
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"cannot use {db} as a headcheck store: {exc}") from None


def _progress(items: list, label: str) -> tqdm:
    return tqdm(items, desc=label, unit="file", disable=not sys.stderr.isatty(), file=sys.stderr)


class LazyGroup(click.Group):
    """Commands that load only when they run, so the core commands never import Scrapy or a web
    framework: the report (part of the core) by module path, and the adapters' commands (crawl,
    serve) through the entry-point group ``headcheck.commands``, declared in pyproject.toml, so
    the core never names crawler/ or server/."""

    LAZY = {"report": "headcheck.report.command:report",
            "feedback": "headcheck.feedback_command:feedback"}
    GROUP = "headcheck.commands"

    @classmethod
    def _plugged(cls) -> dict[str, EntryPoint]:
        return {ep.name: ep for ep in entry_points(group=cls.GROUP)}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.LAZY, *self._plugged()})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.LAZY:
            module, attr = self.LAZY[name].split(":")
            return getattr(importlib.import_module(module), attr)
        ep = self._plugged().get(name) if name not in self.commands else None
        if ep is None:
            return super().get_command(ctx, name)
        try:
            return ep.load()
        except Exception as exc:  # an adapter not installed or broken: say so, never a traceback
            return _unavailable(name, f"{type(exc).__name__}: {exc}")


def _unavailable(name: str, why: str) -> click.Command:
    def fail() -> None:
        raise click.ClickException(f"the {name} command is not available here ({why})")

    return click.Command(name, callback=fail, help=f"Not available: {why}",
                         context_settings={"ignore_unknown_options": True,
                                           "allow_extra_args": True})


@click.group(cls=LazyGroup)
@click.version_option(__version__, prog_name="headcheck")
def main() -> None:
    """Find the tells of fake, composited and reused profile headshots."""


@main.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line (the contract).")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def analyze(as_json: bool, files: tuple[str, ...]) -> None:
    """Analyse image FILES: face, region hashes, quality and per-image signals."""
    from .analyze import Analyzer, error_json

    analyzer, failed = Analyzer(), 0
    for name in files:
        try:
            out = analyzer.analyze_bytes(_read(Path(name))).to_json(name)
        except HeadcheckError as exc:
            out, failed = error_json(name, str(exc)), failed + 1
        if as_json:
            _emit(out)
        else:
            _print_analysis(out)
    _note_detectors_off(analyzer)
    sys.exit(1 if failed else 0)


def _note_detectors_off(analyzer: Analyzer) -> None:
    """Say on stderr which detectors could not run here: "no signal" from them means nothing."""
    for name, why in analyzer.off().items():
        click.echo(f"note: the {name} detector did not run on this machine ({why}); the photos "
                   "it applies to were not checked by it", err=True)


def _print_analysis(out: dict) -> None:
    if out["error"]:
        click.echo(f"{out['file']}: error: {out['error']}")
        return
    face = "no face" if out["face"] is None else f"face at {out['face']['box']}"
    sig = "; ".join(s["detail"] for s in out["signals"]) or "no per-image signal"
    click.echo(f"{out['file']}: {out['width']}x{out['height']}, {face}; {sig}")


@main.command()
@click.option("--db", required=True, type=click.Path(dir_okay=False), help="SQLite store.")
@click.option("--page-url", help="Page every file was seen on (default: the file's file:// URL).")
@click.option("--name", "profile_name",
              help="Profile name the files were shown under (reuse is judged by identities).")
@click.option("--pages", "pages_csv", type=click.Path(exists=True, dir_okay=False),
              help="CSV of path,page_url rows: many files on many pages in one call.")
@click.option("--thumbnails/--no-thumbnails", default=True, show_default=True,
              help="Keep a 128 px thumbnail per photo (for reports and galleries).")
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
def index(db: str, page_url: str | None, profile_name: str | None, pages_csv: str | None,
          thumbnails: bool, paths: tuple[str, ...]) -> None:
    """Store every image under PATHS (folders recursively) with a sighting of each."""
    jobs: list[tuple[Path, str, str | None]] = [
        (f, page_url or f.resolve().as_uri(), profile_name) for f in iter_images(paths)]
    if pages_csv:
        jobs += read_pages_csv(Path(pages_csv))
    if not jobs:
        raise click.UsageError("nothing to index: give PATHS or --pages")
    open_store_path(db, create=True)
    with store_errors(db):
        _index(db, jobs, thumbnails)


def _index(db: str, jobs: list[tuple[Path, str, str | None]], thumbnails: bool) -> None:
    from .engine import Headcheck
    from .load import sha256_hex
    from .store import Sighting

    hc = Headcheck(db, thumbnails=thumbnails)
    stats: Counter[str] = Counter()
    touched: set[int] = set()
    for f, page, name in _progress(jobs, "indexing"):
        try:
            data = _read(f)
            sighting = Sighting(page_url=page, image_url=f.resolve().as_uri(),
                                profile_name=name, source="file")
            # Bytes the store holds, analysed by these versions: storing their analysis again
            # would change nothing but the sighting (as a re-crawl, a lookup, not an analysis).
            res = hc.add_known(sha256_hex(data), sighting) or hc.add(data, sighting)
        except HeadcheckError as exc:
            stats["errors"] += 1
            click.echo(f"error: {f}: {exc}", err=True)
            continue
        stats["new" if res.added.new_photo else "known"] += 1
        stats["new_sightings"] += res.added.new_sighting
        touched.add(res.added.photo_id)
    # Verdicts now, after the whole batch: a later file may have matched an earlier one.
    flagged = Counter(hc.stored_verdict(pid).label for pid in touched)
    hc.close()
    _note_detectors_off(hc.analyzer)
    click.echo(
        f"indexed {len(jobs)} files into {db}: {stats['new']} new photos, {stats['known']} "
        f"known, {stats['new_sightings']} new sightings, {stats['errors']} errors; flagged "
        f"among these {len(touched)} photos: {_format_counts(flagged)}")
    sys.exit(1 if stats["errors"] else 0)


def _format_counts(c: Counter[str]) -> str:
    parts = [f"{c[k]} {k}" for k in ("synthetic", "composited", "reused") if c[k]]
    return ", ".join(parts) or "none"


DISPUTE_AFTER = click.option(
    "--dispute-after", type=click.IntRange(min=1), default=1, show_default=True,
    help="Distinct keys that must mark a verdict wrong (since its last review) before it shows "
         "as disputed.")


@main.command()
@click.option("--db", required=True, type=click.Path(dir_okay=False), help="SQLite store.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line (the contract).")
@click.option("--page-url", help="Page the photo was found on; counts toward 'reused'.")
@click.option("--name", "profile_name",
              help="Profile name shown with the photo on --page-url (reuse is judged by names).")
@DISPUTE_AFTER
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def check(db: str, as_json: bool, page_url: str | None, profile_name: str | None,
          dispute_after: int, files: tuple[str, ...]) -> None:
    """Verdict for each FILE against the store (nothing is stored)."""
    open_store_path(db)
    with store_errors(db):
        failed = _check(db, as_json, page_url, profile_name, files, dispute_after)
    sys.exit(1 if failed else 0)


def _check(db: str, as_json: bool, page_url: str | None, profile_name: str | None,
           files: tuple[str, ...], dispute_after: int) -> int:
    from .engine import Headcheck
    from .feedback import NO_COUNTS, feedback_counts, with_feedback

    hc, failed = Headcheck(db), 0
    for name in files:
        try:
            res = hc.check(_read(Path(name)), page_url=page_url, profile_name=profile_name)
            sha = res.analysis.sha256
            out = with_feedback(res.to_json(name),
                                feedback_counts(hc.store, [sha]).get(sha, NO_COUNTS),
                                dispute_after)
        except HeadcheckError as exc:
            failed += 1
            out = {"file": name, "sha256": None, "label": None, "confidence": None,
                   "reasons": [], "error": str(exc)}
        if as_json:
            _emit(out)
        else:
            _print_verdict(name, out)
    hc.close()
    _note_detectors_off(hc.analyzer)
    return failed


def _print_verdict(name: str, out: dict) -> None:
    if out.get("error"):
        click.echo(f"{name}: error: {out['error']}")
        return
    if out["label"] == "none":
        notes = out["reasons"]  # all score 0 here ("unsure", unreadable credentials): no flag
        click.echo(f"{name}: nothing flagged" if notes else f"{name}: no signal found")
        for r in notes:
            click.echo(f"  - note ({r['kind']}): {r['detail']}")
        return
    disputed = ", disputed" if out.get("disputed") else ""
    click.echo(f"{name}: {out['label']} (confidence {out['confidence']:.2f}{disputed})")
    for r in out["reasons"]:
        click.echo(f"  - {r['kind']}: {r['detail']}")
        for m in r["matches"][:5]:
            click.echo(f"      {m['sha256'][:12]} ({m['region']}, distance {m['distance']}): "
                       f"{', '.join(m['pages'][:3])}")


@main.command()
@click.option("--db", required=True, type=click.Path(dir_okay=False), help="SQLite store.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line.")
@click.option("--label", type=click.Choice(["synthetic", "composited", "reused"]), multiple=True,
              help="Only these labels (repeatable).")
@DISPUTE_AFTER
def flagged(db: str, as_json: bool, label: tuple[str, ...], dispute_after: int) -> None:
    """List stored photos that carry a signal, with the reasons and where they were seen."""
    open_store_path(db)
    with store_errors(db):
        _flagged(db, as_json, label, dispute_after)


def _flagged(db: str, as_json: bool, label: tuple[str, ...], dispute_after: int) -> None:
    from .feedback import NO_COUNTS, feedback_counts, with_feedback
    from .store import Store
    from .verdicts import iter_verdicts

    store = Store(db)
    counts = feedback_counts(store)  # photos with feedback are few: read them once
    shown = total = 0
    for pv in iter_verdicts(store):  # in bulk from the tables: no models to load
        total += 1
        v = pv.verdict
        if v.label == "none" or (label and v.label not in label):
            continue
        shown += 1
        pages = [p.url for p in pv.pages]
        out = with_feedback({"sha256": pv.sha256, "pages": pages, **v.to_dict()},
                            counts.get(pv.sha256, NO_COUNTS), dispute_after)
        if as_json:
            _emit(out)
        else:
            _print_verdict(f"{pv.sha256[:12]} on {', '.join(pages[:2])}", out)
    if not as_json:
        click.echo(f"{shown} flagged of {total} photos in {db}")
    store.close()


@main.command()
@click.option("--db", required=True, type=click.Path(dir_okay=False), help="SQLite store.")
@click.option("--sha256", "sha256s", multiple=True, help="A photo to remove everywhere "
              "(repeatable).")
@click.option("--page", "page_url", help="Remove the sightings on this page (and photos seen "
              "nowhere else).")
@click.option("--profile", "profile_name", help="Remove the sightings under this profile name "
              "(and photos seen nowhere else).")
@click.option("--pixels-older-than", "days", type=click.IntRange(min=0),
              help="Retention: drop thumbnails, face chips and embeddings of photos not seen for "
                   "DAYS days (hashes and sightings stay).")
@click.option("--files-dir", type=click.Path(file_okay=False),
              help="The crawl's folder of original images (default: DB.files).")
@click.option("--report", "report_dirs", multiple=True, type=click.Path(file_okay=False),
              help="A report folder to write again without the forgotten data (repeatable).")
def forget(db: str, sha256s: tuple[str, ...], page_url: str | None, profile_name: str | None,
           days: int | None, files_dir: str | None, report_dirs: tuple[str, ...]) -> None:
    """Remove a person's data from the store DB: photos (pixels, hashes, signals, relations,
    sightings, feedback), their original image files and report thumbnails."""
    if not (sha256s or page_url or profile_name or days is not None):
        raise click.UsageError("say what to forget: --sha256, --page, --profile or "
                               "--pixels-older-than")
    open_store_path(db)
    with store_errors(db):
        from .forget import forget_everywhere

        said = forget_everywhere(db, [s.lower() for s in sha256s], page_url, profile_name, days,
                                 Path(files_dir) if files_dir else Path(f"{db}.files"),
                                 [Path(d) for d in report_dirs])
    click.echo(said)
