"""``headcheck serve``: run the lookup API with uvicorn (loaded lazily by the core CLI)."""

from __future__ import annotations

import logging

import click
from pydantic import ValidationError

from .settings import Settings


def _settings(db: str, host: str | None, port: int | None) -> Settings:
    given = {k: v for k, v in {"db": db, "host": host, "port": port}.items() if v is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        # Say what is wrong without echoing values (they may be keys).
        raise click.UsageError("; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}"
            for e in exc.errors())) from None


@click.command()
@click.option("--db", required=True, envvar="HEADCHECK_DB", show_envvar=True,
              type=click.Path(dir_okay=False), help="SQLite store (made by index or crawl).")
@click.option("--host", help="Address to bind (default 127.0.0.1; others need API keys).")
@click.option("--port", type=int, help="Port (default 8000; 0 picks a free one).")
def serve(db: str, host: str | None, port: int | None) -> None:
    """Serve the lookup HTTP API over the store DB (settings: HEADCHECK_* variables)."""
    import uvicorn

    from headcheck.cli import open_store_path

    from .app import create_app

    settings = _settings(db, host, port)
    open_store_path(db)  # a typo must not serve an empty store
    # Our own messages (index growth, the saved index loaded, set aside or written, failures)
    # beside uvicorn's; not httpx's, which would log every fetched image URL.
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s:     %(message)s"))
    for name in ("headcheck.server", "headcheck.index"):
        log = logging.getLogger(name)
        log.addHandler(handler)
        log.setLevel(logging.INFO)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port,
                access_log=settings.access_log, server_header=False, proxy_headers=False,
                timeout_graceful_shutdown=10)
