"""The jars, the Delta protocol and the session builder, end to end."""

from __future__ import annotations

import datetime as dt
import logging
import time
from decimal import Decimal

import pytest
from chispa import assert_df_equality
from delta.tables import DeltaTable
from deltalake import DeltaTable as RustDeltaTable
from pyspark.sql import types as T

from spark_jobs import session as session_mod
from spark_jobs.config import Environment

SCHEMA = T.StructType(
    [
        T.StructField("id", T.IntegerType(), False),
        T.StructField("name", T.StringType(), True),
        T.StructField("amount", T.DecimalType(10, 2), True),
    ]
)


def test_delta_write_merge_read_with_spark_and_delta_rs(spark, tmp_path):
    path = str(tmp_path / "t")
    spark.createDataFrame(
        [(1, "a", Decimal("1.50")), (2, None, Decimal("2.00")), (3, "c", None)], SCHEMA
    ).write.format("delta").save(path)

    updates = spark.createDataFrame([(2, "b", Decimal("2.25")), (4, "d", Decimal("4.00"))], SCHEMA)
    (
        DeltaTable.forPath(spark, path)
        .alias("t")
        .merge(updates.alias("s"), "t.id = s.id")
        .whenMatchedUpdateAll()
        .whenNotMatchedInsertAll()
        .execute()
    )

    expected = spark.createDataFrame(
        [(1, "a", Decimal("1.50")), (2, "b", Decimal("2.25")), (3, "c", None), (4, "d", Decimal("4.00"))],
        SCHEMA,
    )
    actual = spark.read.format("delta").load(path)
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)

    # An independent reader (delta-rs, no JVM) sees the same table at version 1.
    rust = RustDeltaTable(path)
    assert rust.version() == 1
    rows = sorted(rust.to_pyarrow_table().to_pylist(), key=lambda r: r["id"])
    assert rows == [
        {"id": 1, "name": "a", "amount": Decimal("1.50")},
        {"id": 2, "name": "b", "amount": Decimal("2.25")},
        {"id": 3, "name": "c", "amount": None},
        {"id": 4, "name": "d", "amount": Decimal("4.00")},
    ]


def test_tables_stay_readable_by_athena(spark, tmp_path):
    """No deletion vectors and a reader version Athena engine v3 accepts."""
    path = str(tmp_path / "athena")
    spark.range(3).write.format("delta").save(path)
    props = spark.sql(f"DESCRIBE DETAIL delta.`{path}`").collect()[0]
    assert props["minReaderVersion"] <= 3
    assert props["properties"].get("delta.enableDeletionVectors", "false") == "false"


def test_missing_jars_give_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(session_mod, "JARS_DIR", tmp_path)
    with pytest.raises(FileNotFoundError, match="run `make jars`"):
        session_mod.local_jars()


def test_local_file_system_is_the_nio_one_and_keeps_hadoop_modes(spark, tmp_path):
    """Local `file:` paths use build/localfs (permissions and link status through java.nio), and
    what it writes looks as Hadoop's own local file system would leave it."""
    jvm = spark._jvm
    conf = spark._jsc.hadoopConfiguration()
    fs = jvm.org.apache.hadoop.fs.FileSystem.get(jvm.java.net.URI("file:///"), conf)
    assert fs.getClass().getName() == "lakehouse.hadoop.NioChecksumFileSystem"
    fc = jvm.org.apache.hadoop.fs.FileContext.getFileContext(jvm.java.net.URI("file:///"), conf)
    assert "NioLocalFs" in fc.getDefaultFileSystem().getClass().getName()

    path = str(tmp_path / "t")
    spark.createDataFrame([(1, "a", Decimal("1.00"))], SCHEMA).write.format("delta").save(path)
    spark.createDataFrame([(2, "b", None)], SCHEMA).write.format("delta").mode("append").save(path)
    assert sorted(r.id for r in spark.read.format("delta").load(path).collect()) == [1, 2]
    commits = sorted((tmp_path / "t" / "_delta_log").glob("*.json"))
    assert [c.name for c in commits] == ["00000000000000000000.json", "00000000000000000001.json"]
    # Hadoop's default file mode (0666) under its default umask (022).
    data_file = next((tmp_path / "t").glob("part-*.parquet"))
    assert data_file.stat().st_mode & 0o777 == 0o644

    hpath = jvm.org.apache.hadoop.fs.Path(f"file://{tmp_path}/perm")
    fs.create(hpath).close()
    fs.setPermission(hpath, jvm.org.apache.hadoop.fs.permission.FsPermission.createImmutable(0o640))
    assert (tmp_path / "perm").stat().st_mode & 0o777 == 0o640


