"""STORAGE_URL for a SQL server: `scheme://user:password@host:port/database?option=value&...`.

User and password are percent-encoded (a `@` in a password is `%40`). The password never appears in a message, a
repr or a log: errors name the option or the part of the URL that is wrong, never its value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

from shared.errors import ConfigError

# Serverless: a request must fail fast rather than hang until the platform kills the function.
DEFAULT_CONNECT_TIMEOUT = 3.0
DEFAULT_READ_TIMEOUT = 10.0
COMMON_OPTIONS = ("connect_timeout", "read_timeout")


@dataclass(frozen=True)
class SqlUrl:
    scheme: str
    host: str
    port: int
    user: str | None
    password: str | None = field(repr=False)
    database: str
    connect_timeout: float  # seconds to open a connection (TCP, TLS and authentication)
    read_timeout: float  # seconds a statement may take, lock waits included
    options: Mapping[str, str]  # the dialect's own options, validated against its list

    def scrub(self, text: str) -> str:
        """`text` with the password removed: a driver's message might one day quote its connection string."""
        return text.replace(self.password, "***") if self.password else text


def parse_sql_url(url: str, *, scheme: str, default_port: int, options: tuple[str, ...]) -> SqlUrl:
    parts = urlsplit(url)
    form = f"{scheme}://user:password@host:{default_port}/database"
    if parts.scheme.lower() != scheme:
        raise ConfigError(f"a {scheme} storage URL starts with {scheme}://")
    if not parts.hostname:
        raise ConfigError(f"a {scheme} storage URL names its host: {form}")
    database = unquote(parts.path[1:])
    if not database or "/" in database:
        raise ConfigError(f"a {scheme} storage URL names one database: {form}")
    try:
        port = parts.port or default_port
    except ValueError:
        raise ConfigError(f"the port of the {scheme} storage URL is not a number from 1 to 65535") from None
    given = _options(parts.query, scheme, (*COMMON_OPTIONS, *options))
    return SqlUrl(
        scheme=scheme,
        host=parts.hostname,
        port=port,
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        database=database,
        connect_timeout=_seconds(given.pop("connect_timeout", None), DEFAULT_CONNECT_TIMEOUT, "connect_timeout"),
        read_timeout=_seconds(given.pop("read_timeout", None), DEFAULT_READ_TIMEOUT, "read_timeout"),
        options=given,
    )


def _options(query: str, scheme: str, known: tuple[str, ...]) -> dict[str, str]:
    try:
        parsed = parse_qs(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise ConfigError(f"the options of the {scheme} storage URL are not name=value pairs") from None
    unknown = sorted(set(parsed) - set(known))
    if unknown:
        raise ConfigError(f"unknown {scheme} storage option(s) {unknown}; known: {sorted(known)}")
    return {name: values[-1] for name, values in parsed.items()}


def _seconds(raw: str | None, default: float, name: str) -> float:
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not 0 < value <= 3600:  # also refuses nan and inf
        raise ConfigError(f"storage option {name} must be a number of seconds, more than 0 and at most 3600")
    return value


def option_choice(options: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    value = options.get(name, default).lower()
    if value not in choices:
        raise ConfigError(f"storage option {name} must be one of {list(choices)}")
    return value
