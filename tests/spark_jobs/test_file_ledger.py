"""Bronze's ledger copy: which raw files bronze holds, kept beside it and checked against it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from delta.tables import DeltaTable
from pyspark.sql import functions as F

from spark_jobs import delta_io, file_ledger
from spark_jobs.config import load_config
from spark_jobs.jobs import bronze as bronze_job
from spark_jobs.main import run_layers
from tests.rawfiles import client, write_raw

TABLE = "clients"


@pytest.fixture
def cfg(lake_root, monkeypatch):
    monkeypatch.setenv("LAKEHOUSE_PII_SALT", "test-salt")
    return load_config("local")


@pytest.fixture
def scans(monkeypatch):
    """The bronze tables scanned for their source files, in order."""
    calls = []
    real = file_ledger.scan

    def counted(spark, path, version):
        calls.append(path)
        return real(spark, path, version)

    monkeypatch.setattr(file_ledger, "scan", counted)
    return calls


def bronze(spark, cfg):
    return run_layers(spark, cfg, ["bronze"], [TABLE], set(), "run-ledger")


def cdc(cfg, n: int) -> None:
    write_raw(cfg, TABLE, f"20260101-{n:09d}.parquet", [client(n, f"{n}@x", 0, op="I", at=n, sq=n)])


def bronze_files(spark, cfg) -> dict[str, int]:
    rows = delta_io.read(spark, cfg.env.table_path("bronze", TABLE)).groupBy("_source_file").count().collect()
    return {Path(r[0]).name: r[1] for r in rows}


def copy(cfg) -> dict:
    return json.loads(Path(bronze_job.ledger_path(cfg, TABLE)).read_text())["payload"]


def test_each_run_leaves_a_copy_at_bronze_version_and_the_next_run_reads_no_table(spark, cfg, scans):
    write_raw(cfg, TABLE, "LOAD00000001.parquet", [client(1, "a@x", 0)])
    bronze(spark, cfg)
    path = cfg.env.table_path("bronze", TABLE)
    assert copy(cfg)["version"] == delta_io.version(spark, path)
    assert copy(cfg)["files"] == ["LOAD00000001.parquet"]

    cdc(cfg, 2)
    cdc(cfg, 3)
    bronze(spark, cfg)
    bronze(spark, cfg)  # nothing new
    assert scans == []  # a young table's log, then the copy: never a scan
    assert bronze_files(spark, cfg) == {
        "LOAD00000001.parquet": 1,
        "20260101-000000002.parquet": 1,
        "20260101-000000003.parquet": 1,
    }
    assert copy(cfg)["version"] == delta_io.version(spark, path)
    assert copy(cfg)["files"] == sorted(bronze_files(spark, cfg))


def test_a_commit_the_copy_missed_is_read_from_the_log(spark, cfg, scans, monkeypatch):
    write_raw(cfg, TABLE, "LOAD00000001.parquet", [client(1, "a@x", 0)])
    bronze(spark, cfg)
    saved = copy(cfg)
    # A run killed after its commit and before it saved the copy.
    cdc(cfg, 2)
    with monkeypatch.context() as m:
        m.setattr(file_ledger, "save", lambda *a: None)
        bronze(spark, cfg)
    assert copy(cfg) == saved
    cdc(cfg, 3)
    bronze(spark, cfg)
    assert scans == []
    assert set(bronze_files(spark, cfg).values()) == {1}  # file 2 not ingested twice
    assert len(bronze_files(spark, cfg)) == 3
    assert copy(cfg)["version"] == saved["version"] + 2


@pytest.mark.parametrize(
    ("spoil", "expect_scan"),
    [
        # Raw text written over the copy.
        pytest.param(lambda doc: "not json {", False, id="garbage"),
        pytest.param(lambda doc: json.dumps({**doc, "sha256": "0" * 64}), False, id="checksum"),
        # Well-formed copies (saved with their checksum) of something else.
        pytest.param(lambda doc: {**doc["payload"], "table_id": "other"}, False, id="table-id"),
        pytest.param(lambda doc: {**doc["payload"], "version": 99}, True, id="newer"),
    ],
)
def test_a_copy_that_cannot_be_trusted_is_not_believed(spark, cfg, scans, spoil, expect_scan):
    write_raw(cfg, TABLE, "LOAD00000001.parquet", [client(1, "a@x", 0)])
    cdc(cfg, 2)
    bronze(spark, cfg)
    ledger = Path(bronze_job.ledger_path(cfg, TABLE))
    doc = json.loads(ledger.read_text())
    # The spoiled copy also claims a file bronze does not hold, so trusting it would lose that file.
    doc["payload"]["files"].append("20260101-000000003.parquet")
    spoiled = spoil(doc)
    if isinstance(spoiled, str):
        ledger.write_text(spoiled)
        (ledger.parent / f".{ledger.name}.crc").unlink()  # the local file system's own check
    else:
        file_ledger.save(spark, str(ledger), spoiled)
    cdc(cfg, 3)
    bronze(spark, cfg)
    # A copy not believed: a young table is read from its whole log, and a table the copy claims
    # is further along than it is, by a scan. Either way file 3 is ingested.
    assert scans == ([cfg.env.table_path("bronze", TABLE)] if expect_scan else [])
    assert bronze_files(spark, cfg) == {
        "LOAD00000001.parquet": 1,
        "20260101-000000002.parquet": 1,
        "20260101-000000003.parquet": 1,
    }
    assert copy(cfg)["files"] == sorted(bronze_files(spark, cfg))  # the copy is right again


@pytest.mark.parametrize("same_batch", [False, True], ids=["whole-data-file", "rows-of-a-data-file"])
def test_rows_removed_from_bronze_make_their_file_new_again(spark, cfg, scans, same_batch):
    write_raw(cfg, TABLE, "LOAD00000001.parquet", [client(1, "a@x", 0)])
    if not same_batch:
        bronze(spark, cfg)  # file 2 then gets a data file of its own, removed whole below
    cdc(cfg, 2)
    bronze(spark, cfg)
    path = cfg.env.table_path("bronze", TABLE)
    if not same_batch:
        # Without the change data feed the delete commit holds nothing but the removed file.
        spark.sql(f"ALTER TABLE delta.`{path}` SET TBLPROPERTIES (delta.enableChangeDataFeed = false)")
    # An operator deletes one file's rows (to ingest it again): the copy still lists the file.
    DeltaTable.forPath(spark, path).delete("_source_file LIKE '%000000002.parquet'")
    bronze(spark, cfg)
    assert scans == [path]  # a commit that removes data: the log cannot be trusted to add up
    assert bronze_files(spark, cfg) == {"LOAD00000001.parquet": 1, "20260101-000000002.parquet": 1}


def test_an_append_that_does_not_name_its_files_makes_the_run_scan_bronze(spark, cfg, scans):
    write_raw(cfg, TABLE, "LOAD00000001.parquet", [client(1, "a@x", 0)])
    bronze(spark, cfg)
    path = cfg.env.table_path("bronze", TABLE)
    # Rows appended by another writer (or an older version of this job), without file names.
    extra = delta_io.read(spark, path).limit(1).withColumn("_source_file", F.lit("manual.parquet"))
    extra.write.format("delta").mode("append").save(path)
    write_raw(cfg, TABLE, "manual.parquet", [client(9, "m@x", 0)])
    bronze(spark, cfg)
    assert scans == [path]
    assert bronze_files(spark, cfg) == {"LOAD00000001.parquet": 1, "manual.parquet": 1}


def test_quarantined_files_are_remembered_without_reading_the_quarantine_again(spark, cfg, monkeypatch):
    write_raw(cfg, TABLE, "LOAD00000001.parquet", [client(1, "a@x", 0)])
    bad = Path(cfg.raw_table_dir(TABLE)) / "20260101-000000002.parquet"
    bad.write_bytes(b"not parquet")
    records = bronze(spark, cfg)
    assert records[0].files_quarantined == 1
    bronze(spark, cfg)  # reads the quarantine (it changed) and records its version
    assert copy(cfg)["quarantined"] == [bad.name]

    qpath = bronze_job.quarantine_files_path(cfg)
    reads = []
    real_read = delta_io.read
    monkeypatch.setattr(delta_io, "read", lambda s, p, v=None: reads.append(p) or real_read(s, p, v))
    records = bronze(spark, cfg)
    assert qpath not in reads
    assert records[0].status == "noop"
    assert bronze_files(spark, cfg) == {"LOAD00000001.parquet": 1}


def test_an_empty_file_is_recorded_once_and_never_read_again(spark, cfg, monkeypatch):
    write_raw(cfg, TABLE, "LOAD00000001.parquet", [client(1, "a@x", 0)])
    bronze(spark, cfg)
    bronze_path = cfg.env.table_path("bronze", TABLE)
    before = delta_io.version(spark, bronze_path)
    write_raw(cfg, TABLE, "20260101-000000002.parquet", [])
    records = bronze(spark, cfg)
    assert (records[0].status, records[0].files_read, records[0].rows_written) == ("noop", 1, None)
    assert "1 empty file(s)" in records[0].message
    assert copy(cfg)["empty"] == ["20260101-000000002.parquet"]
    assert delta_io.version(spark, bronze_path) == before  # no commit for nothing

    # The next runs neither read its footer nor count it; one beside a file with rows is
    # recorded in the same run as that file is ingested.
    footers = []
    real_footer = delta_io.parquet_footer
    monkeypatch.setattr(delta_io, "parquet_footer", lambda s, p: footers.append(p) or real_footer(s, p))
    records = bronze(spark, cfg)
    assert (records[0].status, records[0].files_read, footers) == ("noop", 0, [])
    write_raw(cfg, TABLE, "20260101-000000003.parquet", [])
    cdc(cfg, 4)
    records = bronze(spark, cfg)
    assert (records[0].status, records[0].files_read, records[0].rows_written) == ("ok", 2, 1)
    assert records[0].message.startswith("1 file(s) ingested, 1 empty")
    assert copy(cfg)["empty"] == ["20260101-000000002.parquet", "20260101-000000003.parquet"]
    assert bronze_files(spark, cfg) == {"LOAD00000001.parquet": 1, "20260101-000000004.parquet": 1}

    # A lost copy costs one footer read of each empty file, and no row.
    Path(bronze_job.ledger_path(cfg, TABLE)).unlink()
    footers.clear()
    records = bronze(spark, cfg)
    assert (records[0].status, records[0].files_read, len(footers)) == ("noop", 2, 2)
    assert bronze_files(spark, cfg) == {"LOAD00000001.parquet": 1, "20260101-000000004.parquet": 1}
