"""Connecting to the source database and the account setup RDS needs for DMS.

Shared by the Lambda handler and `lakehouse seed`; pymysql and the standard library only.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

import pymysql

from lambda_seed.events import SeedError

# Names interpolated into SQL (database, user) must be plain identifiers: they come from
# environment variables and secrets, never from the event, but a typo must not become SQL.
_IDENTIFIER = re.compile(r"^[A-Za-z0-9_]{1,64}$")
BINLOG_RETENTION_HOURS = 24  # DMS must be able to resume CDC after a day's outage


@dataclass(frozen=True)
class Settings:
    host: str
    port: int
    user: str
    password: str = field(repr=False)  # never in a log line or a traceback's repr
    database: str
    # TLS: off (None), on without certificate checks (""), or verified against a CA bundle (path).
    # RDS requires it (require_secure_transport); it also spares pymysql's RSA exchange for
    # caching_sha2_password, which would need the `cryptography` package in the zip.
    tls_ca: str | None = None

    @property
    def label(self) -> str:
        return f"{self.user}@{self.host}:{self.port}/{self.database}"


def identifier(value: str, what: str) -> str:
    if not isinstance(value, str) or not _IDENTIFIER.match(value):
        raise SeedError(f"{what} must be letters, digits and underscores (1-64 characters), got {value!r}")
    return value


def connect(settings: Settings) -> pymysql.connections.Connection:
    """A connection without a current database (see `use_database`); autocommit off."""
    tls = None
    if settings.tls_ca is not None:
        if settings.tls_ca and not os.path.isfile(settings.tls_ca):
            raise SeedError(
                f"CA bundle {settings.tls_ca!r} (DB_TLS_CA) is not a file: build the package with "
                "`make lambda-zip RDS_CA_BUNDLE=<PEM file>`, or set DB_TLS_CA to the bundle's path"
            )
        tls = {"ca": settings.tls_ca} if settings.tls_ca else {"verify_mode": "none"}
    try:
        return pymysql.connect(
            host=settings.host,
            port=settings.port,
            user=settings.user,
            password=settings.password,
            charset="utf8mb4",
            autocommit=False,
            connect_timeout=10,
            ssl=tls,
        )
    except pymysql.err.OperationalError as exc:
        # exc.args[-1] is the server's or socket's message; it never contains the password.
        raise SeedError(f"cannot connect to MySQL as {settings.label}: {exc.args[-1]}") from None


def use_database(conn, database: str, create: bool) -> None:
    """Make `database` current; `create` makes it first (init and reset), else it must exist."""
    identifier(database, "the database name")
    with conn.cursor() as cur:
        if create:
            cur.execute(f"CREATE DATABASE IF NOT EXISTS `{database}` DEFAULT CHARSET=utf8mb4")
        else:
            cur.execute(
                "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (database,)
            )
            if not cur.fetchone()[0]:
                raise SeedError(f"database {database!r} does not exist; run init first")
    conn.select_db(database)


def ensure_replication_user(conn, username: str, password: str, database: str) -> str:
    """Create or update the DMS user: REPLICATION CLIENT and SLAVE, SELECT on `database`.

    Idempotent: a second run only sets the password again (a new secret version rolls it out).
    Returns "created" or "updated".
    """
    identifier(username, "the replication user name in the DMS secret")
    identifier(database, "the database name")
    with conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM mysql.user WHERE User = %s AND Host = '%%'", (username,))
        existed = bool(cur.fetchone()[0])
        # DMS connects from its replication instance's addresses, hence '%'. The password goes as
        # a bound parameter: it never appears in the statement text the server may log.
        cur.execute(f"CREATE USER IF NOT EXISTS '{username}'@'%%' IDENTIFIED BY %s", (password,))
        cur.execute(f"ALTER USER '{username}'@'%%' IDENTIFIED BY %s", (password,))
        # Replication privileges are global in MySQL; SELECT is limited to the source database.
        cur.execute(f"GRANT REPLICATION CLIENT, REPLICATION SLAVE ON *.* TO '{username}'@'%'")
        cur.execute(f"GRANT SELECT ON `{database}`.* TO '{username}'@'%'")
    conn.commit()
    return "updated" if existed else "created"


def set_binlog_retention(conn, hours: int = BINLOG_RETENTION_HOURS) -> int | None:
    """On RDS, keep binlogs `hours` (RDS's default purges them at once); elsewhere do nothing.

    RDS is recognised by its procedure mysql.rds_set_configuration; returns the hours set, or
    None when the server is not RDS (the local MariaDB keeps binlogs by expire_logs_days).
    """
    with conn.cursor() as cur:
        cur.execute(
            "SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = 'mysql' "
            "AND ROUTINE_NAME = 'rds_set_configuration' AND ROUTINE_TYPE = 'PROCEDURE'"
        )
        if not cur.fetchone()[0]:
            return None
        cur.execute("CALL mysql.rds_set_configuration('binlog retention hours', %s)", (hours,))
    conn.commit()
    return hours
