"""The emulator is a second, independent implementation of the protocol (design §2): a signing bug on our side
cannot cancel itself out against it."""

from __future__ import annotations

import ast
from pathlib import Path

EMULATOR = Path(__file__).resolve().parents[2] / "emulator"


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_emulator_imports_neither_our_protocol_code_nor_the_sdk() -> None:
    files = sorted(EMULATOR.glob("*.py"))
    assert files, "the emulator package is where this test expects it"
    for path in files:
        for module in imported_modules(path):
            assert not module.startswith(("shared", "wechatpayv3")), f"{path.name} imports {module}"
