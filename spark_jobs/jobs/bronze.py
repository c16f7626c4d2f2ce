"""Bronze: exactly-once, incremental ingest of raw DMS files into an append-only Delta change log.

Exactly-once comes from a ledger committed together with the data: every bronze row carries
its `_source_file`, so the set of ingested files is read from the table itself, and a batch of
files becomes visible in the same Delta commit that records it. A crash before the commit
leaves nothing behind; a crash after it leaves the files recorded. Appends carry a Delta
transaction id, so a concurrent run of the same table either skips or fails, never doubles.
Files that break the raw-zone contract go to `<ops>/quarantine_files` with the reason.

Which files bronze holds is read from a copy kept in `<ops>/bronze_ledger/<table>.json` and
brought up to date from the Delta log (spark_jobs/file_ledger.py), so an incremental run does
not scan the whole change log; the table stays the truth the copy is checked against.
"""

from __future__ import annotations

import contextlib
import logging
import posixpath

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from spark_jobs import delta_io, file_ledger
from spark_jobs.config import Config, Table
from spark_jobs.faults import crash_point
from spark_jobs.parallel import run_tables, table_parallelism
from spark_jobs.run_log import RunRecord, utcnow
from spark_jobs.schemas import QUARANTINED_FILES_SCHEMA, SOURCE_FILE, bronze_schema, raw_schema
from spark_jobs.session import is_small_batch, small_batch
from spark_jobs.transforms.bronze import PROBLEM, contract_problems, flag_bad_rows, to_bronze

log = logging.getLogger(__name__)
APP_ID = "bronze"


def quarantine_files_path(cfg: Config) -> str:
    return f"{cfg.env.paths['ops'].rstrip('/')}/quarantine_files"


def ledger_path(cfg: Config, table: str) -> str:
    return cfg.env.table_path("ops", f"bronze_ledger/{table}.json")


def _ingested(
    spark: SparkSession, cfg: Config, table: Table, bronze_path: str, version: int
) -> tuple[set[str], dict, bool]:
    """File names in bronze at `version`, already quarantined for this table, or seen empty; the
    ledger copy that records them (file_ledger); and whether it differs from the saved one.

    A file with no rows is never in bronze (no commit names it), so the copy lists the empty ones
    seen (`empty`): a lost copy costs one more footer read of each, never a row."""
    saved = file_ledger.load(spark, ledger_path(cfg, table.name))
    names, ledger = file_ledger.source_files(spark, bronze_path, version, saved)
    qpath = quarantine_files_path(cfg)
    quarantine = None
    if delta_io.exists(spark, qpath):
        quarantine = [delta_io.table_id(spark, qpath), delta_io.version(spark, qpath)]
    quarantined: list[str] = []
    if quarantine is not None:
        if saved and saved.get("quarantine") == quarantine:
            quarantined = list(saved.get("quarantined", []))
        else:
            rows = (
                delta_io.read(spark, qpath, quarantine[1])
                .filter(F.col("table_name") == table.name)
                .select(SOURCE_FILE)
                .collect()
            )
            quarantined = sorted({posixpath.basename(r[0]) for r in rows})
    same_table = saved is not None and saved.get("table_id") == ledger["table_id"]
    empty = sorted(saved.get("empty", [])) if same_table else []
    ledger.update(quarantine=quarantine, quarantined=quarantined, empty=empty)
    changed = saved is None or any(saved.get(k) != ledger[k] for k in ("table_id", "version", "quarantine"))
    return names | set(quarantined) | set(empty), ledger, changed


def _save_ledger(
    spark: SparkSession, cfg: Config, table: Table, bronze_path: str, ledger: dict, changed: bool, now: int
) -> None:
    """Bring the ledger copy up to bronze version `now` (after this run's commit) and save it
    when it differs from the saved one."""
    if now != ledger["version"]:
        added = file_ledger.names_added(spark, bronze_path, ledger["version"], now)
        if added is not None:
            ledger.update(version=now, files=sorted(set(ledger["files"]) | added))
            changed = True
    if changed:
        file_ledger.save(spark, ledger_path(cfg, table.name), ledger)


def ingest_table(spark: SparkSession, cfg: Config, table: Table, run_id: str) -> RunRecord:
    """Ingest the raw files of one table that bronze has not seen yet.

    New files of few rows in all (by their footers) are read as a small batch
    (session.small_batch) in `spark`, which should be the table's own session; its conf is
    restored on return.
    """
    with contextlib.ExitStack() as batch_mode:
        return _ingest_table(spark, cfg, table, run_id, batch_mode)


