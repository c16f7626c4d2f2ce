"""The one Delta I/O module: every read and write of a lake table goes through here.

Every write is idempotent and says how:
- `append_once`: an append tagged with a Delta transaction id (appId, version); Delta skips a
  write whose version it has already committed, and rejects a concurrent one.
- `merge_once`: a MERGE under the same kind of transaction id (session confs, Delta >= 2.3).
- `overwrite`: a full replacement, for rebuilds.
Progress markers (which upstream version a table has consumed) live in those transaction ids,
so progress commits atomically with the data it describes.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

log = logging.getLogger(__name__)

# Properties every lake table gets: readable by Athena engine v3 (no deletion vectors) and with
# the change data feed, so that downstream layers read only what changed.
TABLE_PROPERTIES = {
    "delta.enableDeletionVectors": "false",
    "delta.enableChangeDataFeed": "true",
}

# Delta collects min, max and null counts for the first 32 columns of every file it writes by
# default, and that costs a fixed few hundred milliseconds per write of a wide table. The lake
# declares instead which columns each table is filtered on (file skipping needs stats on those
# only), and none for its operational tables.
NO_STATS = {"delta.dataSkippingNumIndexedCols": "0"}
# The ops zone's append-only tables (run log, quarantine): no change feed, no statistics.
OPS_TABLE_PROPERTIES = {"delta.enableChangeDataFeed": "false", **NO_STATS}


def stats_on(columns) -> dict[str, str]:
    """Table properties that keep file statistics for `columns` only (in order, without repeats)."""
    names = list(dict.fromkeys(columns))
    if not names:
        return dict(NO_STATS)
    return {"delta.dataSkippingStatsColumns": ",".join(names)}


def _jvm_path(spark: SparkSession, path: str):
    jvm = spark._jvm
    hpath = jvm.org.apache.hadoop.fs.Path(path)
    return hpath, hpath.getFileSystem(spark._jsc.hadoopConfiguration())


def exists(spark: SparkSession, path: str) -> bool:
    """True when `path` holds a Delta table."""
    return DeltaTable.isDeltaTable(spark, path)


def ensure_table(
    spark: SparkSession, path: str, schema: T.StructType, properties: dict | None = None
) -> None:
    """Create an empty Delta table with an explicit schema when it does not exist yet."""
    if exists(spark, path):
        return
    _clear_uncommitted_log(spark, path)
    builder = DeltaTable.createIfNotExists(spark).location(path).addColumns(schema)
    for key, value in {**TABLE_PROPERTIES, **(properties or {})}.items():
        builder = builder.property(key, value)
    builder.execute()


def _clear_uncommitted_log(spark: SparkSession, path: str) -> None:
    """Clear a `_delta_log` folder that holds no commit: no file at all, or only hidden
    temporary ones (in it or in its `_commits` folder).

    A run killed while creating a table leaves one behind (the folders are made before the first
    commit is written), and Delta then refuses to create the table there (DELTA_TABLE_NOT_FOUND).
    No version was ever committed, so nothing readable is lost. A folder holding any other file
    is left alone, for Delta to report. Nothing is deleted recursively: the hidden files one by
    one, then each folder only while it is empty, so a commit that another run writes meanwhile
    stops the clean-up (and may make that run fail cleanly) but is never removed.
    """
    hpath, fs = _jvm_path(spark, f"{path.rstrip('/')}/_delta_log")
    if not fs.exists(hpath):
        return
    hidden, folders, pending = [], [], [hpath]
    while pending:
        folder = pending.pop()
        folders.append(folder)
        for status in fs.listStatus(folder):
            if status.isDirectory():
                pending.append(status.getPath())
            elif str(status.getPath().getName()).startswith("."):
                hidden.append(status.getPath())
            else:
                return
    log.warning("%s: clearing a Delta log without any commit (a creation that never finished)", path)
    try:
        for file in hidden:
            fs.delete(file, False)
        for folder in reversed(folders):  # deepest first
            fs.delete(folder, False)  # fails on a folder that is not empty
    except Exception as exc:  # py4j wraps the Java exception
        log.warning(
            "%s: the Delta log changed while being cleared (%s)", path, str(exc).splitlines()[0][:200]
        )


def rows_frame(spark: SparkSession, rows: list, schema: T.StructType) -> DataFrame:
    """A few rows from the driver as a DataFrame of one partition, so that writing it makes one
    file (rows made from a Python list are otherwise split over every default partition)."""
    return spark.createDataFrame(rows, schema).coalesce(1)


def read(spark: SparkSession, path: str, version: int | None = None) -> DataFrame:
    reader = spark.read.format("delta")
    if version is not None:
        reader = reader.option("versionAsOf", version)
    return reader.load(path)


def read_changes(spark: SparkSession, path: str, start_version: int, end_version: int) -> DataFrame:
    """Rows changed in versions [start, end] from the change data feed (with _change_type)."""
    return (
        spark.read.format("delta")
        .option("readChangeFeed", "true")
        .option("startingVersion", start_version)
        .option("endingVersion", end_version)
        .load(path)
    )


def _snapshot(spark: SparkSession, path: str):
    """The table's latest snapshot from the Delta log (driver only: no Spark job)."""
    jvm = spark._jvm
    log = jvm.org.apache.spark.sql.delta.DeltaLog.forTable(spark._jsparkSession, path)
    return log.update(False, jvm.scala.Option.empty(), jvm.scala.Option.empty())


