"""Fixtures for replicator tests: the registry, a fresh source database per test, a raw target."""

from __future__ import annotations

from pathlib import Path

import pytest

from local_aws.replicator import SourceSettings
from spark_jobs.config import Config, load_config
from tests.local_aws.replicator.sourcedb import new_source


@pytest.fixture(scope="session")
def cfg() -> Config:
    return load_config("local")


@pytest.fixture
def source(mysql, cfg) -> SourceSettings:
    """An empty database with every registry table, private to the test."""
    settings = new_source(mysql, cfg)
    yield settings
    conn = settings.connect(autocommit=True)
    with conn, conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{settings.database}`")


@pytest.fixture
def raw(tmp_path) -> Path:
    """The raw layer the replicator writes to (a temp folder)."""
    return tmp_path / "raw"
