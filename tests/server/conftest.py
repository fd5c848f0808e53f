"""What most server tests share: a store of the sample profiles per test module, and a client of
the API over it with the default settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from server.app import create_app
from server.settings import Settings
from tests.server_support import TestClient, sample_store


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Path:
    root = tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])
    return sample_store(root, "full", root / "store.db")


@pytest.fixture(scope="module")
def client(db: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(db=db))) as c:
        yield c
