"""The operators' command line (docs/admin.md, docs/operations.md).

Admin keys go straight to storage through the composition root, never through the API, so that a stolen key cannot
mint another; both are audited with actor `cli:<user>`. Settings come from the environment, as the functions read
them; with `--local` (or when SERVER_SECRET is unset) they are those of the running `make dev` system:

    python -m scripts.admin keys create --name NAME --role viewer|operator     the key is shown once
    python -m scripts.admin keys list
    python -m scripts.admin keys revoke KEY_ID

Everything else goes over the admin HTTP API, so it works against any deployment: `--url` (default $ADMIN_URL, else
http://127.0.0.1:8080) with the key in $ADMIN_API_KEY. The key is never a command-line argument: it would land in
the shell history and in every `ps` listing.

    orders [--status S] [--from DAY] [--to DAY] [--order-id ID] [--transaction-id ID] [--product-id P]
           [--limit N] [--cursor C]
    order ORDER_ID                                    the order, its licence, refunds and timeline
    refund ORDER_ID [--amount FEN] --reason TEXT [--request-key K]
    confirm-paid ORDER_ID [ORDER_ID ...]              ask WeChat Pay and apply what it says
    revoke LICENCE_ID --reason TEXT
    reinstate LICENCE_ID --reason TEXT
    reset-devices LICENCE_ID
    stats [--from DAY] [--to DAY]                     per China day, with totals
    reports [DATE] [--limit N]                        reconciliation reports (a DATE: that day's whole report)
    anomalies [--limit N]                             payments and refunds that disagreed with our books
    audit [--target T] [--before AUDIT_ID] [--limit N]
    export-orders --from DAY --to DAY --out FILE.csv [--status S] [--product-id P] [--force]

Tables on a terminal, tab-separated lines when piped, `--json` for the API's own JSON. Days are YYYY-MM-DD, China
Standard Time; money in tables is yuan, in JSON and CSV integer fen. Exit codes: 0 done, 1 the API (or storage)
refused or could not be reached, 2 a usage error.
"""

from __future__ import annotations

from scripts.admin.api import AdminApi, ApiError, UsageError
from scripts.admin.cli import main
from scripts.admin.orders import ORDER_COLUMNS
from scripts.admin.output import Output, compact, when, yuan

__all__ = ["ORDER_COLUMNS", "AdminApi", "ApiError", "Output", "UsageError", "compact", "main", "when", "yuan"]
