"""Before a command opens a store: is the path a headcheck store, or may one be created there?

A typo in ``--db`` must not silently create an empty store that answers "no signal found", and
a file that is not a database must give one clear message, not a traceback.
"""

from __future__ import annotations

from pathlib import Path

SQLITE_MAGIC = b"SQLite format 3\x00"


class StoreFileError(Exception):
    """The path cannot be used as a store; the message says why, in words."""


def check_store_path(db: str | Path, *, create: bool = False) -> bool:
    """Raise StoreFileError unless ``db`` is an SQLite file (or, with ``create``, a path where
    one can be made). Returns True when the store does not exist yet (it will be created)."""
    path = Path(db)
    if path.is_dir():
        raise StoreFileError(f"{db} is a folder, not a store file")
    if not path.exists():
        if create:
            return True
        raise StoreFileError(
            f"no store at {db}: check the path (headcheck index or headcheck crawl create one)")
    try:
        with path.open("rb") as fh:
            head = fh.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise StoreFileError(f"cannot read {db}: {exc.strerror or exc}") from None
    if head and head != SQLITE_MAGIC:  # an empty file is a valid, empty SQLite database
        raise StoreFileError(f"{db} is not a headcheck store (not an SQLite database)")
    return False
