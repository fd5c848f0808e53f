"""One-way dependencies: the judge stays pure and light, and the core runs without its
adapters (crawler/, server/), which it finds only through entry points."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

from .conftest import ROOT

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
