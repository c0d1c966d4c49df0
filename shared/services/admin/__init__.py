"""The admin API's services: who calls (auth), what they read (queries), what they change (operations, audited),
and the admin keys themselves (keys, for the CLI)."""

from __future__ import annotations

from dataclasses import dataclass

from shared.services.admin.audit import Auditor, Caller
from shared.services.admin.auth import AdminAuth
from shared.services.admin.keys import KeyManagement
from shared.services.admin.operations import AdminOperations
from shared.services.admin.queries import AdminQueries


@dataclass(frozen=True)
class Admin:
    auth: AdminAuth
    queries: AdminQueries
    operations: AdminOperations
    keys: KeyManagement


__all__ = ["Admin", "AdminAuth", "AdminOperations", "AdminQueries", "Auditor", "Caller", "KeyManagement"]
