"""The deployable packages, each proven complete: built by scripts/package from real manylinux wheels, unzipped alone
into an empty folder, and run by a clean interpreter (`python -I -S`: no site-packages, no environment paths) whose
only code is that folder. Each invocation is a cold start fed a real FC 3.0 or SCF event, with exactly the settings
the templates give that function (scripts/deploy/settings.py), against the WeChat Pay emulator and SQLite.

The packages are built for this interpreter's CPython version (the runtime's 3.10 wheels hold 3.10-only extension
modules); one more test checks the 3.10 build's contents without running it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from scripts import package
from scripts.deploy.settings import FUNCTION_SETTINGS, LOCAL_ONLY
from scripts.stack import function_env
from shared.http import fc3, scf
from tests.support.emulator import RunningEmulator
from tests.support.wechat import genuine_notification, paid_resource, signed

ROOT = Path(__file__).resolve().parents[2]
HOST_VERSION = f"{sys.version_info.major}.{sys.version_info.minor}"
BUILT = [f for f in package.FUNCTIONS if (ROOT / "functions" / f / "index.py").is_file()]
INSTALL = "package-smoke-install-0001"

# Runs inside the clean interpreter: the package folder first on sys.path, one call, the answer and the modules it
# loaded written to a file (stdout carries the function's logs).
DRIVER = """
import json, sys, sysconfig
from types import SimpleNamespace
folder, platform, entry, event_file, out_file = sys.argv[1:6]
sys.path.insert(0, folder)
import index
raw = open(event_file, "rb").read()
event = raw if platform == "fc3" else json.loads(raw)
context = SimpleNamespace(request_id="req-package-smoke", function_name="smoke", memory_limit_in_mb=128)
answer = getattr(index, entry)(event, context)
stdlib = sysconfig.get_paths()["stdlib"]
outside = sorted(
    name for name, module in list(sys.modules.items())
    if name != "__main__" and getattr(module, "__file__", None)
    and not module.__file__.startswith(folder) and not module.__file__.startswith(stdlib)
)
top = sorted({name.split(".")[0] for name, m in sys.modules.items() if (getattr(m, "__file__", "") or "").startswith(folder)})
json.dump({"answer": answer, "outside": outside, "packages": top}, open(out_file, "w"))
"""


@dataclass
class Invocation:
    status: int
    body: Any
    packages: list[str]
    answer: dict[str, Any]


class Packages:
    """The unzipped packages, and a way to invoke one in a fresh clean interpreter."""

    def __init__(self, root: Path, built: dict[str, package.Built], env: dict[str, str]) -> None:
        self.root, self.built, self.env = root, built, env
        self.driver = root / "driver.py"
        self.driver.write_text(DRIVER)
        self.count = 0

    def folder(self, function: str) -> Path:
        return self.root / "unzipped" / function

    def settings(self, function: str) -> dict[str, str]:
        """Exactly the settings the templates give this function: a missing one would fail here as in the cloud."""
        names = (*FUNCTION_SETTINGS[function], *LOCAL_ONLY)  # LOCAL_STACK: the emulator's http:// URL
        return {name: self.env[name] for name in names if name in self.env}

    def call(self, function: str, platform: str, event: bytes | dict[str, Any], entry: str | None = None) -> Invocation:
        self.count += 1
        event_file, out_file = self.root / f"event-{self.count}", self.root / f"answer-{self.count}.json"
        event_file.write_bytes(event if isinstance(event, bytes) else json.dumps(event).encode())
        entry = entry or ("handler" if platform == "fc3" else "main_handler")
        command = [sys.executable, "-I", "-S", str(self.driver), str(self.folder(function)), platform, entry]
        done = subprocess.run(
            [*command, str(event_file), str(out_file)],
            env=self.settings(function),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, f"{function} failed in a clean interpreter:\n{done.stderr[-3000:]}"
        result = json.loads(out_file.read_text())
        assert result["outside"] == [], f"{function} loaded modules from outside its package: {result['outside']}"
        answer = result["answer"]
        body = answer.get("body")
        return Invocation(answer.get("statusCode", 0), json.loads(body) if body else None, result["packages"], answer)

    def http(
        self,
        function: str,
        platform: str,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Invocation:
        raw = body if isinstance(body, bytes) else (json.dumps(body).encode() if body is not None else b"")
        sent = {"Content-Type": "application/json", **(headers or {})} if raw else dict(headers or {})
        builder = fc3.build_event if platform == "fc3" else scf.build_event
        return self.call(function, platform, builder(method, path, headers=sent, body=raw))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, package.Built]]:
    root = tmp_path_factory.mktemp("packages")
    results = package.build(BUILT, root / "zips", python_version=HOST_VERSION)
    for result in results:
        with zipfile.ZipFile(result.zip_path) as archive:
            archive.extractall(root / "unzipped" / result.function)
    return root, {r.function: r for r in results}


@pytest.fixture
def packages(
    built: tuple[Path, dict[str, package.Built]], emulator: RunningEmulator, tmp_path: Path
) -> Iterator[Packages]:
    root, results = built
    env = function_env(tmp_path, emulator.merchant, emulator.base_url, "https://pay.example.com")
    env["ORDER_QUERY_AFTER_SECONDS"] = "0"  # the first poll asks WeChat: order_status's outbound stack is exercised
    env["ORDER_QUERY_EVERY_SECONDS"] = "0"
    yield Packages(root, results, env)


def test_every_package_holds_its_handler_the_shared_package_and_the_catalogue(
    built: tuple[Path, dict[str, package.Built]],
) -> None:
    _, results = built
    assert set(results) == set(BUILT)
    for function, result in results.items():
        with zipfile.ZipFile(result.zip_path) as archive:
            names = set(archive.namelist())
        assert {"index.py", "shared/bootstrap.py", "shared/secrets/kms.py", "config/products.json"} <= names
        assert not any(
            n.startswith(("emulator/", "tests/", "scripts/", "functions/")) or "__pycache__" in n for n in names
        )
        assert result.within_budget, (function, result.unzipped_bytes)
    distributions = {f: " ".join(r.distributions) for f, r in results.items()}
    assert "qrcode" in distributions["create_order"] and "wechatpayv3" in distributions["order_status"]
    for lean in ("payment_notify", "license"):
        assert "requests" not in distributions[lean] and "wechatpayv3" not in distributions[lean]


def test_a_whole_purchase_runs_on_the_packages_alone(packages: Packages, emulator: RunningEmulator) -> None:
    listed = packages.http("create_order", "fc3", "GET", "/v1/products")
    catalogue = json.loads((ROOT / "config" / "products.json").read_text())
    expected_ids = {p["id"] for p in (catalogue["products"] if isinstance(catalogue, dict) else catalogue)}
    assert listed.status == 200 and {p["id"] for p in listed.body["products"]} == expected_ids

    created = packages.http(
        "create_order", "scf", "POST", "/v1/orders", {"product_id": "pro-monthly", "install_id": INSTALL}
    )
    assert created.status == 201 and created.body["status"] == "PENDING", created.body
    assert created.body["code_url"].startswith("weixin://") and created.body["qr_svg"].startswith("<?xml")
    assert {"wechatpayv3", "requests", "qrcode"} <= set(created.packages)
    order_id, auth = created.body["order_id"], {"Authorization": f"Bearer {created.body['poll_token']}"}

    polled = packages.http("order_status", "fc3", "GET", f"/v1/orders/{order_id}", headers=auth)
    assert polled.status == 200 and polled.body["status"] == "PENDING"
    assert "wechatpayv3" in polled.packages  # it asked the emulator, through the packaged SDK

    resource = paid_resource(emulator, order_id, created.body["amount_fen"])
    body = genuine_notification(emulator, resource)
    for platform in ("fc3", "scf"):  # the second delivery is a duplicate: acknowledged, applied once
        notified = packages.http(
            "payment_notify", platform, "POST", "/v1/notify/wechatpay", body, signed(emulator, body)
        )
        assert notified.status == 204, notified.answer
        assert "requests" not in notified.packages and "wechatpayv3" not in notified.packages

    paid = packages.http("order_status", "scf", "GET", f"/v1/orders/{order_id}", headers=auth)
    assert paid.status == 200 and paid.body["status"] == "PAID" and paid.body["license"]["token"]

    keys = packages.http("license", "fc3", "GET", "/v1/licenses/keys")
    assert keys.status == 200 and keys.body["algorithm"] == "Ed25519" and keys.body["keys"]
    checked = packages.http("license", "scf", "POST", "/v1/licenses/validate", {"token": paid.body["license"]["token"]})
    assert checked.status == 200 and checked.body["valid"] is True


@pytest.mark.skipif("jobs" not in BUILT, reason="functions/jobs is not in this checkout yet")
def test_the_jobs_package_runs_a_timer_event_on_both_clouds(packages: Packages) -> None:
    fc_timer = json.dumps(
        {"triggerTime": "2026-11-30T02:00:00Z", "triggerName": "every-5-minutes", "payload": "close_expired"}
    )
    scf_timer = {
        "Type": "Timer",
        "TriggerName": "every-5-minutes",
        "Time": "2026-11-30T02:00:00Z",
        "Message": "close_expired",
    }
    for platform, event in (("fc3", fc_timer.encode()), ("scf", scf_timer)):
        ran = packages.call("jobs", platform, event)
        assert [job["job"] for job in ran.answer["jobs"]] == ["close_expired"], ran.answer


def test_the_runtime_build_holds_cpython_310_manylinux_wheels(tmp_path: Path) -> None:
    """What FC's python3.10 and SCF's Python3.10 receive: 3.10 extension modules, and typing-extensions, which
    cryptography needs below 3.11 only (pip on a newer host would leave it out)."""
    (result,) = package.build(["payment_notify"], tmp_path, python_version="3.10")
    with zipfile.ZipFile(result.zip_path) as archive:
        names = archive.namelist()
        infos = {i.filename: i for i in archive.infolist()}
    assert "_cffi_backend.cpython-310-x86_64-linux-gnu.so" in names
    assert any(n.startswith("cryptography/hazmat/bindings/_rust.abi3") for n in names)
    assert "typing_extensions.py" in names and "index.py" in names
    assert all(info.date_time == (1980, 1, 1, 0, 0, 0) for info in infos.values())
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["python_version"] == "3.10" and manifest["packages"]["payment_notify"]["budget_mb"] == 20
    assert result.within_budget


def test_the_same_input_gives_the_same_zip(tmp_path: Path) -> None:
    stage = tmp_path / "stage"
    (stage / "pkg").mkdir(parents=True)
    (stage / "pkg" / "a.py").write_text("A = 1\n")
    (stage / "index.py").write_text("def handler(e, c): return {}\n")
    package.write_zip(stage, tmp_path / "one.zip")
    time.sleep(1.1)  # a different mtime must not change the bytes
    (stage / "index.py").touch()
    package.write_zip(stage, tmp_path / "two.zip")
    assert (tmp_path / "one.zip").read_bytes() == (tmp_path / "two.zip").read_bytes()
