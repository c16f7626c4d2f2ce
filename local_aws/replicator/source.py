"""The source database: how to reach it, and the checks DMS's premigration assessment would make.

A MySQL/MariaDB source for CDC needs the binlog on, in ROW format with FULL row images, and (for
this replicator, which names columns from the binlog) FULL row metadata; every registry table
must exist with every registry column. Each check fails with a message naming the setting or
table and how to fix it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pyarrow as pa
import pymysql

from local_aws.mariadb import MariaDBError, MySQLConnectionInfo
from local_aws.replicator.types import arrow_from_information_schema
from spark_jobs.config import Table

# What DMS needs from a MySQL source (CHAP_Source.MySQL), plus row metadata for column names.
REQUIRED_SETTINGS = {
    "log_bin": "ON",
    "binlog_format": "ROW",
    "binlog_row_image": "FULL",
    "binlog_row_metadata": "FULL",
}


class SourceError(RuntimeError):
    """The source database is unreachable or not set up for CDC; the message names what to fix."""


@dataclass(frozen=True)
class SourceSettings:
    host: str
    port: int
    user: str
    password: str
    database: str

    @property
    def label(self) -> str:
        return f"{self.host}:{self.port}/{self.database}"

    @classmethod
    def of(cls, info: MySQLConnectionInfo, database: str | None = None) -> SourceSettings:
        """Settings for the server `info` reaches, on `database` (default: `info`'s own)."""
        return cls(
            info.host, info.port, info.user, info.password, info.database if database is None else database
        )

    def connect(self, **kwargs) -> pymysql.Connection:
        info = MySQLConnectionInfo(self.host, self.port, self.user, self.password, self.database)
        try:
            return info.connect(database="", **kwargs)
        except MariaDBError as exc:
            raise SourceError(str(exc)) from None

    def binlog_connection_settings(self) -> dict:
        return {"host": self.host, "port": self.port, "user": self.user, "password": self.password,
                "connect_timeout": 5}  # fmt: skip

    @classmethod
    def resolve(
        cls,
        host: str | None = None,
        *,
        port: int | None = None,
        user: str | None = None,
        database: str | None = None,
        default: MySQLConnectionInfo | None = None,
        default_database: str = "salesdb",
    ) -> SourceSettings:
        """Flags win, then LAKEHOUSE_MYSQL_* variables, then the local MariaDB's credentials.

        The password is never a flag (it would show in process lists): LAKEHOUSE_MYSQL_PASSWORD.
        """
        env = os.environ
        password = env.get("LAKEHOUSE_MYSQL_PASSWORD")
        host = host or env.get("LAKEHOUSE_MYSQL_HOST")
        user = user or env.get("LAKEHOUSE_MYSQL_USER")
        # LAKEHOUSE_MYSQL_PORT without a host only moves the local instance (runtime.local_mysql).
        if not port and host and env.get("LAKEHOUSE_MYSQL_PORT"):
            port = int(env["LAKEHOUSE_MYSQL_PORT"])
        if default is None and (not host or not user or password is None):
            from local_aws.runtime import mysql_info

            try:
                default = mysql_info()
            except MariaDBError as exc:
                raise SourceError(
                    f"{exc}; or point at a server with --host/--port/--user and LAKEHOUSE_MYSQL_PASSWORD"
                ) from None
        return cls(
            host=host or default.host,
            port=int(port or (default.port if default else 3306)),
            user=user or default.user,
            password=password if password is not None else default.password,
            database=database or env.get("LAKEHOUSE_MYSQL_DATABASE") or default_database,
        )


def server_settings(conn: pymysql.Connection) -> dict[str, str]:
    with conn.cursor() as cur:
        names = ", ".join(f"'{n}'" for n in REQUIRED_SETTINGS)
        cur.execute(f"SHOW GLOBAL VARIABLES WHERE Variable_name IN ({names})")
        return {str(k).lower(): str(v) for k, v in cur.fetchall()}


def check_server(conn: pymysql.Connection, label: str) -> None:
    """Fail unless the server writes a binlog CDC can use."""
    actual = server_settings(conn)
    for name, wanted in REQUIRED_SETTINGS.items():
        got = actual.get(name)
        if got is None or got.upper() != wanted:
            raise SourceError(
                f"source {label}: {name} is {got or 'not available'}, CDC needs {name}={wanted} "
                f"(set it in the server configuration or the RDS parameter group)"
            )


def check_database(conn: pymysql.Connection, database: str, label: str) -> None:
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (database,))
        if cur.fetchone() is None:
            raise SourceError(f"source {label}: database {database!r} does not exist")


@dataclass(frozen=True)
class SourceColumn:
    name: str
    arrow: pa.DataType


def source_columns(conn: pymysql.Connection, database: str, table: Table, label: str) -> list[SourceColumn]:
    """The table's columns in the source, in ordinal order; fails when it or a registry column is missing."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, NUMERIC_PRECISION, NUMERIC_SCALE "
            "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s "
            "ORDER BY ORDINAL_POSITION",
            (database, table.name),
        )
        rows = cur.fetchall()
    if not rows:
        raise SourceError(
            f"source {label}: table {database}.{table.name} (declared in conf/tables.yaml) does not exist"
        )
    present = {r[0] for r in rows}
    missing = [c for c in table.column_names if c not in present]
    if missing:
        raise SourceError(
            f"source {label}: table {database}.{table.name} has no column {missing[0]!r} "
            "(declared in conf/tables.yaml)"
        )
    return [
        SourceColumn(str(r[0]), arrow_from_information_schema(str(r[1]), str(r[2]), r[3], r[4])) for r in rows
    ]


def binlog_files(conn: pymysql.Connection) -> list[str]:
    with conn.cursor() as cur:
        cur.execute("SHOW BINARY LOGS")
        return [str(r[0]) for r in cur.fetchall()]


def current_position(conn: pymysql.Connection) -> tuple[str, int]:
    with conn.cursor() as cur:
        cur.execute("SHOW MASTER STATUS")
        row = cur.fetchone()
    if not row:
        raise SourceError("the source has no binlog (SHOW MASTER STATUS is empty): set log_bin")
    return str(row[0]), int(row[1])
