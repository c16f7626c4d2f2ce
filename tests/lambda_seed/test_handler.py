"""The Lambda handler against the real MariaDB, with Secrets Manager on moto (in-process)."""

from __future__ import annotations

import json
import logging
import os
import shutil

import boto3
import pymysql
import pytest
from moto import mock_aws

from lambda_seed import handler as lambda_handler
from lambda_seed.core import META_DB
from lambda_seed.events import EventError, SeedError
from local_aws.mariadb import LocalMariaDB, MariaDBError, MySQLConnectionInfo, free_port
from tests.lambda_seed.conftest import drop_database, self_signed

CA_BUNDLE_NAME = "rds-ca-bundle.pem"  # what make lambda-zip ships and Terraform's DB_TLS_CA names

SCALE = 0.01
DMS_PASSWORD = "dms-Pa55-word-never-logged"


@pytest.fixture
def fresh_handler(monkeypatch):
    """The handler module as a cold Lambda sees it; its cached connection closed afterwards."""
    for name in list(os.environ):
        if name.startswith(("LAKEHOUSE_MYSQL_", "DB_", "DMS_", "AWS_")):
            monkeypatch.delenv(name)
    monkeypatch.setattr(lambda_handler, "_conn", None)
    monkeypatch.setattr(lambda_handler, "_settings", None)
    yield lambda_handler
    if lambda_handler._conn is not None:
        lambda_handler._conn.close()


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield boto3.client("secretsmanager", region_name="eu-west-1")


@pytest.fixture
def db_name(mysql):
    """A database name of this test's own; the database does not exist yet."""
    name = f"seedhandler_{os.getpid()}_{os.urandom(3).hex()}"
    yield name
    drop_database(mysql, name)


def _local_env(monkeypatch, mysql, database: str) -> None:
    monkeypatch.setenv("LAKEHOUSE_MYSQL_HOST", mysql.host)
    monkeypatch.setenv("LAKEHOUSE_MYSQL_PORT", str(mysql.port))
    monkeypatch.setenv("LAKEHOUSE_MYSQL_USER", mysql.user)
    monkeypatch.setenv("LAKEHOUSE_MYSQL_PASSWORD", mysql.password)
    monkeypatch.setenv("LAKEHOUSE_MYSQL_DATABASE", database)


def _query(mysql, sql: str, args=None, database: str = "") -> list[tuple]:
    conn = mysql.connect(database=database, autocommit=True)
    with conn, conn.cursor() as cur:
        cur.execute(sql, args)
        return list(cur.fetchall())


class TLSMariaDB(LocalMariaDB):
    """The local MariaDB configured like the RDS parameter group: TLS required."""

    def _write_cnf(self, port: int) -> None:
        super()._write_cnf(port)
        with open(self.cnf, "a") as cnf:
            cnf.write(f"ssl_cert={self.base / 'cert.pem'}\nssl_key={self.base / 'key.pem'}\n")
            cnf.write("require_secure_transport=ON\n")


@pytest.fixture(scope="module")
def rds_like(tmp_path_factory):
    """A private server that refuses unencrypted connections; its certificate is its own CA."""
    base = tmp_path_factory.mktemp("tlsdb")
    self_signed(base)
    server = TLSMariaDB(base, port=free_port())
    server.up()
    yield server
    server.down()


@pytest.fixture
def rds_procedure(rds_like):
    """mysql.rds_set_configuration as RDS has it, recording its calls in a table of its own."""
    mysql = rds_like.info()
    probe = f"rdsprobe_{os.getpid()}"
    _query(mysql, f"CREATE DATABASE `{probe}`")
    _query(mysql, f"CREATE TABLE `{probe}`.calls (name VARCHAR(64), value INT)")
    _query(
        mysql,
        "CREATE PROCEDURE mysql.rds_set_configuration(IN name VARCHAR(64), IN value INT) "
        f"BEGIN INSERT INTO `{probe}`.calls VALUES (name, value); END",
    )
    yield lambda: _query(mysql, f"SELECT name, value FROM `{probe}`.calls")
    _query(mysql, "DROP PROCEDURE IF EXISTS mysql.rds_set_configuration")
    _query(mysql, f"DROP DATABASE `{probe}`")


def _tls(mysql) -> MySQLConnectionInfo:
    """Connection info whose connect() uses TLS (the server refuses anything else)."""

    class Info(MySQLConnectionInfo):
        def connect(self, database=None, autocommit=False, **kwargs):
            return super().connect(database, autocommit, ssl={"verify_mode": "none"}, **kwargs)

    return Info(mysql.host, mysql.port, mysql.user, mysql.password, mysql.database)


