"""Forgetting a person: the store's rows (``Store.forget``), the crawl's original image files
(named as Scrapy names them: sha1 of the image URL) and report folders (written again)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

from .index import index_path, rewrite_without_forgotten
from .store import Store


def image_files(files_dir: Path, image_url: str) -> list[Path]:
    """The stored original of an image URL and its sidecars (``full/<sha1(url)><ext>``)."""
    guid = hashlib.sha1(image_url.encode()).hexdigest()  # noqa: S324 - Scrapy's file name
    folder = files_dir / "full"
    return sorted(folder.glob(f"{guid}*")) if folder.is_dir() else []


def forget_everywhere(db: str, sha256s: list[str], page_url: str | None,
                      profile_name: str | None, days: int | None, files_dir: Path,
                      report_dirs: list[Path]) -> str:
    """Do it, and say what was done in one paragraph."""
    store = Store(db)
    try:
        gone, urls = store.forget(sha256s, page_url, profile_name)
        dropped = 0
        if days is not None:
            cutoff = (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="seconds")
            dropped = store.drop_pixels(cutoff)
        saved = index_path(store)
        rewrote = bool(gone) and rewrite_without_forgotten(store, saved)
    finally:
        store.close()
    removed = 0
    for url in urls:
        for f in image_files(files_dir, url):
            f.unlink(missing_ok=True)
            removed += 1
    for folder in report_dirs:
        from .report.build import ReportOptions, build_report

        for sha in gone:
            (folder / "thumbs" / f"{sha}.jpg").unlink(missing_ok=True)
        build_report(db, folder, ReportOptions(progress=False))
    parts = [f"forgot {len(gone)} photo{'' if len(gone) == 1 else 's'} and "
             f"{len(urls)} image address{'' if len(urls) == 1 else 'es'} in {db}",
             f"removed {removed} file{'' if removed == 1 else 's'} from {files_dir}"]
    if days is not None:
        parts.append(f"dropped the pixels of {dropped} photo{'' if dropped == 1 else 's'} not "
                     f"seen for {days} days")
    if rewrote:
        parts.append(f"wrote the saved index {saved} again without them")
    if report_dirs:
        parts.append(f"wrote {', '.join(map(str, report_dirs))} again")
    if gone:
        parts.append("a running headcheck serve drops them from its index at its next refresh")
    return "; ".join(parts)
