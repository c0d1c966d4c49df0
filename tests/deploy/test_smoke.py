"""scripts/smoke: a whole purchase against a base URL, here the local gateway (the CI stand-in for a deployment),
paid through the emulator; and its refusal to call a deployment whose paths it cannot map."""

from __future__ import annotations

import pytest

from scripts import smoke
from scripts.stack import Stack


def test_a_whole_purchase_against_the_local_gateway(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    status = smoke.main([stack.gateway.base_url, "--pay-with-emulator", stack.emulator.base_url, "--timeout", "30"])
    out = capsys.readouterr().out
    assert status == 0 and out.rstrip().endswith("smoke: OK")
    assert "PAID; licence key" in out and "verified offline" in out and "weixin://" in out


def test_function_urls_route_each_path_to_its_function() -> None:
    api = smoke.Api(
        None,
        {"create_order": "https://a.example", "order_status": "https://b.example/", "license": "https://c.example"},
    )
    assert api.url("/v1/products") == "https://a.example/v1/products"
    assert api.url("/v1/orders") == "https://a.example/v1/orders"
    assert api.url("/v1/orders/ORD1") == "https://b.example/v1/orders/ORD1"
    assert api.url("/v1/licenses/keys") == "https://c.example/v1/licenses/keys"
    with pytest.raises(SystemExit, match="--function-url order_status=URL"):
        smoke.Api(None, {}).url("/v1/history")
