"""The extension's pure modules are tested with `node --test` (extension/test/); this runs that
suite, so the project's one test command covers it."""

from __future__ import annotations

import shutil
import subprocess

from tests.extension_support import EXTENSION, ROOT

NODE = shutil.which("node")


def test_node_unit_suite_passes() -> None:
    assert NODE is not None, "Node.js is needed for the extension's unit tests"
    done = subprocess.run([NODE, "--test", str(EXTENSION.relative_to(ROOT) / "test") + "/"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    summary = "\n".join(line for line in done.stdout.splitlines() if line.startswith("# "))
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "# fail 0" in summary and "# pass 0" not in summary, summary


def test_manifest_is_mv3_and_names_files_that_exist() -> None:
    import json

    manifest = json.loads((EXTENSION / "manifest.json").read_text())
    assert manifest["manifest_version"] == 3
    assert manifest["background"] == {"service_worker": "background.js", "type": "module"}
    files = [manifest["background"]["service_worker"], manifest["action"]["default_popup"],
             manifest["options_ui"]["page"], *manifest["icons"].values(),
             *manifest["action"]["default_icon"].values(), "content/loader.js"]
    for f in files:
        assert (EXTENSION / f).is_file(), f
    # The API is reached by the worker only; no content script is declared statically (the
    # worker registers one for the sites chosen in Options).
    assert "content_scripts" not in manifest
    assert "http://127.0.0.1/*" in manifest["host_permissions"]
