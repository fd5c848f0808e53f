"""A real redis-server (Debian's package) on a free loopback port, with AOF on, for one test."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def redis_server(folder: Path, aof: bool = True) -> Iterator[str]:
    """Start redis-server with its data in ``folder``; yields its URL; stops it after. Without
    ``aof``, nothing is written to disk (memory measurements)."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    proc = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder),
         "--appendonly", "yes" if aof else "no", "--appendfsync", "everysec", "--save", "",
         "--protected-mode", "yes", "--logfile", str(folder / "redis.log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        client = redis.Redis.from_url(url)
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if proc.poll() is not None:
                    raise RuntimeError(f"redis-server exited: {proc.returncode}") from None
                time.sleep(0.05)
        else:
            raise RuntimeError("redis-server did not answer")
        client.close()
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
