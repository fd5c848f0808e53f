"""``headcheck report``: the click command (loaded lazily by ``headcheck.cli``)."""

from __future__ import annotations

import sqlite3

import click

from .build import ReportOptions, build_report


@click.command()
@click.option("--db", required=True, type=click.Path(dir_okay=False), help="SQLite store.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Folder for index.html, its images and the CSV files (created if missing).")
@click.option("--clusters", default=12, show_default=True, type=click.IntRange(0),
              help="Template clusters shown in the gallery (all are in the CSV).")
@click.option("--per-cluster", default=12, show_default=True, type=click.IntRange(1),
              help="Photos shown per cluster.")
@click.option("--top-reused", default=20, show_default=True, type=click.IntRange(0),
              help="Reused photos listed.")
@click.option("--thumbnails/--no-thumbnails", default=True, show_default=True,
              help="Show stored thumbnails (off: hashes and links only).")
@click.option("--tables/--no-tables", default=True, show_default=True,
              help="Refresh the store's verdicts and photo_sites tables (for Datasette).")
def report(db: str, out_dir: str, clusters: int, per_cluster: int, top_reused: int,
           thumbnails: bool, tables: bool) -> None:
    """Write a self-contained HTML research report with CSV data from the store DB."""
    from ..cli import open_store_path

    open_store_path(db)
    try:
        result = build_report(db, out_dir, ReportOptions(
            gallery_clusters=clusters, per_cluster=per_cluster, top_reused=top_reused,
            thumbnails=thumbnails, write_tables=tables))
    except (sqlite3.Error, RuntimeError, OSError) as exc:  # not a store, newer schema, disk
        raise click.ClickException(f"cannot report on {db}: {exc}") from None
    clusters_total = len(result.data.clusters)
    click.echo(f"report on {result.photos} photos ({result.flagged} flagged, {clusters_total} "
               f"template cluster{'' if clusters_total == 1 else 's'}) written to "
               f"{result.index}")
