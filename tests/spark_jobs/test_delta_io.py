"""delta_io.ensure_table after a run killed while creating the table."""

from __future__ import annotations

import logging
import threading
import time

import pytest
from pyspark.sql import functions as F
from pyspark.sql import types as T

from spark_jobs import delta_io

SCHEMA = T.StructType([T.StructField("id", T.IntegerType()), T.StructField("name", T.StringType())])


@pytest.mark.parametrize(
    "leftovers",
    [
        [],
        ["_commits/"],
        [".00000000000000000000.json.1b2c3d.tmp", "..00000000000000000000.json.1b2c3d.tmp.crc"],
        ["_commits/.00000000000000000000.uuid.json.tmp"],
    ],
    ids=["empty log", "empty commits folder", "temporary files", "temporary file in _commits"],
)
def test_a_log_without_any_commit_is_replaced_by_the_table(spark, tmp_path, caplog, leftovers):
    # What a SIGKILL between creating `_delta_log` and writing its first commit leaves behind:
    # Delta's own createIfNotExists then fails with DELTA_TABLE_NOT_FOUND.
    path = tmp_path / "t"
    (path / "_delta_log").mkdir(parents=True)
    for name in leftovers:
        leftover = path / "_delta_log" / name
        leftover.parent.mkdir(exist_ok=True)
        if name.endswith("/"):
            leftover.mkdir()
        else:
            leftover.write_text("{")
    with caplog.at_level(logging.WARNING, logger="spark_jobs.delta_io"):
        delta_io.ensure_table(spark, str(path), SCHEMA, delta_io.NO_STATS)
    assert delta_io.version(spark, str(path)) == 0
    assert delta_io.read(spark, str(path)).schema == SCHEMA
    props = spark.sql(f"DESCRIBE DETAIL delta.`{path}`").first()["properties"]
    assert props["delta.enableChangeDataFeed"] == "true" and props["delta.dataSkippingNumIndexedCols"] == "0"
    assert f"{path}: clearing a Delta log without any commit" in caplog.text
    assert sorted(p.name for p in (path / "_delta_log").glob("0*")) == [
        "00000000000000000000.crc",
        "00000000000000000000.json",
    ]
    assert not [p for p in (path / "_delta_log").rglob(".*") if "1b2c3d" in p.name or "uuid" in p.name]


@pytest.mark.parametrize("name", ["notes.txt", "_commits/notes.txt"])
def test_a_log_holding_any_other_file_is_left_for_delta_to_report(spark, tmp_path, name):
    path = tmp_path / "t"
    (path / "_delta_log" / "_commits").mkdir(parents=True)
    (path / "_delta_log" / name).write_text("not ours")
    with pytest.raises(Exception, match="DELTA_TABLE_NOT_FOUND"):
        delta_io.ensure_table(spark, str(path), SCHEMA)
    assert (path / "_delta_log" / name).read_text() == "not ours"


def test_an_existing_table_is_kept(spark, tmp_path):
    path = str(tmp_path / "t")
    delta_io.ensure_table(spark, path, SCHEMA)
    spark.createDataFrame([(1, "a")], SCHEMA).write.format("delta").mode("append").save(path)
    delta_io.ensure_table(spark, path, SCHEMA)
    assert delta_io.version(spark, path) == 1 and delta_io.read(spark, path).count() == 1


def test_a_commit_written_during_the_clean_up_is_never_removed(spark, tmp_path, monkeypatch):
    # Another run creating the same table commits between the clean-up's listing and its first
    # delete: the folders are deleted only while empty, so that commit stays and is used.
    path = tmp_path / "t"
    (path / "_delta_log" / "_commits").mkdir(parents=True)
    (path / "_delta_log" / ".00000000000000000000.json.1b2c3d.tmp").write_text("{")
    other = tmp_path / "other"
    delta_io.ensure_table(spark, str(other), SCHEMA)
    commit = (other / "_delta_log" / "00000000000000000000.json").read_bytes()
    real = delta_io._jvm_path

    class RacingFs:
        def __init__(self, fs):
            self.fs, self.raced = fs, False

        def __getattr__(self, name):
            return getattr(self.fs, name)

        def delete(self, target, recursive):
            if not self.raced:  # the other run's commit lands now
                self.raced = True
                (path / "_delta_log" / "00000000000000000000.json").write_bytes(commit)
            return self.fs.delete(target, recursive)

    def racing_path(session, target):
        hpath, fs = real(session, target)
        return hpath, RacingFs(fs)

    monkeypatch.setattr(delta_io, "_jvm_path", racing_path)
    delta_io.ensure_table(spark, str(path), SCHEMA)
    monkeypatch.undo()
    assert (path / "_delta_log" / "00000000000000000000.json").read_bytes() == commit
    assert delta_io.version(spark, str(path)) == 0
    assert delta_io.read(spark, str(path)).schema == SCHEMA


def _append_while_another_writer_commits(spark, tmp_path, detach: bool) -> list[str]:
    """Appends to a table the rows of a frame not in it yet; a second writer appends to the same
    table after the first write has started and before it commits. Returns the first write's
    errors."""
    path = str(tmp_path / "q")
    started, go = tmp_path / "started", tmp_path / "go"
    spark.range(5).withColumn("t", F.lit("a")).write.format("delta").save(path)

    def hold(x):  # runs in the write's task: holds the write open until the other one committed
        started.touch()
        deadline = time.monotonic() + 60
        while not go.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        return x

    there = delta_io.read(spark, path).filter("t = 'a'").select("id")
    rows = spark.range(3, 8).withColumn("t", F.lit("a")).join(there, "id", "left_anti")
    if detach:
        rows = delta_io.detached(rows)
    rows = rows.coalesce(1).select(F.udf(hold, "long")("id").alias("id"), "t")
    errors: list[str] = []

    def write():
        try:
            delta_io.append_once(rows, path, "probe", 1)
        except Exception as e:  # noqa: BLE001 - the test reports what the write raised
            errors.append(str(e))

    writer = threading.Thread(target=write)
    writer.start()
    deadline = time.monotonic() + 60
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    spark.range(100, 101).withColumn("t", F.lit("b")).write.format("delta").mode("append").save(path)
    go.touch()
    writer.join()
    ids = sorted(r.id for r in delta_io.read(spark, path).collect())
    assert ids == ([0, 1, 2, 3, 4, 5, 6, 7, 100] if not errors else [0, 1, 2, 3, 4, 100])
    return errors


def test_an_append_of_rows_read_against_its_own_table_conflicts_with_a_concurrent_append(spark, tmp_path):
    # Why `detached` exists: Delta takes the plan reading its own target for a read of the whole
    # table, and the other writer's commit then conflicts with it.
    errors = _append_while_another_writer_commits(spark, tmp_path, detach=False)
    assert len(errors) == 1 and "DELTA_CONCURRENT_APPEND" in errors[0]


def test_a_detached_append_does_not_conflict_with_a_concurrent_append(spark, tmp_path):
    assert _append_while_another_writer_commits(spark, tmp_path, detach=True) == []