def test_sessions_log_py4j_at_warning_and_above(spark):
    # py4j's INFO lines (connections opened and closed, some at interpreter exit) stay out of
    # every process that builds a session, the test run included.
    assert not logging.getLogger("py4j.clientserver").isEnabledFor(logging.INFO)
    assert logging.getLogger("py4j.clientserver").isEnabledFor(logging.WARNING)


class _Cfg:
    def __init__(self, settings):
        self.env = Environment(name="test", root="lake", paths={}, settings=settings)


def test_small_batch_limit_comes_from_the_settings_and_zero_turns_it_off():
    assert session_mod.small_batch_rows(_Cfg({})) == session_mod.SMALL_BATCH_ROWS
    assert session_mod.is_small_batch(_Cfg({}), 10_000)
    assert not session_mod.is_small_batch(_Cfg({}), 10_001)
    assert not session_mod.is_small_batch(_Cfg({}), None)  # unknown size: compiled
    off = _Cfg({"spark": {"small_batch_rows": 0}})
    assert session_mod.small_batch_rows(off) == 0
    assert not session_mod.is_small_batch(off, 0)
    assert not session_mod.is_small_batch(off, 1)
    with pytest.raises(ValueError, match="spark.small_batch_rows must be a whole number, got 'many'"):
        session_mod.small_batch_rows(_Cfg({"spark": {"small_batch_rows": "many"}}))


def test_small_batch_sets_its_confs_in_one_session_and_restores_them(spark):
    key, wholestage = "spark.sql.codegen.factoryMode", "spark.sql.codegen.wholeStage"
    session = spark.newSession()
    session.conf.set(wholestage, "true")  # a value of the session's own, restored as it was
    with session_mod.small_batch(session):
        assert session.conf.get(key) == "NO_CODEGEN"
        assert session.conf.get(wholestage) == "false"
        assert session.conf.get("spark.sql.adaptive.enabled") == "false"  # planned once
        assert session.conf.get("spark.sql.shuffle.partitions") == "1"  # one file per rewrite
        assert spark.conf.get(key) == "FALLBACK"  # another session is untouched
        assert spark.conf.get("spark.sql.adaptive.enabled") == "true"
        # Interpreted evaluation gives the same answer.
        assert session.range(5).selectExpr("sum(id * 2) AS s").first()["s"] == 20
    assert session.conf.get(key) == "FALLBACK"
    assert session.conf.get(wholestage) == "true"
    assert session.conf.get("spark.sql.adaptive.enabled") == "true"
    with session_mod.small_batch(session, on=False):
        assert session.conf.get(key) == "FALLBACK"


def test_classes_pyspark_names_on_every_call_are_imported_by_their_full_names(spark):
    """py4j then finds `functions` (behind every pyspark.sql.functions call) at the first try
    rather than after trying, and missing, the other packages PySpark imports with `*`."""
    view = spark.sparkContext._gateway.java_gateway_server.getGateway().getDefaultJVMView()
    imported = dict(view.getSingleImportsMap())
    for name in session_mod.PY4J_IMPORTS:
        simple = name.rsplit(".", 1)[1]
        assert imported.get(simple) == name
        assert getattr(spark.sparkContext._jvm, simple)._fqn == name


@pytest.fixture
def berlin(monkeypatch):
    """This process in Europe/Berlin until the test ends."""
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_a_session_reads_timestamps_in_python_as_spark_shows_them_whatever_the_local_zone(spark, berlin):
    ten_utc = "SELECT timestamp'2026-01-01 10:00:00' AS t"
    # In Berlin PySpark turns Spark's 10:00 (UTC, the session's zone) into Python's 11:00.
    assert spark.sql(ten_utc).first()["t"] == dt.datetime(2026, 1, 1, 11, 0)
    session = session_mod.build_spark(app_name="lakehouse-tests")
    assert session.sql(ten_utc).first()["t"] == dt.datetime(2026, 1, 1, 10, 0)
    # And back: a naive Python datetime is the same wall-clock time in Spark.
    row = session.createDataFrame([(dt.datetime(2026, 7, 1, 12, 30),)], "t timestamp")
    assert row.selectExpr("CAST(t AS STRING) AS s").first()["s"] == "2026-07-01 12:30:00"
