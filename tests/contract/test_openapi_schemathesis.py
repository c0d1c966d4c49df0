"""The served API description against the running system: schemathesis loads GET /v1/openapi.json from the local
stack (gateway with two worker processes, FC 3.0 events, the WeChat Pay emulator, SQLite) and sends each operation a
bounded number of generated requests, valid and invalid, seeded and derandomized so that a run repeats. Every answer
must be no 5xx, of a documented status, of the documented content type, with the documented headers, and match
its schema.

Three requests in four to protected operations carry real credentials (a paid order's poll token, install id,
licence key and token; operator and viewer admin keys, made as the CLI makes them), so the fuzzer reaches past
authentication too.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from scripts.openapi import OUTPUT as OPENAPI_FILE
from scripts.stack import Stack
from shared.domain.licences import licence_id_for
from shared.services.admin.audit import Auditor
from shared.services.admin.keys import KeyManagement
from shared.storage.sqlite import SqliteStorage
from tests.support.emulator import RunningEmulator, wait_for
from tests.support.shop import Shop
from tests.support.stacks import FAST_QUERIES, own_stack

# Per operation (valid and invalid requests together); CONTRACT_EXAMPLES=200 for a longer hunt.
MAX_EXAMPLES = int(os.environ.get("CONTRACT_EXAMPLES", "25"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@dataclass(frozen=True)
class Credentials:
    """Real credentials the generated requests borrow."""

    order_id: str
    poll_token: str
    install_id: str
    license_key: str
    token: str
    admin_order_id: str  # a paid order of its own, for the admin operations that change state
    admin_licence_id: str
    operator_key: str
    viewer_key: str


@pytest.fixture(scope="module")
def contract_stack(emulator_server: RunningEmulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The same stack as the `stack` fixture, on a data directory of its own: the fuzzer's wrong admin keys count
    towards the per-address lockout, which would otherwise lock 127.0.0.1 out of the admin API for other tests."""
    emulator_server.reset()
    # No lockout: it would answer 429 to everything once the fuzzer's wrong keys reach the limit.
    data_dir = tmp_path_factory.mktemp("contract")
    with own_stack(emulator_server, data_dir, workers=2, **FAST_QUERIES, ADMIN_AUTH_MAX_FAILURES="1000000") as running:
        yield running
    emulator_server.reset()


def _paid_order(shop: Shop, emulator: RunningEmulator) -> dict[str, Any]:
    order = shop.order("pro-monthly")
    emulator.pay(order["order_id"])
    status = wait_for(lambda: (s := shop.status(order))["license"] and s["license"]["token"] and s, timeout=20)
    return {**order, "license": status["license"]}


@pytest.fixture(scope="module")
def credentials(contract_stack: Stack, emulator_server: RunningEmulator) -> Credentials:
    shop = Shop(contract_stack)
    public, admin = _paid_order(shop, emulator_server), _paid_order(shop, emulator_server)
    storage = SqliteStorage(str(shop.db_path))
    keys = KeyManagement(storage, Auditor(storage, _now), _now)
    return Credentials(
        order_id=public["order_id"],
        poll_token=public["poll_token"],
        install_id=public["install_id"],
        license_key=public["license"]["license_key"],
        token=public["license"]["token"],
        admin_order_id=admin["order_id"],
        admin_licence_id=licence_id_for(admin["order_id"]),
        operator_key=keys.create("contract", "contract operator", "operator")["key"],
        viewer_key=keys.create("contract", "contract viewer", "viewer")["key"],
    )


def _now() -> int:
    return int(time.time())


@pytest.fixture(scope="module")
def api_schema(contract_stack: Stack) -> Any:
    """The description as the running system serves it."""
    base_url = contract_stack.gateway.base_url
    schema = schemathesis.openapi.from_url(f"{base_url}/v1/openapi.json", timeout=30)
    schema.config.update(base_url=base_url, request_timeout=30)
    return schema


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    session = requests.Session()
    session.trust_env = False
    yield session
    session.close()


