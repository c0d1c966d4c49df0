"""The building blocks of shared.storage.sql.schema and how each dialect spells them: column types, tables (with
their indexes), added columns and indexes, and statements written per dialect (triggers)."""

from __future__ import annotations

from dataclasses import dataclass

_TYPES = {
    "postgresql": {
        "id": "VARCHAR(128)",
        "code": "VARCHAR(64)",
        "ref": "VARCHAR(255)",
        "text": "TEXT",
        "int": "BIGINT",
        "serial": "BIGINT GENERATED ALWAYS AS IDENTITY",
        "document": "TEXT",
    },
    "mysql": {
        "id": "VARCHAR(128)",
        "code": "VARCHAR(64)",
        "ref": "VARCHAR(255)",
        "text": "TEXT",
        "int": "BIGINT",
        "serial": "BIGINT AUTO_INCREMENT",
        "document": "MEDIUMTEXT",  # a report: TEXT stops at 64 KB, MEDIUMTEXT at 16 MB
    },
}
_MYSQL_TABLE_OPTIONS = " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[str, ...]  # "name type" or "name type null"; type is a key of _TYPES
    primary_key: tuple[str, ...]
    unique: tuple[tuple[str, ...], ...] = ()
    indexes: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (index name, columns)
    references: tuple[tuple[str, str], ...] = ()  # (column, "table (column)")

    def column_names(self) -> tuple[str, ...]:
        return tuple(spec.split()[0] for spec in self.columns)


@dataclass(frozen=True)
class AddColumn:
    table: str
    column: str  # as in Table.columns


@dataclass(frozen=True)
class AddIndex:
    table: str
    name: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class Statements:
    """Statements as each dialect spells them (triggers have no common syntax)."""

    by_dialect: tuple[tuple[str, tuple[str, ...]], ...]

    def of(self, dialect: str) -> list[str]:
        return list(dict(self.by_dialect)[dialect])


Step = Table | AddColumn | AddIndex | Statements


def render(step: Step, dialect: str) -> list[str]:
    if isinstance(step, Statements):
        return step.of(dialect)
    if isinstance(step, Table):
        return _create(step, dialect)
    if isinstance(step, AddColumn):
        column = _column(step.column, _TYPES[dialect])
        if dialect == "mysql":
            return [f"ALTER TABLE {step.table} ADD COLUMN {column}"]
        return [f"ALTER TABLE {step.table} ADD COLUMN IF NOT EXISTS {column}"]
    columns = ", ".join(step.columns)
    if dialect == "mysql":
        return [f"ALTER TABLE {step.table} ADD INDEX {step.name} ({columns})"]
    return [f"CREATE INDEX IF NOT EXISTS {step.name} ON {step.table} ({columns})"]


def _create(table: Table, dialect: str) -> list[str]:
    types = _TYPES[dialect]
    lines = [_column(spec, types) for spec in table.columns]
    lines.append(f"PRIMARY KEY ({', '.join(table.primary_key)})")
    lines += [f"UNIQUE ({', '.join(columns)})" for columns in table.unique]
    lines += [f"FOREIGN KEY ({column}) REFERENCES {target}" for column, target in table.references]
    if dialect == "mysql":  # MySQL has no CREATE INDEX IF NOT EXISTS (MariaDB does): indexes go inside the table
        lines += [f"INDEX {name} ({', '.join(columns)})" for name, columns in table.indexes]
    body = ",\n    ".join(lines)
    create = f"CREATE TABLE IF NOT EXISTS {table.name} (\n    {body}\n)"
    if dialect == "mysql":
        return [create + _MYSQL_TABLE_OPTIONS]
    indexes = [f"CREATE INDEX IF NOT EXISTS {n} ON {table.name} ({', '.join(c)})" for n, c in table.indexes]
    return [create, *indexes]


def _column(spec: str, types: dict[str, str]) -> str:
    name, kind, *rest = spec.split()
    return f"{name} {types[kind]}{'' if rest == ['null'] else ' NOT NULL'}"
