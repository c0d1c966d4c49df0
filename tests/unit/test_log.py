"""shared.log: JSON lines with stable names, request context, a secret denylist and a level threshold."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from shared import log
from tests.unit.conftest import Lines

ROOT = Path(__file__).resolve().parents[2]


def test_each_event_is_one_json_line_starting_with_timestamp_level_and_event(lines: Lines) -> None:
    log.info("order_created", order_id="ord_1", amount_fen=990, description="课程")
    (line,) = lines()
    assert list(line)[:3] == ["ts", "level", "event"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["ts"])
    assert (line["level"], line["event"]) == ("info", "order_created")
    assert (line["order_id"], line["amount_fen"], line["description"]) == ("ord_1", 990, "课程")


def test_stable_fields_come_first_in_a_fixed_order_whatever_the_call_order(lines: Lines) -> None:
    with log.request_scope(function="order_status", request_id="r-1"):
        log.info("x", extra=1, latency_ms=3.5, status=200, outcome="ok", order_id="o", route="/v1/orders/{order_id}")
    (line,) = lines()
    assert list(line) == [
        "ts",
        "level",
        "event",
        "request_id",
        "function",
        "route",
        "order_id",
        "outcome",
        "status",
        "latency_ms",
        "extra",
    ]


def test_fields_without_a_value_are_left_out(lines: Lines) -> None:
    log.info("x", order_id=None, status=0)
    (line,) = lines()
    assert "order_id" not in line
    assert line["status"] == 0


def test_a_bound_order_id_appears_on_every_later_line_of_the_request(lines: Lines) -> None:
    with log.request_scope(request_id="r-1", function="payment_notify"):
        log.info("notification_verified")
        log.bind(order_id="ord_42")
        log.info("order_paid", outcome="paid")
        log.warning("licence_already_issued")
    first, second, third = lines()
    assert "order_id" not in first
    assert second["order_id"] == third["order_id"] == "ord_42"
    assert {line["request_id"] for line in (first, second, third)} == {"r-1"}


def test_a_request_scope_starts_empty_and_forgets_what_was_bound_inside_it(lines: Lines) -> None:
    with log.request_scope(request_id="r-1"):
        log.bind(order_id="ord_1")
    with log.request_scope(request_id="r-2"):
        log.info("next_request")
    (line,) = lines()
    assert line["request_id"] == "r-2"
    assert "order_id" not in line
    assert log.bound() == {}


def test_request_context_does_not_cross_threads(lines: Lines) -> None:
    seen: list[dict[str, Any]] = []
    with log.request_scope(request_id="main"):
        log.bind(order_id="ord_main")
        worker = threading.Thread(target=lambda: seen.append(dict(log.bound())))
        worker.start()
        worker.join()
    assert seen == [{}]


@pytest.mark.parametrize(
    "name",
    [
        "secret",
        "client_secret",
        "poll_token",
        "TOKEN",
        "api_key",
        "idempotency_key",
        "licence_key",
        "password",
        "Authorization",
        "install_id",
        "signature",
        "wechatpay_signature",
        "private_key_pem",
        "apiv3_key",
        "APIV3",
        "cookie",
        "headers",
        "body",
    ],
)
def test_a_secret_looking_field_never_appears(lines: Lines, name: str) -> None:
    log.info("x", **{name: "leaked-value"})
    with log.request_scope(**{name: "leaked-value"}):
        log.info("y")
    for line in lines():
        assert name not in line
        assert "leaked-value" not in json.dumps(line)


def test_harmless_names_that_look_close_are_logged(lines: Lines) -> None:
    log.info("x", install_hash="h1", order_id="o1", kid="k2024", key_count=None)
    (line,) = lines()
    assert (line["install_hash"], line["order_id"], line["kid"]) == ("h1", "o1", "k2024")


def test_secrets_nested_inside_a_field_are_removed_too(lines: Lines) -> None:
    log.info("x", merchant={"mchid": "1900000001", "apiv3_key": "k" * 32, "certs": [{"private_key": "pem"}]})
    (line,) = lines()
    assert line["merchant"] == {"mchid": "1900000001", "certs": [{}]}


def test_core_names_cannot_be_overwritten_by_fields(lines: Lines) -> None:
    with log.request_scope(level="fake", ts="yesterday"):
        log.info("real_event", event="other")
    (line,) = lines()
    assert (line["level"], line["event"]) == ("info", "real_event")
    assert line["ts"] != "yesterday"


def test_lines_below_the_configured_level_are_not_written(lines: Lines) -> None:
    log.configure(level="warning")
    log.debug("d")
    log.info("i")
    log.warning("w")
    log.error("e")
    assert [line["event"] for line in lines()] == ["w", "e"]


def test_an_unknown_level_is_refused_when_configured() -> None:
    with pytest.raises(ValueError):
        log.configure(level="verbose")


def test_values_that_are_not_json_are_written_as_text(lines: Lines) -> None:
    log.info("x", path=Path("docs/a.md"), amount=1.5)
    (line,) = lines()
    assert (line["path"], line["amount"]) == ("docs/a.md", 1.5)


def test_a_failing_stream_never_breaks_the_caller() -> None:
    class Broken(io.StringIO):
        def write(self, _text: str) -> int:
            raise BrokenPipeError

    previous = log.level()
    log.configure(stream=Broken())
    try:
        log.error("still_answering")
    finally:
        log.configure(level=previous, stream=None)


def test_lines_go_to_stdout_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    log.error("to_stdout")
    assert json.loads(capsys.readouterr().out)["event"] == "to_stdout"


@pytest.mark.parametrize(("setting", "expected"), [("debug", "debug"), ("WARNING", "warning"), ("nonsense", "info")])
def test_the_log_level_env_var_is_read_at_start_and_a_typo_falls_back_to_info(setting: str, expected: str) -> None:
    env = {**os.environ, "LOG_LEVEL": setting}
    code = "from shared import log; print(log.level())"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == expected
