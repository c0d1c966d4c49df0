"""The admin function's deployable package alone: built by scripts/package, unzipped into an empty folder and run
by a clean interpreter with exactly the settings the templates give it — the dashboard's files are in it, and the
API answers with a key made beside it."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from scripts import package
from scripts.stack import function_env
from shared.domain.admin import AdminKey, Role, key_hash, new_key
from shared.storage.sqlite import SqliteStorage
from tests.e2e.test_packages import HOST_VERSION, Packages
from tests.support.emulator import RunningEmulator

STATIC = Path(package.ROOT) / "functions" / "admin" / "static"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, package.Built]:
    root = tmp_path_factory.mktemp("admin-package")
    (result,) = package.build(["admin"], root / "zips", python_version=HOST_VERSION)
    with zipfile.ZipFile(result.zip_path) as archive:
        archive.extractall(root / "unzipped" / "admin")
    return root, result


def test_the_admin_package_holds_the_dashboard_and_answers_alone(
    built: tuple[Path, package.Built], emulator: RunningEmulator, tmp_path: Path
) -> None:
    root, result = built
    assert result.within_budget and "wechatpayv3" in " ".join(result.distributions)
    with zipfile.ZipFile(result.zip_path) as archive:
        names = set(archive.namelist())
    shipped = {f"static/{p.name}" for p in STATIC.iterdir() if p.is_file()}
    assert "static/index.html" in shipped and shipped <= names
    assert not any(n.startswith(("functions/", "tests/", "scripts/")) for n in names)

    env = function_env(tmp_path, emulator.merchant, emulator.base_url, "https://pay.example.com")
    key_id, key = new_key()
    storage = SqliteStorage(env["STORAGE_URL"].removeprefix("sqlite:///"))
    storage.insert_admin_key(AdminKey(key_id, key_hash(key), Role.VIEWER, "package", 1_767_225_600))
    packages = Packages(root, {"admin": result}, env)

    moved = packages.http("admin", "fc3", "GET", "/admin")
    assert moved.status == 301 and moved.answer["headers"]["Location"] == "/admin/"
    me = packages.http("admin", "scf", "GET", "/v1/admin/me", headers={"Authorization": f"Bearer {key}"})
    assert me.status == 200 and me.body == {"key_id": key_id, "name": "package", "role": "viewer"}
    orders = packages.http("admin", "fc3", "GET", "/v1/admin/orders", headers={"Authorization": f"Bearer {key}"})
    assert orders.status == 200 and orders.body == {"orders": [], "next_cursor": None}
    assert packages.http("admin", "scf", "GET", "/v1/admin/orders").status == 401
