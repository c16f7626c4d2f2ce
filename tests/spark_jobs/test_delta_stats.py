"""File statistics: each table keeps min/max stats on the columns it is filtered on, no others."""

import json
from pathlib import Path

from pyspark.sql import types as T

from spark_jobs import delta_io

SCHEMA = T.StructType(
    [
        T.StructField("id", T.IntegerType()),
        T.StructField("name", T.StringType()),
        T.StructField("amount", T.DoubleType()),
        T.StructField("_run_id", T.StringType()),
    ]
)
ROWS = [(1, "a", 1.5, "r1"), (2, "b", 2.5, "r1"), (3, "c", 3.5, "r2")]


def _file_stats(path: Path) -> list[dict]:
    stats = []
    for log in sorted((path / "_delta_log").glob("*.json")):
        for line in log.read_text().splitlines():
            action = json.loads(line)
            if "add" in action:
                stats.append(json.loads(action["add"]["stats"]))
    return stats


def test_stats_on_keeps_only_the_named_columns(spark, tmp_path):
    path = tmp_path / "t"
    delta_io.ensure_table(spark, str(path), SCHEMA, delta_io.stats_on(["id", "_run_id", "id"]))
    spark.createDataFrame(ROWS, SCHEMA).coalesce(1).write.format("delta").mode("append").save(str(path))
    (stats,) = _file_stats(path)
    assert stats["numRecords"] == 3
    assert stats["minValues"] == {"id": 1, "_run_id": "r1"}
    assert stats["maxValues"] == {"id": 3, "_run_id": "r2"}
    # Files are still skipped by the key: a filter outside [1, 3] reads no file.
    assert delta_io.read(spark, str(path)).filter("id > 10").inputFiles() == []


def test_no_stats_keeps_only_the_row_count(spark, tmp_path):
    path = tmp_path / "ops"
    delta_io.ensure_table(spark, str(path), SCHEMA, delta_io.NO_STATS)
    spark.createDataFrame(ROWS, SCHEMA).coalesce(1).write.format("delta").mode("append").save(str(path))
    (stats,) = _file_stats(path)
    assert stats["numRecords"] == 3
    assert not stats.get("minValues")


def test_stats_on_nothing_means_no_stats():
    assert delta_io.stats_on([]) == delta_io.NO_STATS
