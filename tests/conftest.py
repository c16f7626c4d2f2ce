"""Shared fixtures: one Spark session with Delta and one throwaway MariaDB per test run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from local_aws.mariadb import LocalMariaDB, MySQLConnectionInfo, free_port

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
# Tests never touch the developer's own lake/ folder.
os.environ.pop("LAKEHOUSE_ROOT", None)


@pytest.fixture(scope="session")
def spark():
    """One SparkSession with Delta for the whole run (about 5 s to start)."""
    from spark_jobs.session import build_spark

    session = build_spark(app_name="lakehouse-tests", shuffle_partitions=2, driver_memory="3g")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def mariadb_server(tmp_path_factory) -> LocalMariaDB:
    """A real MariaDB with binlog CDC settings on a free port, stopped at the end of the run."""
    server = LocalMariaDB(tmp_path_factory.mktemp("mariadb"), port=free_port())
    server.up()
    yield server
    server.down()


@pytest.fixture(scope="session")
def mysql(mariadb_server) -> MySQLConnectionInfo:
    return mariadb_server.info()


@pytest.fixture
def lake_root(tmp_path, monkeypatch) -> Path:
    """An empty lake root for one test; LAKEHOUSE_ROOT points at it."""
    root = tmp_path / "lake"
    root.mkdir()
    monkeypatch.setenv("LAKEHOUSE_ROOT", str(root))
    return root
