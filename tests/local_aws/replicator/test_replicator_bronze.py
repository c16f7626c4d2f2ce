"""The replicator's files are what bronze expects: ingested whole, typed, nothing quarantined."""

from __future__ import annotations

import pytest
from pyspark.sql import Window
from pyspark.sql import functions as F

from local_aws.replicator import Faults
from local_aws.replicator.oracle import source_state
from spark_jobs import delta_io
from spark_jobs.config import load_config
from spark_jobs.jobs.bronze import quarantine_files_path
from spark_jobs.main import run_layers
from spark_jobs.schemas import CHANGE_SEQ, COMMIT_TS, OP
from tests.local_aws.replicator.sourcedb import activity, binlog_position, replicate, seed


@pytest.fixture
def lake_cfg(lake_root, monkeypatch):
    monkeypatch.setenv("LAKEHOUSE_PII_SALT", "test-salt")
    return load_config("local")


def test_bronze_ingests_replicated_files_and_their_latest_changes_are_the_source(spark, lake_cfg, source):
    cfg = lake_cfg
    raw = cfg.env.paths["raw"]
    start = binlog_position(source)
    seed(source, cfg, rows_per_table=15)
    activity(source, cfg, transactions=10, seed_value=51)
    replicate(cfg, source, raw, faults=Faults(overlap_from=start, duplicate_every=2))
    activity(source, cfg, transactions=20, seed_value=52)
    replicate(cfg, source, raw, faults=Faults(split_transactions=True, duplicate_every=3))

    tables = ["clients", "products"]  # every column type of the registry; more tables only cost time
    run_layers(spark, cfg, ["bronze"], tables, set(), "replicator-bronze")
    qpath = quarantine_files_path(cfg)
    if delta_io.exists(spark, qpath):
        assert delta_io.read(spark, qpath).count() == 0, delta_io.read(spark, qpath).collect()

    want = source_state(source, cfg)
    for name in tables:
        table = cfg.table(name)
        bronze = delta_io.read(spark, cfg.env.table_path("bronze", name))
        newest = Window.partitionBy(*table.primary_key).orderBy(
            F.col(COMMIT_TS).desc(), F.col(CHANGE_SEQ).desc()
        )
        current = (
            bronze.withColumn("_n", F.row_number().over(newest))
            .filter((F.col("_n") == 1) & (F.col(OP) != "D"))
            .select(*table.column_names)
            .orderBy(*table.primary_key)
        )
        got = [r.asDict() for r in current.collect()]
        assert got == [{k: r[k] for k in table.column_names} for r in want[name]], name