def _ingest_table(
    spark: SparkSession, cfg: Config, table: Table, run_id: str, batch_mode: contextlib.ExitStack
) -> RunRecord:
    record = RunRecord(run_id=run_id, job="bronze", table_name=table.name)
    bronze_path = cfg.env.table_path("bronze", table.name)
    raw_dir = cfg.raw_table_dir(table.name)
    delta_io.ensure_table(spark, bronze_path, bronze_schema(table), delta_io.stats_on(table.primary_key))
    before = delta_io.version(spark, bronze_path)
    record.source_version_from = record.target_version = before

    files = delta_io.list_files(spark, raw_dir, cfg.raw.file_suffix)
    if not files:
        return record.finish("noop", f"no files in {raw_dir}")
    ingested, ledger, changed = _ingested(spark, cfg, table, bronze_path, before)  # once per run
    new_files = [f for f in files if f not in ingested]
    record.files_read = len(new_files)
    if not new_files:
        _save_ledger(spark, cfg, table, bronze_path, ledger, changed, before)
        return record.finish("noop", f"no new files in {raw_dir}")

    # 1. File-level contract: the Parquet footer, read without starting a Spark job.
    bad, footer_rows = _footer_problems(spark, cfg, table, [f"{raw_dir}/{n}" for n in new_files])
    good = [f"{raw_dir}/{n}" for n in new_files if f"{raw_dir}/{n}" not in bad]
    # A file the contract accepts with no rows holds nothing to ingest: recorded, never read.
    empty = [p for p in good if footer_rows.get(p) == 0]
    if empty:
        good = [p for p in good if p not in empty]
        ledger["empty"] = sorted(set(ledger["empty"]) | {posixpath.basename(p) for p in empty})
        changed = True
        if not good and not bad:
            _save_ledger(spark, cfg, table, bronze_path, ledger, changed, before)
            return record.finish("noop", f"{len(empty)} empty file(s) in {raw_dir}, nothing to ingest")
    batch_mode.enter_context(small_batch(spark, is_small_batch(cfg, sum(footer_rows.values()))))

    # 2. Row-level contract: a file with an unusable row is quarantined whole, never half-ingested.
    batch = None
    if good:
        raw = (
            spark.read.schema(raw_schema(table, cfg.raw))
            .parquet(*good)
            .withColumn(SOURCE_FILE, F.col("_metadata.file_path"))
        )
        batch = flag_bad_rows(to_bronze(raw, table, cfg.raw, run_id, utcnow()), table, cfg.raw).cache()
        # One pass: rows per file, and the bad ones.
        per_file = (
            batch.groupBy(SOURCE_FILE)
            .agg(
                F.count("*").alias("rows"),
                F.count(PROBLEM).alias("bad"),
                F.first(PROBLEM, ignorenulls=True).alias("problem"),
            )
            .collect()
        )
        for row in per_file:
            if row["bad"]:
                bad[row[SOURCE_FILE]] = f"{row['bad']} bad row(s), e.g. {row['problem']}"
        rows_by_file = {posixpath.basename(r[SOURCE_FILE]): r["rows"] for r in per_file}

    txn = (before if before is not None else -1) + 1
    if bad:
        _quarantine_files(spark, cfg, table, bad, run_id, txn)
    record.files_quarantined = len(bad)

    written = 0
    if batch is not None:
        bad_names = {posixpath.basename(p) for p in bad}
        keep = (
            batch.filter(~F.element_at(F.split(F.col(SOURCE_FILE), "/"), -1).isin(*bad_names))
            if bad_names
            else batch
        )
        keep = keep.drop(PROBLEM)
        record.rows_read = sum(rows_by_file.values())
        written = sum(n for name, n in rows_by_file.items() if name not in bad_names)
        crash_point(f"bronze:before_commit:{table.name}")
        if written:
            appended = [n for n, rows in rows_by_file.items() if rows and n not in bad_names]
            delta_io.append_once(keep, bronze_path, APP_ID, txn, file_ledger.commit_metadata(appended))
        crash_point(f"bronze:after_commit:{table.name}")
        batch.unpersist()
    record.rows_written = written
    record.rows_quarantined = (record.rows_read or 0) - written
    record.target_version = delta_io.version(spark, bronze_path)
    _save_ledger(spark, cfg, table, bronze_path, ledger, changed, record.target_version)
    message = f"{len(new_files) - len(bad) - len(empty)} file(s) ingested"
    if empty:
        message += f", {len(empty)} empty"
    if bad:
        message += "; quarantined: " + "; ".join(
            f"{posixpath.basename(p)}: {r}" for p, r in sorted(bad.items())
        )
    return record.finish("ok" if not bad else "quarantined", message)


def _footer_problems(
    spark: SparkSession, cfg: Config, table: Table, paths: list[str]
) -> tuple[dict[str, str], dict[str, int]]:
    """The files whose Parquet footer breaks the raw-zone contract, with the reason, and the rows
    each footer declares (of the files that could be read)."""
    bad: dict[str, str] = {}
    rows: dict[str, int] = {}
    for path in paths:
        try:
            columns, count = delta_io.parquet_footer(spark, path)
            problems = contract_problems(columns, table, cfg.raw)
            rows[path] = count
        except ValueError as exc:
            problems = [str(exc)]
        if problems:
            bad[path] = "; ".join(problems)
    return bad, rows


def _quarantine_files(
    spark: SparkSession, cfg: Config, table: Table, bad: dict[str, str], run_id: str, txn: int
) -> None:
    """Record the rejected files and their reasons, once per bronze commit (`txn`) of the table."""
    log.warning("bronze %s: quarantining %d file(s): %s", table.name, len(bad), bad)
    now = utcnow()
    rows = [(table.name, path, reason, run_id, now) for path, reason in sorted(bad.items())]
    ensure_quarantine(spark, cfg)
    frame = delta_io.rows_frame(spark, rows, QUARANTINED_FILES_SCHEMA)
    delta_io.append_once(frame, quarantine_files_path(cfg), f"{APP_ID}:{table.name}", txn)


def ensure_quarantine(spark: SparkSession, cfg: Config) -> None:
    """The quarantine of files, empty until one is quarantined: a table from the first run on, so
    that it can always be queried (sql/athena/ops; the gold crawler catalogues it on AWS)."""
    delta_io.ensure_table(
        spark, quarantine_files_path(cfg), QUARANTINED_FILES_SCHEMA, delta_io.OPS_TABLE_PROPERTIES
    )


def run(spark: SparkSession, cfg: Config, tables: list[str], run_id: str) -> list[RunRecord]:
    """Ingest every table; tables are independent, so they run side by side."""
    ensure_quarantine(spark, cfg)
    return run_tables(
        spark,
        "bronze",
        run_id,
        tables,
        lambda session, name: ingest_table(session, cfg, cfg.table(name), run_id),
        workers=table_parallelism(cfg),
    )
