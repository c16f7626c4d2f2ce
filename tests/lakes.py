"""Test helper: a lake built from a seeded source database of its own, for a test module."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

import lambda_seed
from lambda_seed.core import META_DB
from local_aws.replicator import SourceSettings
from spark_jobs.config import Config, load_config
from spark_jobs.main import run_layers
from tests.local_aws.replicator.sourcedb import replicate


@contextlib.contextmanager
def seeded_lake(
    spark,
    mysql,
    root: Path,
    database: str,
    *,
    salt: str,
    scale: float,
    seed: int,
    layers: list[str],
    run_id: str,
) -> Iterator[tuple[Config, SourceSettings]]:
    """Database `database` created afresh and seeded (init at `scale`, `seed`), replicated into
    the lake at `root`, then `layers` run once; yields (config, source). LAKEHOUSE_ROOT and
    LAKEHOUSE_PII_SALT point at this lake while the block runs. On exit the database and its
    seeding bookkeeping are dropped."""
    admin = mysql.connect(database="", autocommit=True)
    with admin, admin.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{database}`")
        cur.execute(f"CREATE DATABASE `{database}`")
    source = SourceSettings.of(mysql, database)
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("LAKEHOUSE_ROOT", str(root))
            mp.setenv("LAKEHOUSE_PII_SALT", salt)
            cfg = load_config("local")
            conn = mysql.connect(database=database)
            with conn:
                lambda_seed.init(conn, scale, seed)
            replicate(cfg, source, cfg.env.paths["raw"])
            run_layers(spark, cfg, layers, list(cfg.tables), set(), run_id)
            yield cfg, source
    finally:
        conn = mysql.connect(database="", autocommit=True)
        with conn, conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{database}`")
            cur.execute(f"SHOW DATABASES LIKE '{META_DB}'")
            if cur.fetchone():  # absent when seeding failed before creating it
                cur.execute(f"DELETE FROM `{META_DB}`.`state` WHERE database_name = %s", (database,))
                cur.execute(f"DELETE FROM `{META_DB}`.`runs` WHERE database_name = %s", (database,))