def _as_on_aws(monkeypatch, aws, mysql, db_name: str, dms_user: str | None = None) -> None:
    """The variables Terraform sets (terraform/modules/lambda), with the secrets on moto;
    DB_TLS_CA as Terraform sets it, relative, and the package root holding the CA bundle."""
    master = aws.create_secret(
        Name=f"lakehouse-test/rds-master-{os.urandom(3).hex()}",
        SecretString=json.dumps({"username": mysql.user, "password": mysql.password}),
    )
    monkeypatch.setenv("DB_SECRET_ID", master["ARN"])
    monkeypatch.setenv("DB_HOST", mysql.host)
    monkeypatch.setenv("DB_PORT", str(mysql.port))
    monkeypatch.setenv("DB_NAME", db_name)
    if dms_user is not None:
        dms = aws.create_secret(
            Name="lakehouse-test/dms-source",
            SecretString=json.dumps(
                {"engine": "mysql", "host": "x", "port": 3306, "username": dms_user, "password": DMS_PASSWORD}
            ),
        )
        monkeypatch.setenv("DMS_SECRET_ID", dms["ARN"])
    monkeypatch.setenv("DB_TLS_CA", CA_BUNDLE_NAME)


def _task_root(monkeypatch, tmp_path, ca_file) -> None:
    """An unpacked Lambda package (LAMBDA_TASK_ROOT) holding `ca_file` as its CA bundle."""
    shutil.copyfile(ca_file, tmp_path / CA_BUNDLE_NAME)
    monkeypatch.setenv("LAMBDA_TASK_ROOT", str(tmp_path))