# Operations are listed from the checked-in file (the next test proves it is what is served); each is one test.
DESCRIBED = json.loads(OPENAPI_FILE.read_text(encoding="utf-8"))
OPERATIONS = [(method.upper(), path) for path, item in sorted(DESCRIBED["paths"].items()) for method in item]


def test_the_running_system_serves_the_checked_in_description(contract_stack: Stack, http: requests.Session) -> None:
    answer = http.get(f"{contract_stack.gateway.base_url}/v1/openapi.json", timeout=30)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("application/json")
    assert answer.json() == DESCRIBED


def strategy(operation: Any) -> Any:
    """Valid requests and, where the operation has anything to break, invalid ones."""
    strategies = [operation.as_strategy(GenerationMode.POSITIVE)]
    with contextlib.suppress(Exception):  # an operation without parameters or body has nothing to negate
        strategies.append(operation.as_strategy(GenerationMode.NEGATIVE))
    return st.one_of(strategies)


@pytest.mark.timeout(300)
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_every_answer_conforms_to_the_description(
    api_schema: Any, credentials: Credentials, http: requests.Session, method: str, path: str
) -> None:
    operation = api_schema[path][method]

    @hypothesis.settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(hypothesis.HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate, hypothesis.Phase.shrink],
    )
    @hypothesis.given(case=strategy(operation))
    def run(case: schemathesis.Case) -> None:
        lend_credentials(case, credentials)
        case.call_and_validate(session=http, checks=CHECKS)

    run()


def _coin(case: schemathesis.Case, sides: int = 2) -> int:
    """A side of a coin that depends only on what was generated: the same case always lands the same way."""
    drawn = json.dumps([case.path_parameters, case.query, dict(case.headers or {}), case.body], default=repr)
    return zlib.crc32(drawn.encode()) % sides


def lend_credentials(case: schemathesis.Case, c: Credentials) -> None:
    side = _coin(case, 4)
    op = case.operation.definition.raw.get("operationId")
    if side == 0:
        return  # what the fuzzer generated, as is
    if op == "getOrder":
        case.path_parameters = {"order_id": c.order_id}
        case.headers["Authorization"] = f"Bearer {c.poll_token}"
    elif op == "history":
        case.headers["X-Install-Id"] = c.install_id
    elif op in ("activateLicence", "deactivateLicence") and isinstance(case.body, dict):
        case.body = {**case.body, "license_key": c.license_key, "install_id": c.install_id}
    elif op == "validateLicence" and isinstance(case.body, dict):
        case.body = {"token": c.token} if side == 1 else {"license_key": c.license_key, "install_id": c.install_id}
    elif op == "createOrder" and isinstance(case.body, dict):
        case.body = {**case.body, "product_id": "pro-monthly"}
    elif op and op.startswith("admin"):
        case.headers["Authorization"] = f"Bearer {c.viewer_key if side == 1 else c.operator_key}"
        if "order_id" in case.path_parameters and side == 3:
            case.path_parameters = {"order_id": c.admin_order_id}
        if "licence_id" in case.path_parameters and side == 3:
            case.path_parameters = {"licence_id": c.admin_licence_id}


@pytest.mark.parametrize(
    "target",
    [
        "/v1/admin/reports?limit=%C2%B2",
        "/v1/admin/reports?limit=%E2%91%A0",
        "/v1/admin/stats?to=0001-01-05",
        "/v1/admin/stats?from=9999-12-31",
    ],
)
def test_admin_parameters_out_of_the_ordinary_are_refused_with_400(
    contract_stack: Stack, credentials: Credentials, http: requests.Session, target: str
) -> None:
    headers = {"Authorization": f"Bearer {credentials.viewer_key}"}
    answer = http.get(contract_stack.gateway.base_url + target, headers=headers, timeout=30)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] in ("INVALID_LIMIT", "INVALID_DATE"), answer.text
