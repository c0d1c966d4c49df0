"""Notifications: encrypted, signed, delivered to the notify_url and retried on WeChat's schedule (reference §6).

Every attempt is recorded with the exact headers and body sent and the answer received.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from emulator import crypto
from emulator.models import Outbound, rfc3339
from emulator.signer import Signer
from emulator.store import Store

# Retries after the first attempt: 15 retries, ≈24 h 04 min in all (reference §6).
RETRY_SCHEDULE = (15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600)
ANSWER_BODY_LIMIT = 4096


class Notifier:
    def __init__(self, store: Store, signer: Signer, apiv3_key: str, *, time_factor: float, timeout: float):
        self._store, self._signer, self._apiv3_key = store, signer, apiv3_key
        self.time_factor = time_factor
        self.timeout = timeout
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="notify")
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def enqueue(self, outbound: Outbound, options: dict[str, Any]) -> str:
        """Options: `mode` immediate | hold | drop, `delay` seconds, `signtest` (a probe first), `duplicates`."""
        notification_id = str(uuid.uuid4())
        now = time.time()
        envelope = {
            "id": notification_id,
            "create_time": rfc3339(now),
            "resource_type": "encrypt-resource",
            "event_type": outbound.event_type,
            "summary": outbound.summary,
            "resource": {
                "original_type": outbound.original_type,
                **crypto.encrypt_resource(
                    self._apiv3_key,
                    json.dumps(outbound.resource, ensure_ascii=False, separators=(",", ":")).encode(),
                    outbound.associated_data,
                ),
            },
        }
        body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()
        mode = options.get("mode", "immediate")
        state = {"immediate": "scheduled", "hold": "held", "drop": "dropped"}.get(mode, "scheduled")
        with self._store.tx() as db:
            db.execute(
                "INSERT INTO notifications(id, event_type, out_trade_no, out_refund_no, notify_url, body, created_at,"
                " next_at, state, signtest_pending) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    notification_id,
                    outbound.event_type,
                    outbound.out_trade_no,
                    outbound.out_refund_no,
                    outbound.notify_url,
                    body,
                    now,
                    now + float(options.get("delay", 0)),
                    state,
                    int(bool(options.get("signtest"))),
                ),
            )
        for _ in range(int(options.get("duplicates", 0))):
            self._pool.submit(self.send, notification_id, "duplicate")
        return notification_id

    # -- delivery ----------------------------------------------------------------------------------------

    def tick(self) -> int:
        """Start every delivery that is due; returns how many were started."""
        with self._store.tx() as db:
            due = db.execute(
                "SELECT id FROM notifications WHERE state = 'scheduled' AND next_at <= ?", (time.time(),)
            ).fetchall()
            for row in due:
                db.execute("UPDATE notifications SET state = 'sending' WHERE id = ?", (row["id"],))
        for row in due:
            self._pool.submit(self._scheduled_attempt, row["id"])
        return len(due)

    def _scheduled_attempt(self, notification_id: str) -> None:
        row = self._store.one("SELECT signtest_pending, attempts FROM notifications WHERE id = ?", notification_id)
        if row is None:
            return
        probe = bool(row["signtest_pending"])
        attempt = self.send(notification_id, "probe" if probe else "scheduled")
        accepted = attempt["response_status"] is not None and 200 <= attempt["response_status"] < 300
        with self._store.tx() as db:
            if accepted:
                db.execute(
                    "UPDATE notifications SET state = 'delivered', signtest_pending = 0, next_at = NULL WHERE id = ?",
                    (notification_id,),
                )
                return
            tries = int(row["attempts"]) + 1
            if tries > len(RETRY_SCHEDULE):
                db.execute(
                    "UPDATE notifications SET state = 'failed', attempts = ?, next_at = NULL WHERE id = ?",
                    (tries, notification_id),
                )
                return
            next_at = time.time() + RETRY_SCHEDULE[tries - 1] * self.time_factor
            db.execute(
                "UPDATE notifications SET state = 'scheduled', attempts = ?, next_at = ?, signtest_pending = 0"
                " WHERE id = ? AND state = 'sending'",
                (tries, next_at, notification_id),
            )

    def send(self, notification_id: str, kind: str) -> dict[str, Any]:
        """One POST to the notify_url, recorded; `kind` says why (scheduled, probe, manual, duplicate, release)."""
        row = self._store.one("SELECT * FROM notifications WHERE id = ?", notification_id)
        if row is None:
            raise KeyError(notification_id)
        body: bytes = row["body"]
        serial, key = self._signer.notification_key()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Mozilla/4.0",
            "Accept": "*/*",
            **self._signer.headers(body, serial, key, probe=kind == "probe"),
        }
        status, answer, error = None, None, None
        started = time.monotonic()
        try:
            # notify_url was checked to be http(s) when the order was created (validation.notify_url)
            request = urllib.request.Request(row["notify_url"], data=body, headers=headers, method="POST")  # noqa: S310
            with self._opener.open(request, timeout=self.timeout) as response:
                status, answer = response.status, response.read(ANSWER_BODY_LIMIT)
        except urllib.error.HTTPError as exc:
            status, answer = exc.code, exc.read(ANSWER_BODY_LIMIT)
        except (OSError, ValueError) as exc:  # refused, reset, timed out, bad URL
            error = f"{type(exc).__name__}: {exc}"
        record = {
            "notification_id": notification_id,
            "kind": kind,
            "sent_at": time.time(),
            "url": row["notify_url"],
            "request_headers": headers,
            "request_body": body.decode(),
            "response_status": status,
            "response_body": answer.decode("utf-8", "replace") if answer is not None else None,
            "error": error,
            "duration_ms": round((time.monotonic() - started) * 1000, 1),
        }
        with self._store.tx() as db:
            number = db.execute(
                "SELECT COUNT(*) FROM attempts WHERE notification_id = ?", (notification_id,)
            ).fetchone()[0]
            record["attempt"] = number + 1
            db.execute(
                "INSERT INTO attempts(notification_id, attempt, kind, sent_at, url, request_headers, request_body,"
                " response_status, response_body, error, duration_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    notification_id,
                    record["attempt"],
                    kind,
                    record["sent_at"],
                    record["url"],
                    json.dumps(headers),
                    record["request_body"],
                    status,
                    record["response_body"],
                    error,
                    record["duration_ms"],
                ),
            )
        return record

    # -- control -----------------------------------------------------------------------------------------

    def release(self, ids: list[str]) -> list[dict[str, Any]]:
        """Deliver held (or dropped) notifications now, one after another, in the order given: out of order."""
        results = []
        for notification_id in ids:
            with self._store.tx() as db:
                db.execute("UPDATE notifications SET state = 'sending' WHERE id = ?", (notification_id,))
            self._scheduled_attempt(notification_id)
            results.append(self.attempts(notification_id)[-1])
        return results

    def duplicate(self, notification_id: str, count: int) -> list[dict[str, Any]]:
        """The same notification `count` times at once, as WeChat sometimes does."""
        futures = [self._pool.submit(self.send, notification_id, "duplicate") for _ in range(count)]
        return [future.result() for future in futures]

    def attempts(self, notification_id: str) -> list[dict[str, Any]]:
        rows = self._store.all("SELECT * FROM attempts WHERE notification_id = ? ORDER BY seq", notification_id)
        return [_attempt_view(row) for row in rows]

    def list(self, out_trade_no: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM notifications"
        args: tuple[Any, ...] = ()
        if out_trade_no:
            sql, args = sql + " WHERE out_trade_no = ?", (out_trade_no,)
        rows = self._store.all(sql + " ORDER BY created_at", *args)
        return [
            {
                "id": row["id"],
                "event_type": row["event_type"],
                "out_trade_no": row["out_trade_no"],
                "out_refund_no": row["out_refund_no"],
                "notify_url": row["notify_url"],
                "state": row["state"],
                "body": row["body"].decode(),
                "created_at": row["created_at"],
                "next_at": row["next_at"],
                "retries": row["attempts"],
                "attempts": self.attempts(row["id"]),
            }
            for row in rows
        ]

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _attempt_view(row: Any) -> dict[str, Any]:
    return {
        "attempt": row["attempt"],
        "kind": row["kind"],
        "sent_at": row["sent_at"],
        "url": row["url"],
        "request_headers": json.loads(row["request_headers"]),
        "request_body": row["request_body"],
        "response_status": row["response_status"],
        "response_body": row["response_body"],
        "error": row["error"],
        "duration_ms": row["duration_ms"],
    }
