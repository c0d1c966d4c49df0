"""Canned cloud events, loaded by name: what FC 3.0 and SCF deliver to a function's handler.

FC 3.0 events come back as bytes (FC hands a built-in runtime bytes of JSON); SCF events as dicts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).resolve().parent


def load_event(name: str) -> Any:
    """`load_event("fc3_http_post")` -> bytes; `load_event("scf_function_url_get")` -> dict (".json" optional)."""
    path = EVENTS / (name if name.endswith(".json") else f"{name}.json")
    raw = path.read_bytes()
    return raw if path.name.startswith("fc3_") else json.loads(raw)
