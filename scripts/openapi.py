"""`make openapi`: write the API's OpenAPI 3.1 description, generated from shared/api's models, to
shared/api/openapi.json (checked in; create_order serves it at GET /v1/openapi.json).

`--check` writes nothing and exits 1 when the checked-in file differs from what the models generate.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "shared" / "api" / "openapi.json"


def render() -> str:
    """The document as written: sorted keys, two-space indents, a final newline (stable diffs)."""
    from shared.api.spec import document

    return json.dumps(document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if the checked-in file is not up to date")
    args = parser.parse_args(argv)
    text = render()
    current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else None
    if args.check:
        if current != text:
            print(f"{OUTPUT.relative_to(ROOT)} is out of date: run `make openapi`", file=sys.stderr)
            return 1
        return 0
    if current != text:
        OUTPUT.write_text(text, encoding="utf-8")
        print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
