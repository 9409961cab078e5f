"""The sqlmodel models (monitor/storage/tables.py) describe exactly the schema the migrations build."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import JSON, Connection, String, Table, inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.schema import CreateIndex, CreateTable
from sqlalchemy.types import TypeDecorator

from monitor.storage.database import Storage
from monitor.storage.migrations import (
    m0001_initial,
    m0002_alerts,
    m0003_leases,
    m0004_attendance,
    m0005_report_agent,
)
from monitor.storage.safe_text import SafeJSON, SafeString, SafeText
from monitor.storage.tables import metadata
from tests.postgres_lab import database_url_fixture, postgres_lab_fixture  # noqa: F401  (fixtures)

# The frozen tables of every migration, later versions replacing earlier ones of the same name.
MIGRATED: dict[str, Table] = {
    **m0001_initial.metadata.tables,
    **m0002_alerts.metadata.tables,
    **m0003_leases.metadata.tables,
    **m0004_attendance.metadata.tables,
    **m0005_report_agent.metadata.tables,
}
DIALECTS: dict[str, Dialect] = {"sqlite": sqlite.dialect(), "postgresql": postgresql.dialect()}


def ddl(table: Table, dialect: Dialect) -> list[str]:
    """CREATE TABLE and CREATE INDEX as the dialect would run them, normalised for comparison."""
    statements = [str(CreateTable(table).compile(dialect=dialect))]
    statements += sorted(str(CreateIndex(index).compile(dialect=dialect)) for index in table.indexes)
    return [" ".join(statement.split()) for statement in statements]


def test_every_migrated_table_has_a_model() -> None:
    """No table the migrations create lacks a model, and no model lacks a migration."""
    assert set(MIGRATED) == set(metadata.tables)


def test_every_text_column_is_made_safe() -> None:
    """A text or JSON column without a safe_text type would let one NUL stop its writes on PostgreSQL (issue 13)."""
    unsafe = []
    for table in metadata.tables.values():
        for column in table.columns:
            base = column.type.impl_instance if isinstance(column.type, TypeDecorator) else column.type
            if isinstance(base, String | JSON) and not isinstance(column.type, SafeString | SafeText | SafeJSON):
                unsafe.append(f"{table.name}.{column.name}")
    assert unsafe == []
    assert isinstance(metadata.tables["history_raw"].c.detail.type, SafeString)  # the check sees the columns


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
@pytest.mark.parametrize("name", sorted(MIGRATED))
def test_model_ddl_equals_migration_ddl(name: str, dialect: str) -> None:
    """Column types, nullability, keys, defaults and indexes agree, as each database would create them."""
    assert ddl(metadata.tables[name], DIALECTS[dialect]) == ddl(MIGRATED[name], DIALECTS[dialect])


def _reflected(conn: Connection) -> dict[str, Any]:
    inspector = inspect(conn)
    return {
        name: {
            "columns": [(c["name"], c["nullable"], c["type"].__class__.__name__) for c in inspector.get_columns(name)],
            "primary_key": inspector.get_pk_constraint(name)["constrained_columns"],
        }
        for name in MIGRATED
    }


async def test_models_match_a_migrated_database(database_url: str) -> None:
    """A database migrated from nothing, on SQLite and PostgreSQL, has the models' columns and keys."""
    storage = await Storage.open(database_url)
    try:
        async with storage.engine.connect() as conn:
            reflected = await conn.run_sync(_reflected)
    finally:
        await storage.close()
    for name, table in metadata.tables.items():
        columns = reflected[name]["columns"]
        assert [c[0] for c in columns] == [c.name for c in table.columns], name
        assert [c[1] for c in columns] == [c.nullable for c in table.columns], name
        assert reflected[name]["primary_key"] == [c.name for c in table.primary_key.columns], name