def version(spark: SparkSession, path: str) -> int | None:
    """The latest committed version, or None when there is no table."""
    if not exists(spark, path):
        return None
    return int(_snapshot(spark, path).version())


def table_id(spark: SparkSession, path: str) -> str:
    """The table's id (Delta metadata), which a table created again at the same path changes."""
    return str(_snapshot(spark, path).metadata().id())


def size_bytes(spark: SparkSession, path: str) -> int:
    """Bytes of the table's live data files, from the Delta log.

    Read from the version's checksum file when there is one (on the driver, no Spark job);
    otherwise Delta reconstructs the table state to sum its files.
    """
    snapshot = _snapshot(spark, path)
    checksum = snapshot.checksumOpt()
    if checksum.isDefined():
        return int(checksum.get().tableSizeBytes())
    return int(snapshot.sizeInBytes())


def table_properties(spark: SparkSession, path: str) -> dict[str, str]:
    """The table's properties (its metadata's configuration), from the Delta log; {} when
    there is no table."""
    if not exists(spark, path):
        return {}
    return {str(k): str(v) for k, v in _scala_map(_snapshot(spark, path).metadata().configuration()).items()}


def _scala_map(scala_map) -> dict:
    """A Scala Map (through py4j) as a dict of its JVM keys and values."""
    out = {}
    it = scala_map.keys().iterator()
    while it.hasNext():
        key = it.next()
        out[key] = scala_map.get(key).get()
    return out


def set_properties(spark: SparkSession, path: str, properties: dict[str, str]) -> None:
    """Set table properties on an existing table (one metadata-only commit)."""
    listed = ", ".join(f"'{k}' = '{v}'" for k, v in sorted(properties.items()))
    spark.sql(f"ALTER TABLE delta.`{path}` SET TBLPROPERTIES ({listed})")


def txn_versions(spark: SparkSession, path: str) -> dict[str, int]:
    """The Delta transaction ids (appId -> version) committed to a table."""
    if not exists(spark, path):
        return {}
    snapshot = _snapshot(spark, path)
    # The version's checksum file lists them when there are few: read on the driver, no Spark
    # job. Otherwise Delta reconstructs the table state (three jobs).
    checksum = snapshot.checksumOpt()
    if checksum.isDefined() and checksum.get().setTransactions().isDefined():
        listed = checksum.get().setTransactions().get().iterator()
        out = {}
        while listed.hasNext():
            txn = listed.next()
            out[str(txn.appId())] = int(txn.version())
        return out
    return {str(k): int(v) for k, v in _scala_map(snapshot.transactions()).items()}


def commit_info(spark: SparkSession, path: str, version: int) -> dict | None:
    """The `commitInfo` of one commit (operation, operationMetrics, ...), read from its log file on
    the driver (no Spark job); None when the file is gone (log cleanup) or holds none."""
    text = read_text(spark, f"{path.rstrip('/')}/_delta_log/{version:020d}.json")
    for line in (text or "").splitlines():
        if line.strip():
            action = json.loads(line)
            if "commitInfo" in action:
                return action["commitInfo"]
    return None


def progress(spark: SparkSession, path: str, app_prefix: str) -> int:
    """The highest upstream version recorded by writers whose appId starts with `app_prefix`; -1 if none."""
    found = [
        v for k, v in txn_versions(spark, path).items() if k == app_prefix or k.startswith(app_prefix + ":")
    ]
    return max(found, default=-1)


def append_once(
    df: DataFrame, path: str, app_id: str, txn_version: int, user_metadata: str | None = None
) -> None:
    """Append under a transaction id: a retry with the same (app_id, version) is a no-op.

    `user_metadata` is recorded in the commit's `commitInfo.userMetadata`.
    """
    writer = (
        df.write.format("delta")
        .mode("append")
        .option("txnAppId", app_id)
        .option("txnVersion", str(txn_version))
    )
    if user_metadata is not None:
        writer = writer.option("userMetadata", user_metadata)
    writer.save(path)


def detached(df: DataFrame) -> DataFrame:
    """`df` computed now and cached, so that a write of it reads none of the tables it came from.

    Delta marks a write whose plan reads its own target as having read the whole table, and an
    append so marked fails (ConcurrentAppendException) when another writer appended to the
    table first, as the table workers do on the ops tables. An append of rows filtered against
    the table they go to (what is not in it yet) is detached first: the write then reads the
    cache. The caller unpersists it after the write.
    """
    cached = df.cache()
    cached.count()
    return cached


