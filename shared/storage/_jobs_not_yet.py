"""TEMPORARY: the jobs' part of the port for the adapters that do not implement it yet (SQLite does; PostgreSQL,
MySQL and Tablestore follow). Every method raises NotImplementedError. Deleted when the last adapter lands."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NoReturn

from shared.domain.orders import Order, OrderStatus
from shared.domain.refunds import Refund, RefundStatus


def _not_yet() -> NoReturn:
    raise NotImplementedError("this storage adapter does not implement refunds, jobs, leases, reports or backups yet")


class JobsNotYet:
    def insert_refund(self, refund: Refund) -> bool:
        _not_yet()

    def get_refund(self, out_refund_no: str) -> Refund | None:
        _not_yet()

    def update_refund(
        self, out_refund_no: str, changes: Mapping[str, Any], *, expect_status: Sequence[RefundStatus] | None = None
    ) -> bool:
        _not_yet()

    def refunds_for_order(self, order_id: str) -> list[Refund]:
        _not_yet()

    def orders_in_status(self, status: OrderStatus, created_before: int, limit: int) -> list[Order]:
        _not_yet()

    def orders_expired(self, now: int, limit: int) -> list[Order]:
        _not_yet()

    def refunds_in_status(self, status: RefundStatus, requested_before: int, limit: int) -> list[Refund]:
        _not_yet()

    def orders_paid_between(self, start: int, end: int, limit: int) -> list[Order]:
        _not_yet()

    def refunds_succeeded_between(self, start: int, end: int, limit: int) -> list[Refund]:
        _not_yet()

    def acquire_lease(self, name: str, owner: str, now: int, ttl: int) -> bool:
        _not_yet()

    def release_lease(self, name: str, owner: str) -> None:
        _not_yet()

    def save_report(self, kind: str, key: str, report: Mapping[str, Any], at: int) -> None:
        _not_yet()

    def get_report(self, kind: str, key: str) -> dict[str, Any] | None:
        _not_yet()

    def purge(self, dataset: str, before: int, limit: int) -> int:
        _not_yet()

    def export_rows(self, dataset: str) -> Iterator[dict[str, Any]]:
        _not_yet()

    def import_rows(self, dataset: str, rows: Iterator[dict[str, Any]]) -> int:
        _not_yet()