def test_init_activity_reset_with_secrets_manager(
    fresh_handler, aws, rds_like, monkeypatch, rds_procedure, caplog, tmp_path
):
    mysql = _tls(rds_like.info())
    db_name = "salesdb"
    with pytest.raises(MariaDBError):  # like RDS: no connection without TLS
        rds_like.info().connect(ssl_disabled=True)
    dms_user = f"dms_{os.getpid()}"
    # As on AWS; plain LAKEHOUSE_MYSQL_* are unset. The server's certificate is verified.
    _as_on_aws(monkeypatch, aws, mysql, db_name, dms_user)
    _task_root(monkeypatch, tmp_path, rds_like.base / "cert.pem")
    caplog.set_level(logging.DEBUG, logger="lambda_seed")
    try:
        loaded = fresh_handler.handler({"mode": "init", "scale": SCALE, "seed": 5}, None)
        assert (loaded["mode"], loaded["status"], loaded["database"]) == ("init", "applied", db_name)
        for table, stats in loaded["tables"].items():
            assert _query(mysql, f"SELECT COUNT(*) FROM `{db_name}`.`{table}`") == [(stats["rows"],)]
        assert loaded["tables"]["sales"]["rows"] == 1_000
        json.dumps(loaded)  # what Lambda returns must serialise

        # DMS's user: created with the secret's password and exactly the grants DMS needs.
        assert loaded["setup"] == {
            "replication_user": {"username": dms_user, "status": "created"},
            "binlog_retention_hours": 24,
        }
        assert rds_procedure() == [("binlog retention hours", 24)]
        with fresh_handler._conn.cursor() as cur:
            cur.execute("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
            assert cur.fetchone()[1], "the handler's connection is not encrypted"
        as_dms = pymysql.connect(
            host=mysql.host,
            port=mysql.port,
            user=dms_user,
            password=DMS_PASSWORD,
            ssl={"verify_mode": "none"},
        )
        with as_dms, as_dms.cursor() as cur:
            cur.execute(f"SELECT COUNT(*) FROM `{db_name}`.sales")
            assert cur.fetchone() == (1_000,)
            cur.execute("SHOW MASTER STATUS")  # REPLICATION CLIENT
            assert cur.fetchone()[0].startswith("mysql-bin")
            with pytest.raises(pymysql.err.OperationalError, match="denied"):
                cur.execute(f"SELECT * FROM `{META_DB}`.state")
            with pytest.raises(pymysql.err.OperationalError, match="denied"):
                cur.execute(f"DELETE FROM `{db_name}`.sales")
        grants = " ".join(g[0] for g in _query(mysql, f"SHOW GRANTS FOR '{dms_user}'@'%'"))
        # MariaDB spells REPLICATION CLIENT as BINLOG MONITOR; MySQL keeps the old name.
        assert "REPLICATION SLAVE" in grants
        assert "REPLICATION CLIENT" in grants or "BINLOG MONITOR" in grants

        # A second init is refused and changes nothing; the user is only brought up to date.
        with pytest.raises(SeedError, match="already initialised"):
            fresh_handler.handler({"mode": "init", "scale": SCALE, "seed": 5}, None)
        assert _query(mysql, f"SELECT COUNT(*) FROM `{db_name}`.sales") == [(1_000,)]

        changed = fresh_handler.handler({"mode": "activity", "period": 1}, None)
        assert (changed["status"], changed["period"], changed["seed"]) == ("applied", 1, 5)
        assert changed["changes"]["sales"]["insert"] > 0 and changed["changes"]["sales"]["delete"] > 0
        assert (
            changed["tables"]["sales"]["rows"]
            == _query(mysql, f"SELECT COUNT(*) FROM `{db_name}`.sales")[0][0]
        )

        emptied = fresh_handler.handler({"mode": "reset"}, None)
        assert all(s == {"rows": 0, "checksum": 0} for s in emptied["tables"].values())
        assert _query(mysql, f"SELECT COUNT(*) FROM `{db_name}`.sales_items") == [(0,)]
    finally:
        _query(mysql, f"DROP USER IF EXISTS '{dms_user}'@'%'")
    # Secrets never reach the log.
    assert caplog.records and "init applied" in caplog.text
    assert mysql.password not in caplog.text and DMS_PASSWORD not in caplog.text


def test_a_server_the_ca_bundle_does_not_vouch_for_is_refused(
    fresh_handler, aws, rds_like, monkeypatch, tmp_path
):
    self_signed(tmp_path, "other-")  # another authority than the server's
    _as_on_aws(monkeypatch, aws, _tls(rds_like.info()), "salesdb_unverified")
    _task_root(monkeypatch, tmp_path, tmp_path / "other-cert.pem")
    with pytest.raises(SeedError, match=r"cannot connect to MySQL as .*CERTIFICATE_VERIFY_FAILED"):
        fresh_handler.handler({"mode": "init", "scale": 0.005, "seed": 1}, None)
    assert fresh_handler._conn is None
    assert _query(_tls(rds_like.info()), "SHOW DATABASES LIKE 'salesdb_unverified'") == []


def test_a_package_without_its_ca_bundle_fails_naming_the_file_and_the_fix(
    fresh_handler, aws, rds_like, monkeypatch, tmp_path
):
    _as_on_aws(monkeypatch, aws, _tls(rds_like.info()), "salesdb_nobundle")
    monkeypatch.setenv("LAMBDA_TASK_ROOT", str(tmp_path))  # a package built without RDS_CA_BUNDLE
    with pytest.raises(SeedError) as caught:
        fresh_handler.handler({"mode": "init", "scale": 0.005, "seed": 1}, None)
    assert f"{tmp_path / CA_BUNDLE_NAME}" in str(caught.value) and "RDS_CA_BUNDLE" in str(caught.value)


def test_tls_ca_path_reads_relative_paths_from_the_package(monkeypatch, tmp_path):
    monkeypatch.setenv("LAMBDA_TASK_ROOT", str(tmp_path))
    assert lambda_handler.tls_ca_path(CA_BUNDLE_NAME) == str(tmp_path / CA_BUNDLE_NAME)
    assert lambda_handler.tls_ca_path("/etc/ssl/rds.pem") == "/etc/ssl/rds.pem"
    assert lambda_handler.tls_ca_path("") == ""  # TLS without certificate checks
    monkeypatch.delenv("LAMBDA_TASK_ROOT")  # elsewhere: beside the lambda_seed folder
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(lambda_handler.__file__)))
    assert lambda_handler.tls_ca_path(CA_BUNDLE_NAME) == os.path.join(package_root, CA_BUNDLE_NAME)


def test_plain_environment_variables_without_secrets_manager(fresh_handler, mysql, db_name, monkeypatch):
    _local_env(monkeypatch, mysql, db_name)
    result = fresh_handler.handler({"mode": "init", "scale": 0.005, "seed": 1}, None)
    # No RDS procedure and no DMS secret: nothing to set up besides the data.
    assert result["setup"] == {"replication_user": None, "binlog_retention_hours": None}
    assert result["tables"]["sales"]["rows"] == _query(mysql, f"SELECT COUNT(*) FROM `{db_name}`.sales")[0][0]


