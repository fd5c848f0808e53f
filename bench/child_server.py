"""A server in a child process for the benchmarks: started from its own command line, its address
read from the "running on http://127.0.0.1:PORT" line it logs, stopped on leaving."""

from __future__ import annotations

import re
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def child_server(cmd: list[str], timeout: float = 300, **popen: Any
                 ) -> Iterator[tuple[subprocess.Popen, str]]:
    """(process, base URL) of a server started by ``cmd`` (extra ``popen`` arguments: env, cwd,
    stdout)."""
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, **popen)
    url: list[str] = []

    def drain() -> None:  # read stderr to the end, so the child never blocks on a full pipe
        assert proc.stderr is not None
        for line in proc.stderr:
            m = re.search(r"running on (http://127\.0\.0\.1:\d+)", line)
            if m:
                url.append(m.group(1))

    threading.Thread(target=drain, daemon=True).start()
    deadline = time.monotonic() + timeout
    while not url:
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("the server did not start")
        time.sleep(0.1)
    try:
        yield proc, url[0]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
