"""STORAGE_URL for the SQL servers: the parts, the options and their checks, the password kept out of every
message and repr, and drivers imported only for the backend the URL names."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
from pathlib import Path

import pytest

from shared.errors import ConfigError
from shared.storage.factory import open_storage
from shared.storage.sql.mysql import MysqlStorage, open_mysql
from shared.storage.sql.postgres import PostgresStorage, open_postgres
from shared.storage.sql.url import parse_sql_url

ROOT = Path(__file__).resolve().parents[2]


def test_a_url_gives_its_parts_with_the_user_and_password_percent_decoded() -> None:
    url = parse_sql_url(
        "postgresql://app%40shop:p%40ss%2Fw%3Ard@db.internal/licences?sslmode=require",
        scheme="postgresql",
        default_port=5432,
        options=("sslmode",),
    )
    assert (url.host, url.port, url.user, url.password, url.database) == (
        "db.internal",
        5432,
        "app@shop",
        "p@ss/w:rd",
        "licences",
    )
    assert (url.connect_timeout, url.read_timeout, dict(url.options)) == (3.0, 10.0, {"sslmode": "require"})
    assert "p@ss" not in repr(url)
    assert url.scrub("failed for p@ss/w:rd") == "failed for ***"


def test_timeouts_are_read_in_seconds() -> None:
    url = parse_sql_url(
        "mysql://u@h:3307/d?connect_timeout=1.5&read_timeout=30", scheme="mysql", default_port=3306, options=()
    )
    assert (url.port, url.connect_timeout, url.read_timeout) == (3307, 1.5, 30.0)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://u:s3cret@h/d?pool=5", "unknown mysql storage option"),
        ("mysql://u:s3cret@h/d?read_timeout=0", "read_timeout"),
        ("mysql://u:s3cret@h/d?connect_timeout=soon", "connect_timeout"),
        ("mysql://u:s3cret@h/d?read_timeout=inf", "read_timeout"),
        ("mysql://u:s3cret@h:99999/d", "port"),
        ("mysql://u:s3cret@h:s3cret/d", "port"),
        ("mysql://u:s3cret@h/", "one database"),
        ("mysql://u:s3cret@h/a/b", "one database"),
        ("mysql://u:s3cret@/d", "host"),
        ("mysql://u:s3cret@h/d?ssl=verify_ca", "ssl_ca"),
        ("mysql://u:s3cret@h/d?ssl=on", "ssl"),
        ("mysql://u:s3cret@h/d?charset=latin1", "charset"),
        ("postgresql://u:s3cret@h/d?sslmode=sometimes", "sslmode"),
        ("postgresql://u:s3cret@h/d?schema=x;drop", "schema"),
        ("postgresql://u:s3cret@h/d?ssl=required", "unknown postgresql storage option"),
    ],
)
def test_a_wrong_url_is_refused_with_a_message_naming_the_part_and_never_the_password(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as refused:
        open_storage(url)
    assert "s3cret" not in str(refused.value)


def test_the_factory_opens_each_sql_backend_without_connecting() -> None:
    postgres = open_storage("postgresql://app:s3cret@127.0.0.1:1/licences?schema=shop&sslmode=disable")
    mysql = open_storage("mysql://app:s3cret@127.0.0.1:1/licences?ssl=disabled&charset=utf8mb4")
    assert isinstance(postgres, PostgresStorage) and isinstance(mysql, MysqlStorage)
    assert repr(postgres) == "PostgresStorage(127.0.0.1:1/licences)"
    assert "s3cret" not in repr(mysql)


def test_mysql_tls_modes_become_pymysqls_arguments() -> None:
    required = open_mysql("mysql://u@h/d?ssl=required")._ssl["ssl"]
    assert isinstance(required, ssl.SSLContext) and required.verify_mode is ssl.CERT_NONE
    assert open_mysql("mysql://u@h/d?ssl=disabled")._ssl == {"ssl_disabled": True}
    assert open_mysql("mysql://u@h/d?ssl=verify_identity&ssl_ca=/ca.pem")._ssl == {
        "ssl_ca": "/ca.pem",
        "ssl_verify_identity": True,
    }
    assert open_mysql("mysql://u@h/d")._ssl == {}  # preferred: PyMySQL's default


def test_a_postgres_schema_option_is_accepted_when_it_is_a_plain_identifier() -> None:
    assert open_postgres("postgresql://u@h/d?schema=shop_1").url.options["schema"] == "shop_1"


def _modules_after(code: str) -> str:
    probe = f"import sys; {code}; print(sorted(m for m in sys.modules if m.split('.')[0] in ('psycopg', 'pymysql')))"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env).stdout


def test_each_driver_is_imported_only_when_its_backend_is_opened() -> None:
    assert _modules_after("import shared.storage.factory").strip() == "[]"
    opened_postgres = _modules_after(
        "from shared.storage.factory import open_storage; open_storage('postgresql://u@h/d')"
    )
    assert "'psycopg'" in opened_postgres and "pymysql" not in opened_postgres
    opened_mysql = _modules_after("from shared.storage.factory import open_storage; open_storage('mysql://u@h/d')")
    assert "'pymysql'" in opened_mysql and "psycopg" not in opened_mysql