BAD_EVENTS = [
    ([], "<event>"),
    ({}, "mode"),
    ({"mode": "load"}, "mode"),
    ({"mode": "init", "scale": "1"}, "scale"),
    ({"mode": "init", "scale": 0}, "scale"),
    ({"mode": "init", "scale": 1000}, "scale"),
    ({"mode": "init", "scale": True}, "scale"),
    ({"mode": "init", "seed": 1.5}, "seed"),
    ({"mode": "init", "seed": -1}, "seed"),
    ({"mode": "init", "scael": 1}, "scael"),
    ({"mode": "init", "period": 1}, "period"),
    ({"mode": "activity", "period": 0}, "period"),
    ({"mode": "activity", "period": "2026-01-01T00:00:00"}, "period"),
    ({"mode": "activity", "period": 1, "seed": "x"}, "seed"),
    ({"mode": "reset", "scale": 1}, "scale"),
]


@pytest.mark.parametrize(
    ("event", "field"), BAD_EVENTS, ids=[f"{i}-{f}" for i, (_, f) in enumerate(BAD_EVENTS)]
)
def test_invalid_event_names_the_field_and_writes_nothing(
    fresh_handler, mysql, db_name, monkeypatch, event, field
):
    _local_env(monkeypatch, mysql, db_name)
    runs_before = _runs(mysql)
    with pytest.raises(EventError) as caught:
        fresh_handler.handler(event, None)
    assert caught.value.field == field and repr(field) in str(caught.value)
    # Refused before any connection: no database, no bookkeeping, not even a connection.
    assert fresh_handler._conn is None
    assert _query(mysql, "SHOW DATABASES LIKE %s", (db_name,)) == []
    assert _runs(mysql) == runs_before


def _runs(mysql) -> int:
    if not _query(mysql, f"SHOW DATABASES LIKE '{META_DB}'"):
        return 0
    return _query(mysql, f"SELECT COUNT(*) FROM `{META_DB}`.runs")[0][0]


def test_events_the_database_state_refuses_write_nothing(fresh_handler, mysql, db_name, monkeypatch):
    _local_env(monkeypatch, mysql, db_name)
    with pytest.raises(SeedError, match=f"database '{db_name}' does not exist; run init first"):
        fresh_handler.handler({"mode": "activity", "period": 1}, None)
    assert _query(mysql, "SHOW DATABASES LIKE %s", (db_name,)) == []
    loaded = fresh_handler.handler({"mode": "init", "scale": SCALE, "seed": 2}, None)
    runs = _runs(mysql)
    for event, field in (
        ({"mode": "activity", "period": 3}, "period"),
        ({"mode": "activity", "period": 1, "scale": 0.5}, "scale"),
    ):
        with pytest.raises(EventError) as caught:
            fresh_handler.handler(event, None)
        assert caught.value.field == field
    conn = mysql.connect(database=db_name)
    with conn:
        from lambda_seed import manifest

        assert manifest(conn)["tables"] == loaded["tables"]
    assert _runs(mysql) == runs


def test_connection_is_reused_and_revived(fresh_handler, mysql, db_name, monkeypatch):
    _local_env(monkeypatch, mysql, db_name)
    fresh_handler.handler({"mode": "reset"}, None)
    first = fresh_handler._conn
    thread = first.thread_id()
    # A changed environment is not read again while the connection lives (a warm Lambda).
    monkeypatch.setenv("LAKEHOUSE_MYSQL_HOST", "127.0.0.2")
    fresh_handler.handler({"mode": "reset"}, None)
    assert fresh_handler._conn is first and first.thread_id() == thread
    # The server drops the connection (idle timeout, failover): the next invocation reconnects.
    _query(mysql, f"KILL {thread}")
    result = fresh_handler.handler({"mode": "reset"}, None)
    assert result["status"] == "applied" and result["database"] == db_name
    assert fresh_handler._conn.thread_id() != thread


def test_unreadable_secret_is_named_without_its_value(fresh_handler, aws, monkeypatch):
    secret = aws.create_secret(Name="lakehouse-test/bad", SecretString=json.dumps({"username": "admin"}))
    monkeypatch.setenv("DB_SECRET_ID", secret["ARN"])
    monkeypatch.setenv("DB_HOST", "127.0.0.1")
    with pytest.raises(SeedError, match="lakehouse-test/bad.*has no password"):
        fresh_handler.handler({"mode": "reset"}, None)
    monkeypatch.setenv("DB_SECRET_ID", "lakehouse-test/missing")
    with pytest.raises(SeedError, match="cannot read secret 'lakehouse-test/missing'"):
        fresh_handler.handler({"mode": "reset"}, None)
    assert fresh_handler._conn is None
