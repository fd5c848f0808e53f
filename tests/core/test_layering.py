"""One-way dependencies: the judge stays pure and light, and the core runs without its
adapters (crawler/, server/), which it finds only through entry points."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

HEAVY = ("dlib", "faiss", "cv2", "sqlite_utils", "numpy", "PIL")


def loaded_after(statement: str) -> list[str]:
    code = (f"import sys, json; {statement}; "
            f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    return sorted(set(json.loads(out)) & set(HEAVY))


def test_judge_loads_no_models_index_or_store() -> None:
    assert loaded_after("import headcheck.judge") == []
    assert loaded_after("from headcheck.judge import judge; judge([], [])") == []


ADAPTERS = ("crawler", "server")


def test_the_core_never_names_an_adapter() -> None:
    """No import of crawler/ or server/ in headcheck/, static or by a module-path string."""
    for path in sorted((ROOT / "headcheck").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                names = re.findall(r"\b((?:crawler|server)[.:]\w+)", node.value)
                names = [n for n in names if not n.endswith((".py", ".md"))]
            assert not [n for n in names if n.split(".")[0].split(":")[0] in ADAPTERS], (
                f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', '?')} names {names}")


# Run in a fresh interpreter where crawler/ and server/ cannot be imported at all.
WITHOUT_ADAPTERS = """
import importlib.abc, sys
class Gone(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("crawler", "server"):
            raise ModuleNotFoundError(f"No module named {name!r} (made unimportable)", name=name)
sys.meta_path.insert(0, Gone())
sys.argv = ["headcheck", *sys.argv[1:]]
from headcheck.cli import main
try:
    main()
finally:
    assert not [m for m in sys.modules if m.split(".")[0] in ("crawler", "server")]
"""


def without_adapters(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", WITHOUT_ADAPTERS, *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_core_commands_run_with_both_adapters_unimportable(tmp_path: Path) -> None:
    sample = ROOT / "data" / "sample" / "images"
    files = [str(sample / "declared-exif.jpg"), str(sample / "plain-3377864339.jpg")]
    db = str(tmp_path / "h.db")
    analyzed = without_adapters("analyze", "--json", *files)
    assert analyzed.returncode == 0, analyzed.stderr
    first = json.loads(analyzed.stdout.splitlines()[0])
    assert first["signals"][0]["name"] == "metadata.generator_name"
    indexed = without_adapters("index", "--db", db, "--page-url", "https://a.example/p", *files)
    assert indexed.returncode == 0 and "2 new photos" in indexed.stdout, indexed.stderr
    checked = without_adapters("check", "--json", "--db", db, files[0])
    assert checked.returncode == 0 and json.loads(checked.stdout)["label"] == "synthetic"
    flagged = without_adapters("flagged", "--db", db)
    assert flagged.returncode == 0 and "1 flagged of 2 photos" in flagged.stdout
    listed = without_adapters("--help")
    assert listed.returncode == 0 and "analyze" in listed.stdout and "crawl" in listed.stdout
    crawl = without_adapters("crawl", "--db", db, "https://a.example/")
    assert crawl.returncode == 1 and "Traceback" not in crawl.stderr
    assert "the crawl command is not available here" in crawl.stderr
    assert "made unimportable" in crawl.stderr


SQL_TARGET = re.compile(r"\b(?:FROM|JOIN|INTO|UPDATE|TABLE(?: IF (?:NOT )?EXISTS)?)\s+(\w+)")
TABLE_ACCESS = re.compile(r"""\bdb\[\s*["'](\w+)["']\s*\]|\brows_where\(""")


def store_tables() -> set[str]:
    from headcheck.store import Store
    from headcheck.store.research import DERIVED_SCHEMA

    derived = {m for s in DERIVED_SCHEMA for m in SQL_TARGET.findall(s)}
    return {*Store().db.table_names(), *derived, "feedback"}


def sql_outside_the_store(root: Path, tables: set[str]) -> list[str]:
    """file:line of every SQL statement (or sqlite-utils table access) on a store table in
    headcheck/, server/ or crawler/ outside headcheck/store/."""
    found = []
    for part in ("headcheck", "server", "crawler"):
        for path in sorted((root / part).rglob("*.py")):
            rel = path.relative_to(root)
            if rel.parts[:2] == ("headcheck", "store"):
                continue
            text = path.read_text(encoding="utf-8")
            for node in ast.walk(ast.parse(text)):
                if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                        and set(SQL_TARGET.findall(node.value)) & tables):
                    found.append(f"{rel}:{node.lineno}")
            for m in TABLE_ACCESS.finditer(text):
                if m.group(1) is None or m.group(1) in tables:
                    found.append(f"{rel}:{text.count(chr(10), 0, m.start()) + 1}")
    return found


def test_every_sql_statement_on_the_store_lives_in_the_store(tmp_path: Path) -> None:
    tables = store_tables()
    assert {"photos", "sightings", "region_hashes", "signals", "matches", "verdicts",
            "feedback"} <= tables
    assert sql_outside_the_store(ROOT, tables) == []
    # The check finds what it looks for: a statement and a table access planted in an adapter.
    planted = tmp_path / "server"
    planted.mkdir()
    (planted / "bad.py").write_text(
        'def f(store):\n'
        '    store.db.execute(f"SELECT count(*) FROM sightings WHERE photo_id = {1}")\n'
        '    return store.db["signals"].count\n', encoding="utf-8")
    (tmp_path / "headcheck" / "store").mkdir(parents=True)
    (tmp_path / "headcheck" / "store" / "ok.py").write_text(
        'Q = "SELECT id FROM photos"\n', encoding="utf-8")
    (tmp_path / "crawler").mkdir()
    (tmp_path / "crawler" / "journal.py").write_text(
        'Q = "SELECT state FROM requests"  # its own database\n', encoding="utf-8")
    assert sql_outside_the_store(tmp_path, tables) == ["server/bad.py:2", "server/bad.py:3"]
