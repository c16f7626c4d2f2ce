"""Fixtures for the seeding Lambda: a fresh database per test on the session's MariaDB."""

from __future__ import annotations

import itertools
import os
import subprocess
from dataclasses import dataclass

import pytest

from lambda_seed.core import META_DB
from local_aws.mariadb import MySQLConnectionInfo

_names = itertools.count(1)


@dataclass
class SeedDB:
    info: MySQLConnectionInfo  # points at this test's database
    name: str

    def connect(self, **kwargs):
        return self.info.connect(**kwargs)

    def query(self, sql: str, args=None) -> list[tuple]:
        conn = self.connect(autocommit=True)
        with conn, conn.cursor() as cur:
            cur.execute(sql, args)
            return list(cur.fetchall())


def create_database(mysql: MySQLConnectionInfo, name: str) -> SeedDB:
    conn = mysql.connect(autocommit=True)
    with conn, conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        cur.execute(f"CREATE DATABASE `{name}`")
    info = MySQLConnectionInfo(mysql.host, mysql.port, mysql.user, mysql.password, name)
    return SeedDB(info, name)


def drop_database(mysql: MySQLConnectionInfo, name: str) -> None:
    conn = mysql.connect(autocommit=True)
    with conn, conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        cur.execute(f"SHOW DATABASES LIKE '{META_DB}'")
        if cur.fetchone():
            cur.execute(f"DELETE FROM `{META_DB}`.`state` WHERE database_name = %s", (name,))
            cur.execute(f"DELETE FROM `{META_DB}`.`runs` WHERE database_name = %s", (name,))


@pytest.fixture
def seed_db(mysql):
    """An empty database of its own (never the shared `salesdb`), dropped afterwards."""
    made = []

    def make(suffix: str = "") -> SeedDB:
        name = f"seedtest_{os.getpid()}_{next(_names)}{suffix}"
        made.append(name)
        return create_database(mysql, name)

    yield make
    for name in made:
        drop_database(mysql, name)


def self_signed(folder, name: str = "") -> None:
    """A certificate for 127.0.0.1 that is its own CA: `<name>cert.pem` and `<name>key.pem`."""
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(folder / f"{name}key.pem"),
         "-out", str(folder / f"{name}cert.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