@contextlib.contextmanager
def _txn(spark: SparkSession, app_id: str, txn_version: int) -> Iterator[None]:
    spark.conf.set("spark.databricks.delta.write.txnAppId", app_id)
    spark.conf.set("spark.databricks.delta.write.txnVersion", str(txn_version))
    try:
        yield
    finally:
        spark.conf.unset("spark.databricks.delta.write.txnAppId")
        spark.conf.unset("spark.databricks.delta.write.txnVersion")


def merge_once(
    spark: SparkSession,
    source: DataFrame,
    path: str,
    condition: str,
    app_id: str,
    txn_version: int,
    *,
    matched_delete: str | None = None,
    matched_update: str | None = None,
    update_set: dict[str, str] | None = None,
    not_matched_insert: str | None = None,
    insert_values: dict[str, str] | None = None,
    deterministic_source: bool = False,
) -> None:
    """One MERGE into `path` (target alias t, source alias s) under a transaction id.

    Clause order matters: a matched row is deleted when `matched_delete` holds, else updated when
    `matched_update` holds; an unmatched source row is inserted when `not_matched_insert` holds.
    `deterministic_source`: the source gives the same rows each time it is read (e.g. it reads a
    pinned table version), so Delta need not copy it before its two passes (one job less).
    """
    builder = DeltaTable.forPath(spark, path).alias("t").merge(source.alias("s"), condition)
    if matched_delete is not None:
        builder = builder.whenMatchedDelete(condition=matched_delete)
    if matched_update is not None:
        builder = builder.whenMatchedUpdate(condition=matched_update, set=update_set)
    if not_matched_insert is not None:
        builder = builder.whenNotMatchedInsert(condition=not_matched_insert, values=insert_values)
    materialize = "spark.databricks.delta.merge.materializeSource"
    if deterministic_source:
        spark.conf.set(materialize, "none")
    try:
        with _txn(spark, app_id, txn_version):
            builder.execute()
    finally:
        if deterministic_source:
            spark.conf.unset(materialize)


def overwrite(
    df: DataFrame, path: str, app_id: str, txn_version: int, replace_where: str | None = None
) -> None:
    """Replace the table's content (schema kept) under a transaction id.

    With `replace_where` (a SQL predicate every row of `df` must satisfy) only the rows matching
    it are replaced, in one commit: Delta rewrites just the files holding such rows.
    """
    writer = (
        df.write.format("delta")
        .mode("overwrite")
        .option("txnAppId", app_id)
        .option("txnVersion", str(txn_version))
    )
    if replace_where is not None:
        writer = writer.option("replaceWhere", replace_where)
    writer.save(path)


def list_files(spark: SparkSession, directory: str, suffix: str = "") -> list[str]:
    """Names of the files directly in `directory` (local or s3), sorted; [] when it is missing."""
    hpath, fs = _jvm_path(spark, directory)
    if not fs.exists(hpath):
        return []
    names = []
    for status in fs.listStatus(hpath):
        if status.isFile():
            name = status.getPath().getName()
            if name.endswith(suffix) and not name.startswith((".", "_")):
                names.append(name)
    return sorted(names)


def parquet_footer(spark: SparkSession, path: str) -> tuple[dict[str, tuple[str, str]], int]:
    """From a Parquet footer, without a Spark job: column name -> (physical type, logical
    annotation), and the file's row count.

    Raises ValueError naming the file when the footer cannot be read.
    """
    jvm = spark._jvm
    hpath, _ = _jvm_path(spark, path)
    try:
        input_file = jvm.org.apache.parquet.hadoop.util.HadoopInputFile.fromPath(
            hpath, spark._jsc.hadoopConfiguration()
        )
        reader = jvm.org.apache.parquet.hadoop.ParquetFileReader.open(input_file)
    except Exception as exc:  # py4j wraps the Java exception
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"{path}: not a readable Parquet file ({message[:200]})") from None
    try:
        schema = reader.getFooter().getFileMetaData().getSchema()
        rows = int(reader.getRecordCount())
    finally:
        reader.close()
    columns = {}
    for field in schema.getFields():
        if field.isPrimitive():
            prim = field.asPrimitiveType()
            logical = prim.getLogicalTypeAnnotation()
            columns[str(field.getName())] = (
                str(prim.getPrimitiveTypeName().toString()),
                str(logical.toString()) if logical is not None else "",
            )
        else:
            columns[str(field.getName())] = ("GROUP", "")
    return columns, rows


def read_text(spark: SparkSession, path: str) -> str | None:
    """A small text file's content (local or s3), or None when it does not exist."""
    hpath, fs = _jvm_path(spark, path)
    if not fs.exists(hpath):
        return None
    stream = fs.open(hpath)
    try:
        return str(spark._jvm.org.apache.commons.io.IOUtils.toString(stream, "UTF-8"))
    finally:
        stream.close()


def write_text(spark: SparkSession, path: str, text: str) -> None:
    """Write a small text file (local or s3), replacing it whole."""
    hpath, fs = _jvm_path(spark, path)
    out = fs.create(hpath, True)
    try:
        out.write(bytearray(text.encode()))
    finally:
        out.close()
