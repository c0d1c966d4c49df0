"""The API description: generated from shared/api's models, checked in, valid OpenAPI 3.1, naming every route the
functions serve, and served by create_order as the checked-in file without pydantic."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

from scripts import openapi, package
from shared.http import fc3

ROOT = Path(__file__).resolve().parents[2]
HTTP_FUNCTIONS = ("create_order", "order_status", "payment_notify", "license", "admin")
UNDESCRIBED = {"/admin", "/admin/", "/admin/{name}"}  # the dashboard's static files: not part of the API


def checked_in() -> dict:  # type: ignore[type-arg]
    return json.loads(openapi.OUTPUT.read_text(encoding="utf-8"))


def test_the_checked_in_description_is_what_the_models_generate() -> None:
    assert openapi.OUTPUT.read_text(encoding="utf-8") == openapi.render(), "run `make openapi`"
    assert openapi.main(["--check"]) == 0


def test_the_description_is_valid_openapi_3_1() -> None:
    document = checked_in()
    assert document["openapi"].startswith("3.1.")
    validate(document, cls=OpenAPIV31SpecValidator)


def test_check_fails_when_the_file_is_stale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stale = tmp_path / "openapi.json"
    stale.write_text("{}\n")
    monkeypatch.setattr(openapi, "OUTPUT", stale)
    monkeypatch.setattr(openapi, "ROOT", tmp_path)
    assert openapi.main(["--check"]) == 1
    assert stale.read_text() == "{}\n"


def served_routes() -> set[tuple[str, str]]:
    import importlib

    routes = set()
    for function in HTTP_FUNCTIONS:
        router = importlib.import_module(f"functions.{function}.index").router
        routes |= {(r.method.lower(), r.template) for r in router.routes if r.method != "OPTIONS"}
    return {(method, path) for method, path in routes if path not in UNDESCRIBED}


def test_every_route_the_functions_serve_is_described_and_nothing_else() -> None:
    described = {(method, path) for path, item in checked_in()["paths"].items() for method in item}
    assert described == served_routes()


def test_every_operation_answers_with_a_described_error_shape() -> None:
    document = checked_in()
    for path, item in document["paths"].items():
        for method, op in item.items():
            statuses = set(op["responses"])
            assert statuses and all(s.isdigit() for s in statuses), (method, path)
            if path != "/healthz":
                assert "500" in statuses, (method, path)


def event(path: str) -> dict:  # type: ignore[type-arg]
    return json.loads(fc3.build_event("GET", path, request_id="r-1"))


def test_create_order_serves_the_checked_in_file_as_json() -> None:
    from functions.create_order import index

    answer = index.handler(event("/v1/openapi.json"), SimpleNamespace(request_id="r-1"))
    assert answer["statusCode"] == 200
    assert answer["headers"]["Content-Type"].startswith("application/json")
    assert answer["headers"]["Cache-Control"] == "public, max-age=300"  # the one answer that may be cached
    assert answer["headers"]["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert json.loads(answer["body"]) == checked_in()


def test_serving_the_description_imports_no_pydantic() -> None:
    script = (
        "import json, sys\n"
        "from types import SimpleNamespace\n"
        "from shared.http import fc3\n"
        "from functions.create_order import index\n"
        "e = json.loads(fc3.build_event('GET', '/v1/openapi.json', query={}, headers={}, body=b'', request_id='r'))\n"
        "answer = index.handler(e, SimpleNamespace(request_id='r'))\n"
        "print(answer['statusCode'], sorted(m for m in sys.modules if m.split('.')[0] == 'pydantic'))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.splitlines()[-1] == "200 []"  # (the access log line comes first)


def test_the_packages_carry_the_description(tmp_path: Path) -> None:
    package.stage_code("create_order", tmp_path)
    assert json.loads((tmp_path / "shared" / "api" / "openapi.json").read_text()) == checked_in()
