"""The --db path as people mistype it: a missing store, a folder, a file that is no database.
Read-only commands refuse (exit 2, one line), commands that fill a store say they create one."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from headcheck.cli import main
from tests.conftest import ROOT

README = ROOT / "README.md"
PHOTO = ROOT / "data" / "sample" / "images" / "composite-1.jpg"


def invoke(*args: str, env: dict[str, str] | None = None):  # noqa: ANN201
    return CliRunner().invoke(main, list(args), env=env)


@pytest.mark.parametrize("command", [
    ["check", "--json", str(PHOTO)], ["flagged"], ["serve"], ["report", "--out", "OUT"]])
def test_read_only_commands_refuse_a_missing_store(tmp_path: Path, command: list[str]) -> None:
    typo = tmp_path / "sub" / "typo.db"
    args = [a.replace("OUT", str(tmp_path / "report")) for a in command]
    r = invoke(*args[:1], "--db", str(typo), *args[1:])
    assert r.exit_code == 2, r.output
    assert f"no store at {typo}" in r.output and "Traceback" not in r.output
    assert not typo.parent.exists()  # nothing was created on the way


@pytest.mark.parametrize("command", [
    ["check", "--json", str(PHOTO)], ["flagged"], ["serve"], ["index", str(PHOTO)],
    ["report", "--out", "OUT"], ["crawl", "http://127.0.0.1:9/"]])
def test_a_file_that_is_not_a_database_gets_one_clear_message(tmp_path: Path,
                                                              command: list[str]) -> None:
    args = [a.replace("OUT", str(tmp_path / "report")) for a in command]
    r = invoke(*args[:1], "--db", str(README), *args[1:])
    assert r.exit_code == 2, r.output
    assert r.output.strip().splitlines()[-1] == (
        f"Error: {README} is not a headcheck store (not an SQLite database)")
    assert r.exception is None or isinstance(r.exception, SystemExit)


def test_index_says_it_creates_a_store(tmp_path: Path) -> None:
    db = tmp_path / "new" / "store.db"
    r = CliRunner().invoke(main, ["index", "--db", str(db), str(PHOTO)])
    assert r.exit_code == 0, r.output
    assert f"creating a new store at {db}" in r.output
    again = CliRunner().invoke(main, ["index", "--db", str(db), str(PHOTO)])
    assert "creating" not in again.output and "0 new photos, 1 known" in again.output


def test_serve_reads_the_store_from_headcheck_db(tmp_path: Path) -> None:
    # No --db: HEADCHECK_DB names the store; a missing one is refused before serving.
    r = invoke("serve", env={"HEADCHECK_DB": str(tmp_path / "gone.db")})
    assert r.exit_code == 2 and f"no store at {tmp_path / 'gone.db'}" in r.output
    r = invoke("serve", env={"HEADCHECK_DB": ""})
    assert r.exit_code == 2 and "--db" in r.output
