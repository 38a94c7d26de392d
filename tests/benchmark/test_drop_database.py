"""The bench drops its Postgres databases whoever is still connected (as a CREATEDB role)."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from django.db import connection

from benchmark.data import _pg_exists, choose_server, drop_pg_database

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="Postgres databases of the bench"
)


def connect(server, name: str) -> psycopg.Connection:
    s = server.settings_dict
    return psycopg.connect(
        dbname=name, user=s.get("USER"), password=s.get("PASSWORD"), host=s.get("HOST"),
        port=s.get("PORT"), autocommit=True,
    )  # fmt: skip


@pytest.mark.parametrize("client_left_connected", [False, True])
def test_a_database_is_dropped_with_or_without_a_client_on_it(client_left_connected):
    server = choose_server("postgres")
    name = f"accord_drop_test_{uuid.uuid4().hex[:8]}"
    with connect(server, server.settings_dict["NAME"]) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')  # nobody is on it
    client = connect(server, name) if client_left_connected else None
    try:
        drop_pg_database(server, name)
        assert not _pg_exists(server, name)
    finally:
        if client is not None and not client.closed:
            client.close()
        drop_pg_database(server, name)
