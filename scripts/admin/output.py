"""What the commands print: tables, fields, JSON, errors and progress, and the formats of times and money."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TextIO

from scripts.admin.api import ApiError

CST = dt.timezone(dt.timedelta(hours=8), "UTC+8")


def when(moment: int | None) -> str:
    return "" if moment is None else dt.datetime.fromtimestamp(moment, CST).strftime("%Y-%m-%d %H:%M:%S")


def yuan(fen: int | None) -> str:
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def compact(value: Any) -> str:
    return "" if value in (None, {}) else json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


class Output:
    """Tables and fields through rich on a terminal; tab-separated lines otherwise (grep, cut, awk); `as_json`:
    the API's JSON as is. Notes, warnings, errors and progress go to `err`, so that `out` stays parseable."""

    def __init__(self, out: TextIO, err: TextIO, *, as_json: bool = False, fancy: bool | None = None) -> None:
        self.out, self.err, self.as_json = out, err, as_json
        self._fancy = fancy

    @property
    def fancy(self) -> bool:
        return (self._fancy if self._fancy is not None else _is_terminal(self.out)) and not self.as_json

    def show(self, value: Any, render: Callable[[], None]) -> None:
        if self.as_json:
            self.json(value)
        else:
            render()

    def json(self, value: Any) -> None:
        print(json.dumps(value, ensure_ascii=False, indent=2, default=str), file=self.out)

    def table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        if not self.fancy:
            for row in [columns, *rows]:
                print("\t".join(_plain(cell) for cell in row), file=self.out)
            return
        from rich.table import Table
        from rich.text import Text

        table = Table(title=title, title_justify="left")
        for column in columns:
            table.add_column(column, overflow="fold", justify="right" if "¥" in column else "left")
        for row in rows:
            table.add_row(*(Text(_plain(cell)) for cell in row))  # Text: a value's "[...]" is not rich markup
        self._console(self.out).print(table)

    def fields(self, title: str, pairs: Sequence[tuple[str, Any]]) -> None:
        if not self.fancy:
            for name, value in pairs:
                print(f"{name}\t{_plain(value)}", file=self.out)
            return
        from rich.table import Table
        from rich.text import Text

        table = Table(title=title, title_justify="left", show_header=False)
        table.add_column(style="bold")
        table.add_column(overflow="fold")
        for name, value in pairs:
            table.add_row(name, Text(_plain(value)))
        self._console(self.out).print(table)

    def error(self, text: str) -> None:
        print(text, file=self.err)

    def failure(self, exc: ApiError) -> None:
        if self.as_json:
            print(json.dumps(exc.as_json(), ensure_ascii=False), file=self.err)
            return
        self.error(f"error: {exc}")
        if exc.details is not None:
            self.error(f"details: {compact(exc.details)}")

    @contextmanager
    def progress(self, total: int | None, label: str) -> Iterator[Callable[[int], None]]:
        """A progress bar on a terminal's stderr, for more than one item; nothing otherwise."""
        if not _is_terminal(self.err) or (total is not None and total < 2):
            yield lambda _step: None
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=self._console(self.err), transient=True) as bar:
            task = bar.add_task(label, total=total)
            yield lambda step: bar.advance(task, step)

    @staticmethod
    def _console(stream: TextIO) -> Any:
        from rich.console import Console

        return Console(file=stream, highlight=False, soft_wrap=False)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _plain(value: Any) -> str:
    """A cell as one line of text: None is empty, and tabs or newlines cannot break a tab-separated row."""
    if value is None:
        return ""
    return " ".join(str(value).split()) if isinstance(value, str) else str(value)
