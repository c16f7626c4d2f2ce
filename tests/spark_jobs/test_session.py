"""The jars, the Delta protocol and the session builder, end to end."""

from __future__ import annotations

from decimal import Decimal

import pytest
from chispa import assert_df_equality
from delta.tables import DeltaTable
from deltalake import DeltaTable as RustDeltaTable
from pyspark.sql import types as T

from spark_jobs import session as session_mod

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
