"""`python -m scripts.admin`: the operators' command line (see scripts/admin/__init__)."""

from __future__ import annotations

import sys

from scripts.admin.cli import main

if __name__ == "__main__":
    sys.exit(main())
