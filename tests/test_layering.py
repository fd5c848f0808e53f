"""One-way dependencies: the judge stays pure and light."""

from __future__ import annotations

import json
import subprocess
import sys

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
