"""STORAGE_URL -> adapter: the one setting that picks a backend, and the messages an operator sees when it is wrong."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from shared.errors import ConfigError
from shared.storage.factory import open_storage
from shared.storage.sqlite import SqliteStorage


def test_a_sqlite_url_with_four_slashes_opens_that_absolute_path(tmp_path: Path) -> None:
    target = tmp_path / "nested" / "dir" / "app.sqlite3"
    storage = open_storage(f"sqlite:///{target}")
    assert isinstance(storage, SqliteStorage)
    storage.ping()
    assert target.exists()  # missing parent folders (a fresh DATA_DIR) are created


def test_a_sqlite_url_with_three_slashes_is_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    open_storage("sqlite:///.data/app.sqlite3").ping()
    assert (tmp_path / ".data" / "app.sqlite3").exists()


def test_the_busy_timeout_can_be_set_in_the_url(tmp_path: Path) -> None:
    open_storage(f"sqlite:///{tmp_path}/a.sqlite3?busy_timeout_ms=250").ping()
    with pytest.raises(ConfigError, match="busy_timeout_ms"):
        open_storage(f"sqlite:///{tmp_path}/a.sqlite3?busy_timeout_ms=soon")
    with pytest.raises(ConfigError, match="cache"):
        open_storage(f"sqlite:///{tmp_path}/a.sqlite3?cache=shared")


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///", "sqlite://host/file.sqlite3"])
def test_a_sqlite_url_without_a_usable_path_is_refused(url: str) -> None:
    with pytest.raises(ConfigError, match="sqlite:///"):
        open_storage(url)


@pytest.mark.parametrize("url", ["mongodb://user:s3cret@db/x", "/var/data/app.sqlite3", ""])
def test_an_unknown_scheme_names_the_supported_ones_and_never_the_password(url: str) -> None:
    with pytest.raises(ConfigError) as raised:
        open_storage(url)
    message = str(raised.value)
    assert "supported: sqlite://" in message and "postgresql://" in message
    assert "s3cret" not in message


def test_choosing_a_backend_imports_no_adapter_until_it_is_opened() -> None:
    probe = (
        "import sys, shared.storage.factory; print(sorted(m for m in sys.modules if m.startswith('shared.storage')))"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env)
    assert "shared.storage.sqlite" not in loaded.stdout
